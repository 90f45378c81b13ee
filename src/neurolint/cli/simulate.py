"""``neurolint simulate KIND``: write simulated data and its ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import parse_options


def simulate(
    kind: str = typer.Argument(
        ..., help="eeg, semisynthetic, ephys, spikes, calcium, fmri or lfp."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed, the same data."),
    out: Path = typer.Option(
        None,
        "--out",
        help="Data file (its extension picks the format) or an existing folder. "
        "default: ./sim-KIND-seedN.EXT",
    ),
    duration: float = typer.Option(None, "--duration", help="Seconds."),
    n_channels: int = typer.Option(None, "--n-channels", help="Channels (eeg, ephys, lfp)."),
    sampling_rate: float = typer.Option(None, "--sampling-rate", help="Hz."),
    artifacts: str = typer.Option(
        None, "--artifacts", help="Comma-separated artifact kinds, 'all' or 'none' (eeg)."
    ),
    source: list[Path] = typer.Option(
        None, "--source", help="Real EEG recording(s) to start from (semisynthetic)."
    ),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="Any other simulator parameter KEY=VALUE (repeatable)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing files."),
) -> None:
    """Simulate a recording with known ground truth and write data, clean data and truth."""
    from ..core.errors import ParameterError
    from ..simulate import write_simulation
    from ..simulate.registry import get_simulator

    sim = get_simulator(kind)
    accepted = sim.parameters()
    kwargs = parse_options(param)
    given = {
        "duration": duration,
        "n_channels": n_channels,
        "sampling_rate": sampling_rate,
        "artifacts": None if artifacts is None else (() if artifacts == "none" else artifacts),
        "source": None if not source else [str(s) for s in source],
    }
    for name, value in given.items():
        if value is not None:
            kwargs[name] = value
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        options = ", ".join(p for p in accepted if p != "seed")
        raise ParameterError(
            f"The {kind} simulator takes no {', '.join(unknown)}; it takes {options}."
        )
    if out is None:
        out = Path(f"sim-{kind}-seed{seed}{sim.extension}")
    elif out.is_dir():
        out = out / f"sim-{kind}-seed{seed}{sim.extension}"
    typer.echo(f"Simulating {kind} (seed {seed})...", err=True)
    result = sim.load()(seed=seed, **kwargs)
    written = write_simulation(result, out, overwrite=overwrite)
    truth = result.truth
    counts: dict[str, int] = {}
    for event in truth.events:
        counts[event.kind] = counts.get(event.kind, 0) + 1
    if counts:
        typer.echo("Events: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if truth.bad_channels:
        typer.echo("Bad channels: " + ", ".join(truth.bad_channels))
    typer.echo("Wrote:")
    for path in written:
        typer.echo(f"  {path}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
