"""Readers and writers: ``read(path)`` sniffs the format, ``write(obj, path)`` keeps metadata."""

from __future__ import annotations

import os
from typing import Any

from .api import read, write
from .info import describe
from .registry import FORMATS, Format

__all__ = ["FORMATS", "Format", "describe", "info", "read", "write"]


def info(path: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """Read ``path`` lazily and describe it (see :func:`neurolint.io.info.describe`)."""
    return describe(read(path, **options))
