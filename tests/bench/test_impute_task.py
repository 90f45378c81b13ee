"""Task impute: gaps really hidden, every method fills them, truth-based scores."""

import numpy as np

from neurolint.bench.registry import run_task
from neurolint.bench.tasks.impute import _score, suite


def test_suite_hides_gaps_whose_truth_is_kept():
    cases = suite(quick=True)
    assert {c.name.split()[0] for c in cases} == {"lfp", "eeg"}
    for case in cases:
        assert case.gaps
        for ch, a, z in case.gaps:
            assert np.isnan(case.data[ch, a:z]).all()
            assert np.isfinite(case.truth[ch, a:z]).all()
            assert abs((z - a) / case.sfreq - 0.2) < 1.0 / case.sfreq


def test_perfect_fill_scores_zero_and_zero_fill_scores_badly():
    case = suite(quick=True)[0]
    perfect = _score([case], [case.truth])
    assert perfect["rrmse_t"] == 0.0 and perfect["band_err"] < 1e-9
    zeros = np.nan_to_num(case.data)
    assert _score([case], [zeros])["rrmse_t"] == 1.0


def test_quick_run_scores_every_method():
    result = run_task("impute", quick=True)
    assert len(result.rows) == 8  # four methods on LFP and on EEG
    for row in result.rows:
        assert row.error is None, row.error
        assert np.isfinite(row.metrics["rrmse_t"]) and row.metrics["rrmse_t"] >= 0
        assert "ratio_vs_spline" in row.metrics
