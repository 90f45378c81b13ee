"""The ``detect_imaging`` and ``detect_fmri`` tasks: quick suites run and score every method."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.bench.tasks.detect_imaging import (
    evaluate_movie,
    inject_movie,
    movie_suite,
    run_fmri,
    run_movie,
)


@pytest.fixture(scope="module")
def movie_result():
    return run_movie(quick=True)


@pytest.fixture(scope="module")
def fmri_result():
    return run_fmri(quick=True)


def _row(result, name):
    return next(r for r in result.rows if r.method == name)


def test_movie_quick_has_every_method_without_error(movie_result):
    assert movie_result.task == "detect_imaging" and movie_result.quick
    assert {r.method for r in movie_result.rows} == {"neurolint.MovieDetector", "baseline"}
    assert all(r.error is None for r in movie_result.rows)
    assert all(m["seed"] >= 10_000 for m in movie_result.params["movies"])
    assert "| neurolint.MovieDetector | ours |" in movie_result.to_markdown()


def test_movie_detector_finds_every_injected_artifact(movie_result):
    ours = _row(movie_result, "neurolint.MovieDetector").metrics
    assert ours["R_gap"] == 1.0 and ours["R_spike"] == 1.0
    assert ours["motion_rmse_px"] < 0.5


def test_fmri_quick_has_every_method_without_error(fmri_result):
    assert fmri_result.task == "detect_fmri" and fmri_result.quick
    assert {r.method for r in fmri_result.rows} == {"neurolint.FmriDetector", "baseline"}
    assert all(r.error is None for r in fmri_result.rows)
    assert all(run["seed"] >= 10_000 for run in fmri_result.params["runs"])


def test_fmri_detector_finds_every_simulated_spike(fmri_result):
    ours = _row(fmri_result, "neurolint.FmriDetector").metrics
    assert ours["R_spike"] == 1.0
    assert ours["tsnr_rel_err"] < 0.05


def test_injection_is_seeded_and_leaves_the_movie_alone():
    case = movie_suite(quick=True)[0]
    before = case.clean.to_numpy()
    a, gaps_a, spikes_a = inject_movie(case.clean, seed=3)
    b, gaps_b, spikes_b = inject_movie(case.clean, seed=3)
    assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True)
    assert gaps_a == gaps_b and spikes_a == spikes_b
    assert len(gaps_a) == 8 and len(spikes_a) == 6
    assert np.array_equal(case.clean.to_numpy(), before)


def test_a_perfect_movie_detector_scores_one():
    from neurolint.assess.base import Detection

    case = movie_suite(quick=True)[0]
    clean = Detection("oracle", list(case.motion))
    injected = Detection(
        "oracle", [*case.motion, *case.gaps, *case.spikes], traces={"motion": case.shifts + 0.5}
    )
    scores = evaluate_movie([case], [(clean, injected)])
    assert scores["F1_motion"] == scores["F1_gap"] == scores["F1_spike"] == 1.0
    assert scores["motion_rmse_px"] == pytest.approx(0.0, abs=1e-9)  # offset removed
    assert scores["false_clean"] == 0
