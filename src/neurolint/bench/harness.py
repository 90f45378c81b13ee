"""Run methods side by side on one suite: wall time, peak memory, metrics, tables.

A task builds its seeded suite once, then calls :func:`run_method` for every method (ours and
peers') on the same data, in the same process, one after another, and collects the rows in a
:class:`BenchResult`, which prints and writes itself as Markdown and JSON.

Peak memory is the growth of the process's resident set size while the method runs, sampled
every 5 ms by a background thread (so very short spikes can be missed); it includes memory
that native libraries allocate, which Python's own tracing would not see.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BenchResult", "MethodResult", "measure", "peak_rss_of_command", "run_method"]


def _rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (Linux ``/proc``; psutil elsewhere; 0 when unknown)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return int(psutil.Process(None if pid == "self" else int(pid)).memory_info().rss)
        except (ImportError, OSError, ValueError):
            return 0


def peak_rss_of_command(args: Sequence[str], interval: float = 0.01) -> dict[str, float]:
    """Run ``args`` in a fresh process and sample its resident set size until it exits.

    Returns
    -------
    dict
        ``peak_mb`` (the whole process's largest RSS, MB) and ``wall_s``.

    Raises
    ------
    RuntimeError
        If the command fails (its last lines of stderr in the message).
    """
    import subprocess

    start = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        peak = 0
        err: list[bytes] = []
        # stderr is read in a thread, so a chatty command cannot block on a full pipe.
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        reader.start()
        while proc.poll() is None:
            peak = max(peak, _rss_bytes(proc.pid))
            time.sleep(interval)
        reader.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = b"".join(err).decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{args[0]} exited with {proc.returncode}: {' / '.join(tail)}")
    return {"peak_mb": peak / 1e6, "wall_s": wall}


class _PeakSampler:
    """Samples RSS in a thread; ``peak_mb`` is the largest growth over the starting RSS."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self.start_rss = self.peak_rss = 0

    def __enter__(self) -> _PeakSampler:
        self.start_rss = self.peak_rss = _rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, _rss_bytes())

    @property
    def peak_mb(self) -> float:
        return max(0, self.peak_rss - self.start_rss) / 1e6


def measure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """Call ``fn`` and return ``(result, wall seconds, peak RSS growth in MB)``."""
    gc.collect()
    with _PeakSampler() as sampler:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        wall = time.perf_counter() - start
    return result, wall, sampler.peak_mb


@dataclass
class MethodResult:
    """One row of a benchmark table."""

    method: str
    kind: str = "ours"  # "ours", "peer" (a maintained package) or "baseline" (reference)
    metrics: dict[str, float | int | str | None] = field(default_factory=dict)
    wall_s: float | None = None
    peak_mb: float | None = None
    source: str = ""  # package and version, or the paper it re-implements
    error: str | None = None  # why the method could not run (then metrics are empty)


def run_method(
    name: str,
    fn: Callable[[], Any],
    evaluate: Callable[[Any], dict[str, Any]],
    *,
    kind: str = "ours",
    source: str = "",
    debug: bool = False,
    repeat: int = 1,
) -> MethodResult:
    """Time ``fn()`` and score its output with ``evaluate``; failures become an error row.

    A peer that is not installed, or that fails on the suite, must not hide everyone else's
    results: its row says why instead. With ``repeat`` > 1, ``fn`` runs that many times: the
    row's wall time is the median, its peak memory the largest, every run's wall time is
    listed in the ``runs_s`` metric, and the last output is scored.
    """
    from ..core.errors import MissingDependencyError

    try:
        walls, peaks = [], []
        for _ in range(max(1, int(repeat))):
            output, wall, peak = measure(fn)
            walls.append(wall)
            peaks.append(peak)
    except MissingDependencyError as exc:
        return MethodResult(name, kind, source=source, error=f"skipped: {exc}")
    except Exception as exc:  # noqa: BLE001 - a failing peer is a result, not a crash
        if debug:
            traceback.print_exc()
        return MethodResult(name, kind, source=source, error=f"failed: {type(exc).__name__}: {exc}")
    metrics = evaluate(output)
    if len(walls) > 1:
        metrics["runs_s"] = ", ".join(f"{w:.2f}" for w in walls)
    return MethodResult(name, kind, metrics, statistics.median(walls), max(peaks), source)


def environment() -> dict[str, Any]:
    """Machine and versions, recorded with every result."""
    import numpy

    from .. import __version__

    return {
        "neurolint": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
    }


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


@dataclass
class BenchResult:
    """A task's table: methods x metrics, with wall time and peak memory per method."""

    task: str
    quick: bool
    seed: int
    description: str
    rows: list[MethodResult] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    columns: Sequence[str] | None = None
    env: dict[str, Any] = field(default_factory=environment)

    def metric_columns(self) -> list[str]:
        if self.columns is not None:
            return list(self.columns)
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row.metrics))
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "quick": self.quick,
            "seed": self.seed,
            "description": self.description,
            "params": self.params,
            "columns": self.metric_columns(),
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
            "environment": self.env,
        }

    def to_json(self) -> str:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return json.dumps(clean(self.to_dict()), indent=2, allow_nan=False)

    def to_markdown(self) -> str:
        cols = self.metric_columns()
        header = ["method", "kind", *cols, "wall (s)", "peak mem (MB)"]
        lines = [
            f"### `{self.task}`{' (quick)' if self.quick else ''}: {self.description}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for r in self.rows:
            cells = [r.method, r.kind]
            if r.error:
                cells += [r.error] + ["-"] * (len(cols) + 1)
            else:
                cells += [_fmt(r.metrics.get(c)) for c in cols]
                cells += [_fmt(r.wall_s), _fmt(r.peak_mb)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        sources = [f"- {r.method}: {r.source}" for r in self.rows if r.source]
        if sources:
            lines += ["", "Methods:", *sources]
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines)

    def write(self, out: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
        """Write ``<task>[_quick].json`` and ``.md`` into the folder ``out`` (created if new)."""
        from ..io._atomic import atomic_path, check_writable

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{self.task}_quick" if self.quick else self.task
        paths = [out / f"{stem}.json", out / f"{stem}.md"]
        for path in paths:
            check_writable(path, overwrite)
        for path, text in zip(paths, (self.to_json(), self.to_markdown()), strict=True):
            with atomic_path(path, overwrite=overwrite) as tmp:
                tmp.write_text(text + "\n")
        return paths
