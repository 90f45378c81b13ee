"""``neurolint info PATH`` and ``neurolint formats``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ._options import parse_options


def info(
    path: str = typer.Argument(..., help="A recording (file or folder); HDF5 as file.h5:/dataset."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    fmt: str = typer.Option(None, "--format", help="Force a format instead of sniffing it."),
    option: list[str] = typer.Option(
        None,
        "--option",
        "-o",
        help="Reader option KEY=VALUE (repeatable), e.g. sampling_rate=1000.",
    ),
) -> None:
    """Describe a recording: modality, shape, rate, duration, channels, dtype, size on disk."""
    from ..io import read
    from ..io.info import describe, format_description

    desc = describe(read(path, format=fmt, **parse_options(option)))
    typer.echo(json.dumps(desc, indent=2) if as_json else format_description(desc))


def formats() -> None:
    """List the formats neurolint reads and writes."""
    from ..io.registry import FORMATS

    for f in FORMATS:
        rw = ("read" if f.reader else "") + ("/write" if f.writer else "")
        exts = " ".join(f.extensions) or "(folders, by content)"
        typer.echo(f"{f.name:<10} {rw:<11} {exts:<40} {f.description}")


def register(app: typer.Typer) -> None:
    app.command("info")(info)
    app.command("formats")(formats)


__all__ = ["Path", "formats", "info", "register"]
