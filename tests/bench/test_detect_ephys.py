"""Task ``detect_ephys``: the quick suite runs, every row is scored, ours finds the bad channels."""

from __future__ import annotations

import math
import time

import pytest

from neurolint.bench.tasks import detect_ephys


@pytest.fixture(scope="module")
def quick():
    start = time.perf_counter()
    result = detect_ephys.run(quick=True)
    return result, time.perf_counter() - start


def test_quick_run_completes_fast_with_the_expected_table(quick):
    result, elapsed = quick
    assert result.task == "detect_ephys" and result.quick
    assert elapsed < 30  # ~15 s on 2 cores
    assert [r.method for r in result.rows] == [m.name for m in detect_ephys.methods()]
    assert len(result.params["recordings"]) == 2
    assert {r["probe"] for r in result.params["recordings"]} == {"linear32", "tetrode"}
    assert all(r["seed"] >= detect_ephys.SEED_OFFSET for r in result.params["recordings"])
    assert "F1_pop" in result.metric_columns() and "clean_ch" in result.metric_columns()
    assert "detect_ephys" in result.to_markdown()


def test_every_method_row_is_scored_or_skipped(quick):
    result, _ = quick
    for row in result.rows:
        if row.error is not None:
            assert row.kind == "peer" and row.error.startswith("skipped:"), row.error
            continue
        assert row.wall_s is not None and row.wall_s > 0
        assert 0 <= row.metrics["ch_R"] <= 1
        if row.kind == "peer":  # channel-only peers have no event scores
            assert row.metrics["F1_pop"] is None and row.metrics["clean_ev"] is None


def test_neurolint_finds_every_injected_bad_channel_and_nothing_on_clean(quick):
    result, _ = quick
    (ours,) = [r for r in result.rows if r.kind == "ours"]
    assert ours.error is None
    m = ours.metrics
    assert m["ch_R"] == 1.0 and m["flat_R"] == 1.0 and m["noisy_R"] == 1.0
    assert m["ch_P"] == 1.0
    assert m["clean_ch"] == 0.0
    for kind in detect_ephys.EVENT_KINDS:
        assert not math.isnan(m[f"F1_{kind}"])


def test_evaluate_maps_peer_labels_to_kinds_and_counts_clean_findings():
    from neurolint.simulate import simulate_ephys

    sim = simulate_ephys("tetrode", 1.0, artifacts="flat,noisy_channel", seed=1)
    truth = {c.name: c.reasons for c in sim.truth.channels if c.is_bad}
    method = detect_ephys.EphysMethod("fake", lambda ts: ([], {}), "peer", False)
    # A peer that swaps the reasons: right channels overall, wrong kinds.
    swapped = {
        name: (("noisy_channel",) if "flat" in reasons else ("flat",))
        for name, reasons in truth.items()
    }
    m = detect_ephys.evaluate(method, [sim], [(([], swapped), ([], {"ch000": ("flat",)}))])
    assert m["ch_R"] == 1.0 and m["ch_P"] == 1.0
    assert m["flat_R"] == 0.0 and m["noisy_R"] == 0.0
    assert m["clean_ch"] == 1.0 and m["clean_ev"] is None and m["F1_pop"] is None
