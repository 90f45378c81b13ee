"""The benchmark harness: timing, memory, error rows, tables and the task registry."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from neurolint.bench import BenchResult, MethodResult, get_task, measure, run_method
from neurolint.bench.registry import TASKS
from neurolint.core.errors import MissingDependencyError, OutputExistsError, ParameterError


def test_measure_reports_time_and_memory_growth():
    def allocate():
        # Fresh anonymous pages, touched: a numpy array could reuse memory that earlier
        # tests freed but the allocator kept resident, and then RSS would not grow at all.
        import mmap

        block = mmap.mmap(-1, 50_000_000)
        view = np.frombuffer(block, dtype=np.uint8)
        view[:] = 1
        time.sleep(0.1)  # held long enough for the 5 ms sampler even on a busy machine
        total = int(view.sum())
        del view
        block.close()
        return total

    result, wall, peak = measure(allocate)
    assert result == 50_000_000
    assert wall > 0
    # At least the 50 MB held; the upper bound leaves room for whatever else the test process
    # (other threads) allocates meanwhile: RSS is per process.
    assert 40 < peak < 500


def test_a_failing_or_missing_peer_becomes_a_row_not_a_crash():
    def broken():
        raise RuntimeError("diverged")

    def missing():
        raise MissingDependencyError("pyprep is needed")

    row = run_method("broken", broken, lambda out: {}, kind="peer")
    assert row.error.startswith("failed: RuntimeError: diverged") and row.metrics == {}
    assert run_method("missing", missing, lambda out: {}).error.startswith("skipped:")
    ok = run_method("ok", lambda: 3, lambda out: {"value": out * 2})
    assert ok.metrics == {"value": 6} and ok.error is None and ok.wall_s >= 0


def test_repeated_runs_report_the_median_and_every_run():
    pauses = iter([0.01, 0.05, 0.03])
    calls = []

    def work():
        calls.append(1)
        time.sleep(next(pauses))
        return len(calls)

    row = run_method("ours", work, lambda out: {"calls": out}, repeat=3)
    assert row.metrics["calls"] == 3  # the last output is scored
    runs = [float(v) for v in row.metrics["runs_s"].split(", ")]
    assert len(runs) == 3 and runs[0] < runs[2] < runs[1]
    assert row.wall_s == pytest.approx(runs[2], abs=0.006)  # the median, not the mean


def _result():
    result = BenchResult("demo", quick=True, seed=0, description="a | table")
    result.rows += [
        MethodResult("ours", "ours", {"F1": 0.91234, "n": 3}, 1.5, 20.0, "neurolint"),
        MethodResult("peer", "peer", {"F1": float("nan")}, 0.25, 2.0),
        MethodResult("gone", "peer", error="skipped: not installed"),
    ]
    return result


def test_table_has_every_method_and_metric():
    text = _result().to_markdown()
    lines = text.splitlines()
    assert lines[2] == "| method | kind | F1 | n | wall (s) | peak mem (MB) |"
    assert "| ours | ours | 0.912 | 3 | 1.500 | 20.000 |" in lines
    assert "| peer | peer | - | - | 0.250 | 2.000 |" in lines
    assert any(line.startswith("| gone | peer | skipped: not installed") for line in lines)


def test_json_is_strict_and_complete():
    data = json.loads(_result().to_json())
    assert data["columns"] == ["F1", "n"]
    assert data["rows"][1]["metrics"]["F1"] is None  # NaN is not JSON
    assert data["environment"]["python"]


def test_write_refuses_to_overwrite(tmp_path):
    result = _result()
    paths = result.write(tmp_path / "out")
    assert [p.name for p in paths] == ["demo_quick.json", "demo_quick.md"]
    with pytest.raises(OutputExistsError):
        result.write(tmp_path / "out")
    result.write(tmp_path / "out", overwrite=True)


def test_registry_lists_the_first_tasks():
    assert {"detect", "simulate", "io_stream"} <= {t.name for t in TASKS}
    assert callable(get_task("detect").load())
    with pytest.raises(ParameterError, match="neurolint bench list"):
        get_task("nope")


def test_io_stream_task_runs_in_the_harness():
    from neurolint.bench import run_task

    result = run_task("io_stream", quick=True)
    rows = {r.method: r for r in result.rows}
    assert set(rows) == {"neurolint", "neurolint_noncontiguous", "memmap", "memmap_channels_first"}
    assert rows["memmap"].metrics["vs_memmap"] == 1.0
    assert all(r.wall_s > 0 and r.peak_mb > 0 for r in result.rows)


def test_peak_rss_of_a_command_sees_what_the_child_holds_and_reports_failures():
    import sys

    from neurolint.bench.harness import peak_rss_of_command

    holds = "import numpy as np, time; a = np.ones(40_000_000); time.sleep(0.3)"  # 320 MB
    big = peak_rss_of_command([sys.executable, "-c", holds])
    small = peak_rss_of_command([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert big["peak_mb"] > small["peak_mb"] + 250 and big["wall_s"] > 0.3
    with pytest.raises(RuntimeError, match="boom"):
        peak_rss_of_command([sys.executable, "-c", "import sys; sys.exit('boom')"])
