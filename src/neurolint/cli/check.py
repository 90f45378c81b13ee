"""``neurolint check PATH``: assess a recording, print a summary, write QC files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ._options import command_line, parse_options, report_option


def _summary(qc) -> str:
    where = f"{qc.duration:.1f} s at {qc.sampling_rate:g} Hz"
    if qc.channels:
        where += f", {len(qc.channels)} channels"
    lines = [f"Score: {qc.score:.0f}/100 ({where})"]
    bad = [c for c in qc.channels if c.is_bad]
    if qc.channels:
        lines.append(f"Bad channels: {len(bad)}" + (":" if bad else ""))
    for c in bad:
        lines.append(f"  {c.name}: {', '.join(c.reasons)}")
    marked = (qc.meta or {}).get("file_bads") or []
    if marked:
        found = {c.name for c in bad}
        notes = [f"{n} ({'found bad too' if n in found else 'not found bad'})" for n in marked]
        lines.append("Marked bad in the file: " + ", ".join(notes))
    counts = Counter(e.kind for e in qc.events)
    total = {k: sum(e.duration for e in qc.events if e.kind == k) for k in counts}
    lines.append(f"Events: {len(qc.events)}" + (":" if counts else ""))
    for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {kind:<15} {n:>5}  ({total[kind]:.1f} s)")
    for name, why in (qc.meta or {}).get("not_run", {}).items():
        lines.append(f"Not run: {name} ({why})")
    return "\n".join(lines)


def check(
    path: str = typer.Argument(..., help="A recording (file or folder); HDF5 as file.h5:/dataset."),
    out: Path = typer.Option(
        None, "--out", help="Folder for <stem>_qc.json, _events.tsv, _channels.tsv. default: ."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the QC JSON instead of text."),
    detectors: str = typer.Option(
        None, "--detectors", help="Comma-separated: rules, learned, anomaly, ephys, imaging, fmri."
    ),
    fmt: str = typer.Option(None, "--format", help="Force a format instead of sniffing it."),
    option: list[str] = typer.Option(
        None, "--option", "-o", help="Reader option KEY=VALUE (repeatable)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace earlier QC files."),
    report_path: Path = report_option(),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", help="Cores to use (-1: all); detectors and chunks run side by side."
    ),
) -> None:
    """Find bad channels and artifact events, with reasons and confidence."""
    import sys

    from ..assess import check as run_check
    from ..core.chunks import job_options
    from ..io import read
    from ..io._atomic import atomic_path, check_writable
    from ..io.bids import bids_stem

    job_options(n_jobs=jobs)  # a bad --jobs fails before anything is read or written
    data = read(path, format=fmt, **parse_options(option))
    folder = Path(".") if out is None else out
    stem = bids_stem(Path(str(path).split(".h5:")[0])).name
    targets = [folder / f"{stem}_{suffix}" for suffix in ("qc.json", "events.tsv", "channels.tsv")]
    folder.mkdir(parents=True, exist_ok=True)
    if report_path is not None:
        targets.append(report_path)
    for target in targets:
        check_writable(target, overwrite)
    show = not no_progress and sys.stderr.isatty()
    qc = run_check(data, detectors=detectors, progress_bar=show, n_jobs=jobs)
    qc.source = str(path)
    with atomic_path(targets[0], overwrite=overwrite) as tmp, open(tmp, "w") as fh:
        qc.write_json(fh)  # a row at a time: a day's quality matrix never becomes lists
        fh.write("\n")
    qc.to_bids(folder, stem, overwrite=overwrite)
    if report_path is not None:
        from ..reporting import report

        report(qc, report_path, data, command=command_line(), overwrite=overwrite)
    if as_json:
        qc.write_json(sys.stdout)
        sys.stdout.write("\n")
        return
    typer.echo(_summary(qc))
    typer.echo("Wrote " + ", ".join(str(t) for t in targets))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
