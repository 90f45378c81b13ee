"""Threads: torch's CPU thread count for a block, work items mapped over a few threads, and
a budget of cores that several parallel detectors share.

Several detectors, each mapping its own chunks over threads, would otherwise start more
threads than there are cores: the threads then contend (each runs slower, caches thrash)
and, worse, a detector with work left cannot take over a core that another has finished
with. Under :func:`core_budget` every work item holds one of ``n`` cores while it runs,
handed over first come, first served, so ``n`` cores stay busy while any work is left.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = [
    "core_budget",
    "holding_core",
    "limit_malloc_arenas",
    "map_in_threads",
    "n_workers",
    "torch_threads",
]


class _Cores:
    """``n`` cores handed to threads in the order they asked (no barging: a thread that
    releases a core and asks again queues behind those already waiting)."""

    def __init__(self, n: int) -> None:
        self._free = n
        self._lock = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._local = threading.local()

    def held(self) -> bool:
        return getattr(self._local, "held", False)

    def acquire(self) -> None:
        with self._lock:
            if self._free > 0 and not self._queue:
                self._free -= 1
                self._local.held = True
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()  # release() handed its core to this thread
        self._local.held = True

    def release(self) -> None:
        self._local.held = False
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1


_BUDGET: _Cores | None = None
_BUDGET_LOCK = threading.Lock()


@contextmanager
def core_budget(n: int) -> Iterator[None]:
    """Within this block, work run through :func:`holding_core` and the items of
    :func:`map_in_threads` share ``n`` cores (``n <= 1``: no budget). A budget already in
    force (a nested call) is kept."""
    global _BUDGET
    with _BUDGET_LOCK:
        mine = _BUDGET is None and n > 1
        if mine:
            _BUDGET = _Cores(n)
    try:
        yield
    finally:
        if mine:
            with _BUDGET_LOCK:
                _BUDGET = None


@contextmanager
def holding_core() -> Iterator[None]:
    """Run the block on one of the budget's cores (waiting for one to be free); without a
    budget, or when this thread already holds a core, just run it."""
    budget = _BUDGET
    if budget is None or budget.held():
        yield
        return
    budget.acquire()
    try:
        yield
    finally:
        budget.release()


@contextmanager
def _lending_core() -> Iterator[None]:
    """Give this thread's core back while it waits for work it handed to other threads."""
    budget = _BUDGET
    if budget is None or not budget.held():
        yield
        return
    budget.release()
    try:
        yield
    finally:
        budget.acquire()


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch on ``n`` CPU threads (``None``: leave torch as it is).

    Torch's setting is process-wide; it is restored on exit, also after an error.
    """
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def n_workers(n_jobs: int | None, n_items: int) -> int:
    """Items processed side by side: ``n_jobs`` (``-1``: every core), at most one per item.

    ``None`` means one at a time.
    """
    if n_jobs is None:
        return 1
    import os

    n = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    return max(1, min(n, n_items))


def map_in_threads(
    fn: Callable[[Any], T], items: Iterable[Any], workers: int, name: str = "neurolint"
) -> list[T]:
    """``[fn(item) for item in items]``, on ``workers`` threads when more than one.

    For NumPy and torch work that releases the GIL; results keep the order of ``items``.
    Under :func:`core_budget` each item holds a core while it runs.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    def run(item: Any) -> T:
        with holding_core():
            return fn(item)

    # Under a core budget the caller's core goes to the items while it waits for them.
    with _lending_core(), ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        return list(pool.map(run, items))


_M_ARENA_MAX = -8  # glibc's mallopt parameter number for the arena count
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def limit_malloc_arenas(n: int | None = None) -> int | None:
    """Let glibc's ``malloc`` keep at most ``n`` arenas in this process (default: one per
    core, at least 2); the ``neurolint`` command does this at start.

    glibc gives threads their own arenas (up to 8 per core) and keeps memory freed in each
    for reuse, so parallel detectors that allocate and free large arrays in several threads
    hold more resident memory than they use: checking an hour of 64-channel EEG on two
    cores peaked at 1221 MB of RSS, against 998 MB with two arenas (set this way), which
    also ran a little faster. A
    ``MALLOC_ARENA_MAX`` already in the environment is left alone, as is any platform
    without glibc.

    Returns
    -------
    int | None
        The limit set, or ``None`` where nothing was changed.
    """
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no glibc arenas to limit
        return None
    limit = max(2, int(n if n is not None else os.cpu_count() or 1))
    return limit if mallopt(_M_ARENA_MAX, limit) == 1 else None


def reuse_freed_blocks(keep_bytes: int = 1 << 30) -> bool:
    """Let glibc's ``malloc`` serve large arrays from its heap and keep up to ``keep_bytes``
    freed at its top for the next ones; the ``neurolint`` command does this at start.

    By default glibc maps every block over 32 MB afresh and unmaps it when freed, so each
    new array's pages fault in again, zeroed by the kernel. A correction of a 384-channel
    probe allocates and frees arrays of 200 MB for every block and step, and spent up to a
    quarter of its time so (``neurolint fix`` of a 1-minute probe: 63.7 and 51.9 s before,
    49.0 and 47.0 s with this, alternately; of 2 minutes 97.3 against 82.7 s). The cost is
    resident memory: freed blocks stay with the process for reuse (peak 1.62-1.64 GB
    against 2.13-2.17 GB for the minute, 1.50 against 1.87 GB for two), bounded by the
    largest blocks in use at once, not by the recording's length. ``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES`` already in the environment are left
    alone, as is any platform without glibc.

    Returns
    -------
    bool
        Whether the setting was made.
    """
    import ctypes
    import os
    import sys

    given = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    if not sys.platform.startswith("linux") or any(v in os.environ for v in given):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    keep = min(int(keep_bytes), 2**31 - 1)  # mallopt takes an int
    return mallopt(_M_MMAP_THRESHOLD, keep) == 1 and mallopt(_M_TRIM_THRESHOLD, keep) == 1
