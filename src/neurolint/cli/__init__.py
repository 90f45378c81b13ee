"""The ``neurolint`` command line (one typer app; one module per verb group)."""
