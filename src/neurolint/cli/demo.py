"""``neurolint demo``: the whole loop on an embedded example, with no data of the user's."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("neurolint-demo"), "--out", help="Folder for the demo's files."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulated recording."),
    duration: float = typer.Option(120.0, "--duration", help="Seconds to simulate."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace earlier demo files."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bars."),
) -> None:
    """Simulate 64-channel EEG with every artifact kind, check it, fix it, write the report."""
    import sys

    from ..demo import format_scores, run_demo

    result = run_demo(
        out,
        seed=seed,
        duration=duration,
        overwrite=overwrite,
        progress_bar=not no_progress and sys.stderr.isatty(),
        say=typer.echo,
    )
    typer.echo(
        f"\nDone in {result.seconds['total']:.1f} s. Score {result.score:.0f}/100. "
        "Found against the simulator's ground truth (match: same kind, overlap >= 50%):"
    )
    typer.echo(format_scores(result))
    typer.echo("\nFiles:")
    for key, path in result.files.items():
        typer.echo(f"  {key:<10} {path}")
    typer.echo(f"\nOpen the report: {result.files['report'].resolve()}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
