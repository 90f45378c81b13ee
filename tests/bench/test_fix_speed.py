"""Task fix_speed: fix() streamed out at two lengths, the CLI's peak memory, the remover's rate."""

from neurolint.bench.registry import run_task


def test_quick_run_times_fix_at_two_lengths_and_the_remover():
    result = run_task("fix_speed", quick=True)
    fixes = [r for r in result.rows if r.method.startswith("neurolint.fix")]
    assert len(fixes) == 2
    for row in result.rows:
        assert row.error is None, row.error
    assert all(r.metrics["x_realtime"] > 0 for r in fixes)
    assert "artifacts" in fixes[0].metrics["steps"]
    cli = [r for r in result.rows if "CLI, fresh process" in r.method]
    assert len(cli) == 6  # EEG to FIF and EDF at each length; a probe at two lengths
    assert {r.metrics["size"].split(", ")[-1] for r in cli} == {"FIF out", "EDF out", "RAW out"}
    probe = [r for r in cli if "RAW in" in r.metrics["size"]]
    assert len(probe) == 2 and all(r.metrics["x_realtime"] > 0 for r in probe)
    assert all("'gaps': 'no gaps'" not in r.metrics["steps"] for r in probe)  # packets dropped
    assert all(r.metrics["rss_peak_mb"] > 0 for r in cli)  # the command ran and was sampled
    remover = next(r for r in result.rows if r.method.startswith("eeg-remover"))
    assert remover.metrics["windows_per_s"] > 0
