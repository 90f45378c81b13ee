"""``neurolint report QC.json``: rebuild the HTML report from saved results."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import command_line, parse_options


def _read_checked(path: str, options: dict, rate: float | None):
    """Read the checked recording; a movie that does not record its frame rate is read
    at the rate its QC was computed at (the check was given it)."""
    from ..core.errors import NeurolintError, ParameterError
    from ..io import read

    try:
        return read(path, **options)
    except ParameterError as first:
        if "frame_rate" in options or not rate:
            raise
        try:
            return read(path, frame_rate=rate, **options)
        except (NeurolintError, TypeError):  # not a rate this reader takes
            raise first from None


def _default_out(qc_path: Path) -> Path:
    stem = qc_path.name.removesuffix(".json").removesuffix("_qc")
    return qc_path.with_name(f"{stem}_report.html")


def report(
    qc_path: Path = typer.Argument(..., help="A <stem>_qc.json from 'neurolint check'."),
    data_path: str = typer.Option(
        None, "--data", help="The checked recording: adds spectra and example segments."
    ),
    corrected_path: str = typer.Option(
        None, "--corrected", help="The output of 'neurolint fix': shows before and after."
    ),
    log_path: Path = typer.Option(
        None, "--log", help="The <out>_correction.json of 'neurolint fix'."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="The .html to write. default: <stem>_report.html beside QC."
    ),
    option: list[str] = typer.Option(
        None, "--option", help="Reader option KEY=VALUE for --data (repeatable), as in 'check'."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report."),
) -> None:
    """Write the HTML report of a recording from its saved QC (and correction) results."""
    from ..core.errors import InputNotFoundError
    from ..core.findings import QCResult
    from ..core.provenance import CorrectionLog
    from ..io import read
    from ..reporting import report as write_report

    if not qc_path.is_file():
        raise InputNotFoundError(f"{qc_path} does not exist; run 'neurolint check' first.")
    qc = QCResult.from_json(qc_path.read_text())
    log = CorrectionLog.from_json(log_path.read_text()) if log_path is not None else None
    options = parse_options(option)
    data = _read_checked(data_path, options, qc.sampling_rate) if data_path else None
    corrected = read(corrected_path) if corrected_path else None
    target = out if out is not None else _default_out(qc_path)
    path = write_report(
        qc,
        target,
        data,
        corrected=corrected,
        log=log,
        source=data_path or qc.source,
        command=command_line(),
        overwrite=overwrite,
    )
    typer.echo(f"Wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
