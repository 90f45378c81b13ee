"""``neurolint demo``: the whole loop on an embedded example, with no data of the user's."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("neurolint-demo"), "--out", help="Folder for the demo's files."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulated recording."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace earlier demo files."),
) -> None:
    """Simulate a 64-channel EEG recording, write it as FIF, read it back and describe it."""
    from ..io import read, write
    from ..io.info import describe, format_description
    from ..simulate import simulate_eeg

    out.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Simulating 64-channel EEG (60 s at 256 Hz, seed {seed})...")
    ts, _truth = simulate_eeg(n_channels=64, duration=60.0, sampling_rate=256.0, seed=seed)
    path = write(ts, out / "demo_raw.fif", overwrite=overwrite)
    typer.echo(f"Wrote {path}; reading it back:\n")
    typer.echo(format_description(describe(read(path)), max_channels=8))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
