"""Task check_speed: rows for ours and PyPREP on EEG, ephys at two lengths from a binary."""

from neurolint.bench.registry import run_task


def test_quick_run_times_every_method():
    result = run_task("check_speed", quick=True, seed=0)
    rows = {r.method: r for r in result.rows}
    ours = [r for r in result.rows if r.kind == "ours"]
    assert {"neurolint.check (1 thread)", "neurolint.check (all cores)"} <= set(rows)
    assert rows["neurolint.check (all cores, a tenth)"].metrics["recording_s"] == 6.0
    assert len([r for r in ours if "ephys" in r.method]) == 2
    for row in ours:
        assert row.error is None, row.error
        assert row.metrics["x_realtime"] > 0 and row.wall_s > 0
    # Both EEG runs see the same recording and find the same events.
    assert (
        rows["neurolint.check (1 thread)"].metrics["events"]
        == rows["neurolint.check (all cores)"].metrics["events"]
    )
    assert "pyprep.NoisyChannels.find_all_bads" in rows  # a row, even if PyPREP is missing
