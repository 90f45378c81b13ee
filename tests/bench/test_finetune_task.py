"""The ``finetune`` task runs its pretrained, fine-tuned and in-domain rows."""

from __future__ import annotations

from neurolint.bench import run_task


def test_quick_finetune_table_has_every_row():
    result = run_task("finetune", quick=True)
    names = [r.method for r in result.rows]
    assert names[0] == "pretrained eeg-detector" and names[-1].startswith("in-domain ceiling")
    assert all(r.error is None for r in result.rows), [r.error for r in result.rows]
    assert all(0.0 <= r.metrics["macro_F1"] <= 1.0 for r in result.rows)
    assert [r.metrics["labelled_min"] for r in result.rows] == [0, 1, None]
    # ECG is not reported by the model card, so it has no score (and is not in the macro).
    assert all(r.metrics["ecg"] is None for r in result.rows)
