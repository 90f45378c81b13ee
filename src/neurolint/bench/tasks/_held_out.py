"""The held-out EEG suite that correction tasks share: simulated recordings, checked."""

from __future__ import annotations

from typing import Any

__all__ = ["SEED_OFFSET", "checked_suite", "score_on_suite"]

from .detect import LAYOUTS, SEED_OFFSET

#: ``(n_channels, sampling_rate, seconds)`` of a quick run (the full suite: ``detect``'s).
QUICK_LAYOUTS = [(32, 256.0, 60.0)]


def checked_suite(quick: bool, seed: int, **simulate: Any) -> list[tuple[Any, Any]]:
    """``(simulation, check() result)`` for each held-out recording (seeds from 10000).

    ``simulate`` goes to :func:`neurolint.simulate.simulate_eeg` (artifact kinds, rates).
    """
    from ...assess import check
    from ...simulate import simulate_eeg

    out = []
    for i, (n, sfreq, seconds) in enumerate(QUICK_LAYOUTS if quick else LAYOUTS):
        sim = simulate_eeg(n, seconds, sfreq, seed=SEED_OFFSET + seed + i, **simulate)
        out.append((sim, check(sim.data, n_jobs=-1)))
    return out


def score_on_suite(cases: list, methods: list, score: Any, *, debug: bool = False) -> list:
    """One timed row per ``(name, kind, method, source)``: ``method(sim, qc)`` on every case,
    then ``score(cases, outputs)``."""
    from ..harness import run_method

    return [
        run_method(
            name,
            lambda method=method: [method(sim, qc) for sim, qc in cases],
            lambda outs: score(cases, outs),
            kind=kind,
            source=source,
            debug=debug,
        )
        for name, kind, method, source in methods
    ]
