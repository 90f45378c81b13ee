"""The detect_ecg task scores the ECG rule with and without a lead on held-out seeds."""

from neurolint.bench.registry import run_task


def test_quick_run_scores_both_rows_on_held_out_seeds():
    result = run_task("detect_ecg", quick=True)
    rows = {r.method: r for r in result.rows}
    assert set(rows) == {"neurolint.check", "neurolint.check, with an ECG lead"}
    assert all(s >= 10_000 for s in result.params["seeds"])
    for row in rows.values():
        assert row.error is None
        m = row.metrics
        assert m["found"] + m["missed"] == m["episodes"] > 0
        assert 0.0 <= m["F1"] <= 1.0
