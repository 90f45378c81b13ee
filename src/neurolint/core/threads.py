"""Threads: torch's CPU thread count for a block, and work items mapped over a few threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["map_in_threads", "n_workers", "torch_threads"]


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
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        return list(pool.map(fn, items))
