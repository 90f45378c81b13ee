"""``neurolint fix IN -o OUT``: correct a recording, write it and its correction log."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import command_line, parse_options, report_option


def _log_path(out: Path) -> Path:
    name = out.name
    for suffix in (".nii.gz", *out.suffixes[-1:]):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}_correction.json")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def fix(
    path: str = typer.Argument(..., help="The recording to correct (never modified)."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Corrected file: .fif, .edf, .bdf, .vhdr (+ .vmrk, .eeg), .set (+ .fdt), "
        ".raw (+ .json sidecar), .nwb.",
    ),
    steps: str = typer.Option(
        "gaps,channels,line,movement,artifacts",
        "--steps",
        help="Comma-separated: gaps, channels, line, movement, artifacts.",
    ),
    qc_path: Path = typer.Option(
        None, "--qc", help="A <stem>_qc.json from 'neurolint check'. default: run check."
    ),
    residual_path: Path = typer.Option(
        None, "--residual", help="Also write what was removed (input - output) here."
    ),
    line_method: str = typer.Option("zapline", "--line-method", help="zapline or notch."),
    artifact_kinds: str = typer.Option(
        None,
        "--artifact-kinds",
        help="Finding kinds the learned remover cleans, comma-separated. "
        "default: blink,saccade,muscle,movement (add ecg for heartbeats as large as the EEG).",
    ),
    fmt: str = typer.Option(None, "--format", help="Force the input format instead of sniffing."),
    option: list[str] = typer.Option(
        None, "--option", help="Reader option KEY=VALUE (repeatable), as in 'check'."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    report_path: Path = report_option(),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", help="Cores for the check run first (-1: all), as in 'check'."
    ),
) -> None:
    """Fill gaps, repair bad channels, remove line noise and artifacts; log every change."""
    import sys

    from ..core.chunks import job_options
    from ..core.errors import ParameterError
    from ..core.findings import QCResult
    from ..correct import account, residual
    from ..correct import fix as run_fix
    from ..correct.pipeline import require_timeseries
    from ..io import read, write
    from ..io._atomic import atomic_path, check_writable
    from ..io.api import check_output, input_files, output_files

    job_options(n_jobs=jobs)  # a bad --jobs fails before anything is read or written
    reader_options = parse_options(option)
    source = Path(str(path).split(".h5:")[0])
    targets = [out, _log_path(out)] + ([residual_path] if residual_path else [])
    targets += [report_path] if report_path else []
    # Binary outputs bring a sidecar each: refuse an existing one now, not after the work.
    companions = [f for t in (out, residual_path) if t for f in output_files(t)[1:]]
    inputs = input_files(path) or [source]  # with its .fdt, .eeg, .vmrk, sidecar...
    for target in targets + companions:
        for given in inputs:
            if _same_file(given, target) or Path(target).resolve() == given.resolve():
                raise ParameterError(
                    f"{target} is part of the input ({given.name}); neurolint never "
                    "overwrites its input. Choose another output name."
                )
        check_writable(target, overwrite)
    data = read(path, format=fmt, **reader_options)
    require_timeseries(data)  # before the check: a movie would be assessed for nothing
    for target in (out, residual_path):
        if target is not None:
            check_output(data, target)  # e.g. units EDF cannot hold: say so before the work
    show = not no_progress and sys.stderr.isatty()
    if qc_path is not None:
        qc = QCResult.from_json(Path(qc_path).read_text())
    elif (
        any(step in steps for step in ("channels", "movement", "artifacts"))
        or report_path is not None
    ):
        from ..assess import check

        qc = check(data, progress_bar=show, n_jobs=jobs)
        qc.source = str(path)
    else:
        qc = None
    options: dict = {"line": {"method": line_method}}
    if artifact_kinds:
        options["artifacts"] = {"kinds": [k.strip() for k in artifact_kinds.split(",") if k]}
    corrected, log = run_fix(
        data,
        qc,
        steps=steps,
        options=options,
        progress_bar=show,
        account_now=False,  # writing streams every sample once; count it then
    )
    write(corrected, out, overwrite=overwrite)
    if not account(log, corrected):
        _, log = run_fix(data, qc, steps=steps, options=options, progress_bar=show)
    if residual_path is not None:
        write(residual(data, corrected), residual_path, overwrite=overwrite)
    log.meta["output"] = str(out)
    with atomic_path(targets[1], overwrite=overwrite) as tmp:
        tmp.write_text(log.to_json() + "\n")
    if report_path is not None:
        from ..reporting import report

        report(
            qc,
            report_path,
            data,
            corrected=corrected,
            log=log,
            source=str(path),
            command=command_line(),
            overwrite=overwrite,
        )
    for step in log.steps:
        if step.skipped:
            typer.echo(f"{step.name}: skipped ({step.skipped})")
        else:
            worst = max(step.energy_removed.values(), default=0.0)
            typer.echo(
                f"{step.name}: {step.method}, {len(step.regions)} region(s), "
                f"up to {100 * worst:.1f}% of a channel's energy removed"
            )
    typer.echo("Wrote " + ", ".join(str(t) for t in targets))


def register(app: typer.Typer) -> None:
    app.command("fix")(fix)
