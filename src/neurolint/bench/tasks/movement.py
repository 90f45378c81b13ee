"""Task ``movement``: movement deflections removed where ``check()`` found them.

Suite (held-out seeds ``10_000 + seed + i``): simulated EEG with every artifact kind
(32 channels at 256 Hz, 64 at 256 Hz, 64 at 500 Hz; 5 minutes each), assessed by
``neurolint.check`` (untimed). The simulator's artifact-free EEG is the truth.

Metrics:

- ``artifact_left``: over the true movement events and their logged channels, the energy of
  (output - truth) over that of (input - truth): 1 is untouched, 0 is perfect;
- ``delta_change``: over every channel and the samples no true artifact of any kind touches,
  the relative change of 1-4 Hz power (output against input): what the method costs clean
  EEG;
- ``events``: true movement events.

Methods: neurolint's ``movement`` step (slow-wave subtraction under the movement findings of
``check()``), the same followed by the learned remover on those findings (what ``fix()``
does by default), and the textbook alternative, a 1.5 Hz zero-phase high-pass over the whole
recording (which removes the same slow waves everywhere).
"""

from __future__ import annotations

import numpy as np

from ..harness import BenchResult
from ._held_out import checked_suite, score_on_suite

__all__ = ["run"]


def _suite(quick: bool, seed: int) -> list:
    return checked_suite(quick, seed)


def _ours(sim, qc) -> np.ndarray:
    from ...correct import fix

    out, _ = fix(sim.data, qc, steps="movement")
    return out.get_data()


def _with_remover(sim, qc) -> np.ndarray:
    from ...correct import fix

    options = {"artifacts": {"kinds": ["movement"]}}
    out, _ = fix(sim.data, qc, steps="movement,artifacts", options=options)
    return out.get_data()


def _highpass(sim, qc) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    x = np.nan_to_num(sim.data.get_data().astype(np.float64))
    sos = butter(2, 1.5, "highpass", fs=sim.data.sampling_rate, output="sos")
    return sosfiltfilt(sos, x, axis=1)


def _delta(x: np.ndarray, sfreq: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [1.0, 4.0], "bandpass", fs=sfreq, output="sos")
    return sosfiltfilt(sos, np.nan_to_num(x.astype(np.float64)), axis=1)


def _score(cases, outputs) -> dict:
    left_num = left_den = 0.0
    d_in = d_out = 0.0
    events = 0
    for (sim, _), y in zip(cases, outputs, strict=True):
        x = sim.data.get_data().astype(np.float64)
        clean = sim.truth.clean.get_data().astype(np.float64)
        sfreq = sim.data.sampling_rate
        names = list(sim.data.ch_names)
        for e in sim.truth.events_of("movement"):
            a, z = round(e.onset * sfreq), round(e.offset * sfreq)
            rows = [names.index(c) for c in e.channels] or list(range(len(names)))
            left_num += float(np.sum((y[rows, a:z] - clean[rows, a:z]) ** 2))
            left_den += float(np.sum((x[rows, a:z] - clean[rows, a:z]) ** 2))
            events += 1
        untouched = np.ones(x.shape[1], bool)
        for e in sim.truth.events:
            a, z = round((e.onset - 1.0) * sfreq), round((e.offset + 1.0) * sfreq)
            untouched[max(0, a) : z] = False
        di, do = _delta(x, sfreq)[:, untouched], _delta(y, sfreq)[:, untouched]
        d_in += float(np.sum(di**2))
        d_out += float(np.sum(do**2))
    return {
        "artifact_left": left_num / max(left_den, 1e-30),
        "delta_change": d_out / max(d_in, 1e-30) - 1.0,
        "events": events,
    }


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Correct the suite's movement artifacts with each method and score it."""
    result = BenchResult(
        task="movement",
        quick=quick,
        seed=seed,
        description="movement deflections under check()'s findings vs a global high-pass",
        columns=["artifact_left", "delta_change", "events"],
    )
    cases = _suite(quick, seed)
    methods = [
        ("neurolint movement step (check findings)", "ours", _ours, ""),
        (
            "neurolint movement step + remover (check findings)",
            "ours",
            _with_remover,
            "fix(steps='movement,artifacts'), the remover on movement findings only",
        ),
        ("high-pass 1.5 Hz, whole recording", "baseline", _highpass, "scipy sosfiltfilt"),
    ]
    result.rows += score_on_suite(cases, methods, _score, debug=debug)
    result.notes.append(
        f"{len(cases)} recording(s), every artifact kind; truth = the simulator's clean EEG. "
        "artifact_left: movement energy left in the true events (1 = untouched); "
        "delta_change: 1-4 Hz power change where no artifact lies (0 = untouched)."
    )
    return result
