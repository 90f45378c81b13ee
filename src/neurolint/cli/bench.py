"""``neurolint bench list`` and ``neurolint bench TASK``."""

from __future__ import annotations

from pathlib import Path

import typer


def bench(
    task: str = typer.Argument(..., help="A task name, or 'list' to see them."),
    quick: bool = typer.Option(False, "--quick", help="Small smoke version (under a minute)."),
    out: Path = typer.Option(
        Path("bench-results"), "--out", help="Folder for TASK.json and TASK.md."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the suite."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace earlier results."),
) -> None:
    """Run a benchmark task ('list' shows them): methods x metrics, time and memory."""
    from ..bench.registry import TASKS, get_task

    if task == "list":
        for t in TASKS:
            typer.echo(f"{t.name:<15} {t.summary}")
        return
    spec = get_task(task)
    stem = f"{spec.name}_quick" if quick else spec.name
    if not overwrite:
        from ..io._atomic import check_writable

        if out.is_dir():
            for ext in (".json", ".md"):
                check_writable(out / f"{stem}{ext}", overwrite)
    from .main import _STATE

    typer.echo(f"Running {spec.name}{' (quick)' if quick else ''}...", err=True)
    result = spec.load()(quick=quick, seed=seed, debug=_STATE["debug"])
    paths = result.write(out, overwrite=overwrite)
    typer.echo(result.to_markdown())
    typer.echo("\nWrote " + " and ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
