"""Speed metrics: throughput, real-time factor and latency percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurolint.core.errors import ParameterError
from neurolint.core.validate import check_positive

__all__ = ["latency_percentiles", "realtime_factor", "throughput"]


def throughput(n_samples_total: float, seconds: float) -> float:
    """Samples processed per second of wall-clock time: n_samples_total / seconds.

    Parameters
    ----------
    n_samples_total : float
        Samples processed (summed over channels if that is what is being compared).
    seconds : float
        Wall-clock time taken, > 0.

    Returns
    -------
    float
    """
    n = check_positive("n_samples_total", n_samples_total, allow_zero=True)
    return n / check_positive("seconds", seconds)


def realtime_factor(duration_s: float, seconds: float) -> float:
    """How many times faster than real time: recording duration / processing time.

    Greater than 1 means faster than the data arrive (1 h of data in 6 min gives 10).

    Parameters
    ----------
    duration_s : float
        Duration of the processed recording in seconds.
    seconds : float
        Wall-clock time taken, > 0.

    Returns
    -------
    float
    """
    duration = check_positive("duration_s", duration_s, allow_zero=True)
    return duration / check_positive("seconds", seconds)


def latency_percentiles(latencies_s: Any, q: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Percentiles of latencies, in milliseconds.

    Computed with :func:`numpy.percentile` (linear interpolation) on ``latencies_s × 1000``.

    Parameters
    ----------
    latencies_s : array_like
        Latencies in seconds, finite.
    q : sequence of float, default: (50, 95, 99)
        Percentiles in [0, 100].

    Returns
    -------
    dict
        ``{"p50": ms, "p95": ms, "p99": ms}``, keys ``f"p{q:g}"``.
    """
    lat = np.asarray(latencies_s, dtype=np.float64).ravel()
    if lat.size == 0 or not np.isfinite(lat).all():
        raise ParameterError("latencies_s must hold at least one finite latency in seconds.")
    q = [float(v) for v in q]
    if not all(0.0 <= v <= 100.0 for v in q):
        raise ParameterError(f"q={q} must hold percentiles in [0, 100].")
    values = np.percentile(lat * 1000.0, q)
    return {f"p{v:g}": float(x) for v, x in zip(q, values, strict=True)}
