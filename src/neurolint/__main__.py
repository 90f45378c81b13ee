"""``python -m neurolint``."""

from .cli.main import main

main()
