"""Task movement: truth-based scores that tell a perfect output from an untouched one."""

from neurolint.bench.registry import run_task
from neurolint.bench.tasks.movement import _score, _suite


def test_truth_scores_zero_and_untouched_input_scores_one():
    cases = _suite(quick=True, seed=0)
    clean = [sim.truth.clean.get_data() for sim, _ in cases]
    untouched = [sim.data.get_data() for sim, _ in cases]
    assert _score(cases, clean)["artifact_left"] == 0.0
    same = _score(cases, untouched)
    assert same["artifact_left"] == 1.0 and abs(same["delta_change"]) < 1e-12
    assert same["events"] >= 1


def test_quick_run_scores_both_methods():
    result = run_task("movement", quick=True)
    rows = {r.method: r for r in result.rows}
    assert len(rows) == 3 and all(r.error is None for r in rows.values())
    for name in ("movement step", "movement step + remover"):
        ours = rows[f"neurolint {name} (check findings)"].metrics
        assert ours["artifact_left"] < 1.0 and abs(ours["delta_change"]) < 0.01
