"""Benchmarks: seeded suites measured side by side with peers (see BENCHMARKS.md).

``run_task("detect", quick=True)`` returns a :class:`BenchResult` (methods x metrics, with
wall time and peak memory per method); ``neurolint bench TASK`` prints and writes it.
"""

from .harness import BenchResult, MethodResult, measure, run_method
from .registry import TASKS, Task, get_task, run_task

__all__ = [
    "TASKS",
    "BenchResult",
    "MethodResult",
    "Task",
    "get_task",
    "measure",
    "run_method",
    "run_task",
]
