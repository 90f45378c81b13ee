"""Task check_speed: rows for ours and PyPREP on EEG, EEG from FIF in fresh processes, ephys at
two lengths from a binary."""

from neurolint.bench.registry import run_task


def test_quick_run_times_every_method():
    result = run_task("check_speed", quick=True, seed=0)
    rows = {r.method: r for r in result.rows}
    ours = [r for r in result.rows if r.kind == "ours"]
    assert {"neurolint.check (1 thread)", "neurolint.check (all cores)"} <= set(rows)
    assert rows["neurolint.check (all cores, a tenth)"].metrics["recording_s"] == 6.0
    assert len([r for r in ours if "ephys" in r.method]) == 2
    fresh = [r for r in ours if "fresh process" in r.method]
    assert len(fresh) == 2
    for row in ours:
        assert row.error is None, row.error
        assert row.wall_s > 0
        assert row in fresh or row.metrics["x_realtime"] > 0
    for row in fresh:
        assert 0 < row.metrics["rss_warm_mb"] <= row.metrics["rss_peak_mb"]
    # The whole recording read back from FIF gives the events it gave in memory.
    assert (
        rows["neurolint.check from FIF, fresh process (60 s)"].metrics["events"]
        == (rows["neurolint.check (all cores)"].metrics["events"])
    )
    # Both EEG runs see the same recording and find the same events.
    assert (
        rows["neurolint.check (1 thread)"].metrics["events"]
        == rows["neurolint.check (all cores)"].metrics["events"]
    )
    assert "pyprep.NoisyChannels.find_all_bads" in rows  # a row, even if PyPREP is missing
