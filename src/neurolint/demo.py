"""The whole loop on a simulated recording: simulate, check, fix, report, score.

:func:`run_demo` needs no data and no network: it simulates 64-channel EEG with every
artifact kind and channel fault, assesses and corrects it, writes the files a user would get
from ``neurolint check`` and ``neurolint fix`` plus the HTML report, and scores what was
found against the simulator's ground truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoResult", "run_demo"]

FILES = {
    "raw": "demo_raw.fif",
    "qc": "demo_qc.json",
    "corrected": "demo_corrected.fif",
    "log": "demo_correction.json",
    "report": "demo_report.html",
}


@dataclass
class DemoResult:
    """What the demo wrote and how the findings compare to the ground truth."""

    files: dict[str, Path]
    events: dict[str, dict[str, float]]  # kind -> precision, recall, f1, support, ...
    channels: dict[str, float]  # bad-channel precision, recall, f1, ...
    score: float
    seconds: dict[str, float] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)  # found kinds the truth lacks


def run_demo(
    out: str | Path = "neurolint-demo",
    *,
    seed: int = 0,
    duration: float = 120.0,
    n_channels: int = 64,
    overwrite: bool = False,
    progress_bar: bool = False,
    say: Callable[[str], Any] = print,
) -> DemoResult:
    """Simulate, check, fix and report; score the findings against the truth.

    Parameters
    ----------
    out : path
        Folder for the demo's files (created). default: ``"neurolint-demo"``.
    seed : int
        Seed of the simulated recording. default: 0.
    duration : float
        Seconds simulated. default: 120.
    n_channels : int
        EEG channels (10-05 positions). default: 64.
    overwrite : bool
        Replace files of an earlier demo. default: ``False`` (refuse).
    progress_bar : bool
        Show the progress bars of ``check`` and ``fix``. default: ``False``.
    say : callable
        Where the step-by-step messages go. default: ``print``.

    Returns
    -------
    DemoResult
    """
    from . import check, fix, write
    from .bench.metrics.events import channel_scores, event_scores
    from .io._atomic import atomic_path, check_writable
    from .reporting import report
    from .simulate import simulate_eeg

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {key: folder / name for key, name in FILES.items()}
    for path in files.values():
        check_writable(path, overwrite)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    say(f"[1/4] Simulating {n_channels}-channel EEG, {duration:g} s at 256 Hz (seed {seed})")
    sim = simulate_eeg(n_channels=n_channels, duration=duration, sampling_rate=256.0, seed=seed)
    write(sim.data, files["raw"], overwrite=overwrite)
    seconds["simulate"] = time.perf_counter() - t0

    say("[2/4] Checking it: bad channels and artifact events")
    t = time.perf_counter()
    qc = check(sim.data, progress_bar=progress_bar)
    qc.source = str(files["raw"])
    with atomic_path(files["qc"], overwrite=overwrite) as tmp, open(tmp, "w") as fh:
        qc.write_json(fh)
        fh.write("\n")
    seconds["check"] = time.perf_counter() - t

    say("[3/4] Fixing it: gaps, bad channels, line noise, movement, ocular and muscle artifacts")
    t = time.perf_counter()
    corrected, log = fix(sim.data, qc, progress_bar=progress_bar)
    write(corrected, files["corrected"], overwrite=overwrite)
    with atomic_path(files["log"], overwrite=overwrite) as tmp:
        tmp.write_text(log.to_json() + "\n")
    seconds["fix"] = time.perf_counter() - t

    say("[4/4] Writing the report")
    t = time.perf_counter()
    report(
        qc,
        files["report"],
        sim.data,
        corrected=corrected,
        log=log,
        source=str(files["raw"]),
        command=f"neurolint demo --out {folder} --seed {seed}",
        overwrite=overwrite,
    )
    seconds["report"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0

    kinds = sorted({e.kind for e in sim.truth.events})
    events = event_scores(sim.truth.events, qc.events, kinds=kinds)
    chans = channel_scores(sim.truth.channels, qc.channels, all_channels=sim.data.ch_names)
    other: dict[str, int] = {}
    for e in qc.events:
        if e.kind not in kinds:
            other[e.kind] = other.get(e.kind, 0) + 1
    return DemoResult(files, events, chans, float(qc.score), seconds, other)


def format_scores(result: DemoResult) -> str:
    """The per-kind precision/recall table the demo prints."""

    def pct(value: float) -> str:
        return "  -  " if value != value else f"{100 * value:4.0f}%"

    lines = [f"  {'kind':<14}{'true':>5}{'found':>7}{'precision':>11}{'recall':>8}"]
    for kind, s in result.events.items():
        if kind in ("macro", "micro"):
            continue
        found = int(s["tp"] + s["fp"])
        lines.append(
            f"  {kind:<14}{int(s['support']):>5}{found:>7}"
            f"{pct(s['precision']):>11}{pct(s['recall']):>8}"
        )
    c = result.channels
    lines.append(
        f"  {'bad channels':<14}{int(c['tp'] + c['fn']):>5}{int(c['tp'] + c['fp']):>7}"
        f"{pct(c['precision']):>11}{pct(c['recall']):>8}"
    )
    if result.other:
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(result.other.items()))
        lines.append(f"  also flagged (no such kind simulated): {found}")
    return "\n".join(lines)
