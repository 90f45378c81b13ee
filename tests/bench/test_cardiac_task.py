"""Task cardiac: truth-based scores, the oracle classical baseline, and a quick run."""

from types import SimpleNamespace

import numpy as np

from neurolint.bench.registry import run_task
from neurolint.bench.tasks.cardiac import _aas, _score, _suite, heartbeat_epochs
from neurolint.core.timeseries import TimeSeries


def test_truth_scores_zero_and_untouched_input_scores_one():
    cases = _suite(quick=True, seed=0)
    clean = [sim.truth.clean.get_data() for sim, _ in cases]
    untouched = [sim.data.get_data() for sim, _ in cases]
    assert _score(cases, clean)["artifact_left"] == 0.0
    same = _score(cases, untouched)
    assert same["artifact_left"] == 1.0 and same["changed_elsewhere"] == 0.0
    assert same["n"] >= 1


def test_average_artifact_subtraction_at_the_true_beats_removes_a_bare_heartbeat():
    ((sim, qc),) = _suite(quick=True, seed=0)
    x, clean = sim.data.get_data(), sim.truth.clean.get_data()
    # The heartbeat alone (no EEG to average out): AAS at the true beats takes nearly all.
    bare = SimpleNamespace(
        data=TimeSeries(x - clean, sim.data.sampling_rate, sim.data.channels),
        truth=SimpleNamespace(
            events_of=sim.truth.events_of,
            arrays=sim.truth.arrays,
            clean=TimeSeries(np.zeros_like(x), sim.data.sampling_rate, sim.data.channels),
        ),
    )
    scores = _score([(bare, qc)], [_aas(bare, qc)])
    # Only the 1 Hz high-pass of the template's estimate (it dents the T wave) is left.
    assert scores["artifact_left"] < 0.25 and scores["changed_elsewhere"] == 0.0


def test_heartbeat_epochs_are_unit_rms_beats_of_either_polarity():
    x = heartbeat_epochs(np.random.default_rng(0), 40)
    assert x.shape == (40, 512) and np.isfinite(x).all()
    np.testing.assert_allclose(np.sqrt((x.astype(np.float64) ** 2).mean(axis=1)), 1, atol=1e-3)
    # R waves stand far above the rest, up in some epochs and down in others.
    peak_up, peak_down = x.max(axis=1), -x.min(axis=1)
    assert (np.maximum(peak_up, peak_down) > 3).all()
    assert (peak_up > peak_down).any() and (peak_down > peak_up).any()


def test_quick_run_scores_every_method(shared_data):
    result = run_task("cardiac", quick=True)
    rows = {r.method: r for r in result.rows}
    assert len(rows) == 6 and all(r.error is None for r in rows.values()), [
        (r.method, r.error) for r in rows.values() if r.error
    ]
    epochs = rows["neurolint remover [epochs]"].metrics
    assert epochs["cc"] > rows["no correction [epochs]"].metrics["cc"]
    # In the recordings the step acts only around the episodes (its windows overhang them
    # by up to half a window).
    oracle = rows["neurolint remover, true episodes [recordings]"].metrics
    assert np.isfinite(oracle["artifact_left"]) and oracle["changed_elsewhere"] < 0.01
