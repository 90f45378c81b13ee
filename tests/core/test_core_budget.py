"""core_budget: parallel detectors share n cores, first come first served, without deadlock;
limit_malloc_arenas: fewer glibc arenas, so freed memory is reused across threads."""

import threading
import time

import pytest

from neurolint.core.threads import core_budget, holding_core, map_in_threads


class _Gauge:
    """Counts work items running at once and remembers the most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def work(self, seconds: float = 0.01) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1


def _detector(gauge: _Gauge, results: list, i: int) -> None:
    # A detector: serial work on its own core, then chunks mapped over 3 threads.
    with holding_core():
        gauge.work()
        results.append(map_in_threads(lambda k: (gauge.work(), k)[1], range(6), 3))


def test_at_most_n_items_run_at_once_across_detectors_and_all_finish():
    gauge, results = _Gauge(), []
    with core_budget(2):
        threads = [threading.Thread(target=_detector, args=(gauge, results, i)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert gauge.most == 2  # 3 detectors x 3 chunk threads, never more than the 2 cores
    assert results == [list(range(6))] * 3


def test_without_a_budget_items_run_side_by_side_as_before():
    gauge = _Gauge()
    map_in_threads(lambda k: gauge.work(0.05), range(4), 4)
    assert gauge.most == 4


def test_a_released_core_goes_to_the_thread_already_waiting():
    order = []
    with core_budget(2):
        held = threading.Event()
        go = threading.Event()

        def first() -> None:
            with holding_core():
                held.set()
                go.wait(5)
            with holding_core():  # asks again at once: must queue behind the waiter
                order.append("first again")

        def other() -> None:
            with holding_core():
                held.wait(5)
                go.wait(5)
                time.sleep(0.05)

        def waiter() -> None:
            with holding_core():
                order.append("waiter")

        a, b = threading.Thread(target=first), threading.Thread(target=other)
        a.start()
        b.start()
        held.wait(5)
        time.sleep(0.05)  # both cores taken
        c = threading.Thread(target=waiter)
        c.start()
        time.sleep(0.05)  # the waiter is queued
        go.set()
        for t in (a, b, c):
            t.join(timeout=5)
    assert order == ["waiter", "first again"]


def test_nested_maps_under_a_budget_do_not_deadlock():
    with core_budget(2):
        out = map_in_threads(lambda i: sum(map_in_threads(lambda k: k, range(4), 2)), range(4), 2)
    assert out == [6, 6, 6, 6]


def test_a_failing_item_gives_its_core_back():
    def boom(k: int) -> int:
        if k == 1:
            raise ValueError("bad item")
        return k

    with core_budget(2):
        with pytest.raises(ValueError, match="bad item"):
            map_in_threads(boom, range(3), 2)
        assert map_in_threads(lambda k: k, range(4), 2) == [0, 1, 2, 3]  # cores all free


def test_malloc_arenas_are_limited_unless_the_user_chose(monkeypatch):
    import sys

    from neurolint.core.threads import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is None  # the user's setting stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").mallopt  # noqa: B018
        except (OSError, AttributeError):
            pytest.skip("no glibc here: nothing to limit")
        assert limit_malloc_arenas(1) == 2  # at least two
        assert limit_malloc_arenas(3) == 3
    else:
        assert limit_malloc_arenas() is None


@pytest.mark.parametrize("setting", ["limit_malloc_arenas", "reuse_freed_blocks"])
def test_the_command_sets_malloc_up_at_start(monkeypatch, setting):
    from typer.testing import CliRunner

    import neurolint.cli.main as cli

    calls = []
    monkeypatch.setattr(cli, setting, lambda: calls.append(1))
    result = CliRunner().invoke(cli.app, ["info", "--help"])
    assert result.exit_code == 0
    assert calls == [1]


_KEEP_PROBE = """
import sys, numpy as np
from neurolint.core.threads import reuse_freed_blocks
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
if sys.argv[1] == "on":
    assert reuse_freed_blocks()
a = np.ones(200 * 2**20 // 8)
before = rss()
del a
print((before - rss()) / 2**20)
"""


def test_reusing_freed_blocks_keeps_a_large_array_for_the_next_unless_the_user_chose(
    monkeypatch,
):
    import os
    import subprocess
    import sys

    from neurolint.core.threads import reuse_freed_blocks

    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert reuse_freed_blocks() is False  # the user's setting stands
    if not sys.platform.startswith("linux"):
        return
    freed = {}
    for mode in ("off", "on"):
        env = {k: v for k, v in os.environ.items() if "MALLOC" not in k}
        env.pop("GLIBC_TUNABLES", None)
        out = subprocess.run(
            [sys.executable, "-c", _KEEP_PROBE, mode], capture_output=True, text=True, env=env
        )
        if out.returncode and "AssertionError" in out.stderr:
            pytest.skip("no glibc mallopt here")
        freed[mode] = float(out.stdout)
    assert freed["off"] > 150  # by default the 200 MB go back to the system at once
    assert freed["on"] < 50  # kept for the next large array
