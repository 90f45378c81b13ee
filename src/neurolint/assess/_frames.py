"""Helpers shared by the movie and fMRI detectors: parameter checks, robust statistics of
per-frame series, outliers against a running median, the filling of non-finite samples and the
construction of a finding from one feature and its threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import Finding
from ..core.validate import check_positive


def _confidence(value: float, threshold: float) -> float:
    """0.5 at the threshold, rising towards 1 as ``value`` exceeds it (2x: 0.75, 5x: 0.9)."""
    ratio = abs(float(value)) / max(abs(float(threshold)), 1e-30)
    return float(np.clip(1.0 - 0.5 / max(ratio, 1e-30), 0.5, 1.0))


def _robust_scale(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """1.4826 x median absolute deviation (the standard deviation for Gaussian data)."""
    med = np.nanmedian(x, axis=axis, keepdims=True)
    mad = np.nanmedian(np.abs(x - med), axis=axis)
    return 1.4826 * mad


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Centred running median along axis 0 (edges repeat the end values)."""
    from scipy.ndimage import median_filter

    size = [1] * x.ndim
    size[0] = max(1, int(width) | 1)  # odd, so the window is centred
    return median_filter(x, size=tuple(size), mode="nearest")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ParameterError(f"{name}={value!r} must be an integer >= {minimum}.")
    return int(value)


def _check_fraction(name: str, value: Any) -> float:
    number = check_positive(name, value)
    if number > 1:
        raise ParameterError(f"{name}={value!r} must be a fraction in (0, 1].")
    return number


def _check_workers(n_jobs: Any) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise ParameterError(f"n_jobs={n_jobs!r} must be a positive integer or -1 (all cores).")
    if n_jobs < 1 and n_jobs != -1:
        raise ParameterError(f"n_jobs={n_jobs!r} must be a positive integer or -1 (all cores).")
    return int(n_jobs)


def _event(
    kind: str,
    start: int,
    stop: int,
    rate: float,
    detector: str,
    feature: str,
    value: float,
    threshold: float,
    confidence: float | None = None,
    **extras: Any,
) -> Finding:
    """A finding over frames ``[start, stop)`` explained by one feature and its threshold."""
    info = {"feature": feature, "value": float(value), "threshold": float(threshold)}
    info.update(extras)
    return Finding(
        onset=start / rate,
        duration=(stop - start) / rate,
        kind=kind,
        confidence=_confidence(value, threshold) if confidence is None else confidence,
        detector=detector,
        extras=info,
    )


def _gap_events(cases: Any, rate: float, detector: str, index_key: str) -> list[Finding]:
    """One ``gap`` finding per run of each mask in ``cases``.

    ``cases`` holds ``(mask, feature, values, threshold)``; each finding reports the largest
    value over its run, confidence 1, and ``{index_key: [start, stop]}`` (frames, volumes).
    """
    from .base import runs

    return [
        _event(
            "gap",
            a,
            b,
            rate,
            detector,
            feature,
            float(values[a:b].max()),
            threshold,
            confidence=1.0,
            **{index_key: [a, b]},
        )
        for mask, feature, values, threshold in cases
        for a, b in runs(mask)
    ]


def _fill_nonfinite(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN/inf (in place) by each frame's finite mean; return (nonfinite fraction,
    finite mean) per frame. ``block`` is ``(B, ...)`` float32 and owned by the caller."""
    axes = tuple(range(1, block.ndim))
    n_px = float(np.prod(block.shape[1:]))
    total = block.reshape(len(block), -1).sum(axis=1, dtype=np.float64)
    if np.all(np.isfinite(total)):  # a float64 sum of float32 values is finite iff they are
        return np.zeros(len(block)), total / n_px
    finite = np.isfinite(block)
    count = finite.sum(axis=axes)
    total = np.where(finite, block, 0.0).sum(axis=axes, dtype=np.float64)
    mean = np.divide(total, count, out=np.zeros(len(block)), where=count > 0)
    fill = np.broadcast_to(mean.reshape((-1,) + (1,) * len(axes)), block.shape)
    np.copyto(block, fill.astype(np.float32), where=~finite)
    return 1.0 - count / n_px, mean


def _outliers(
    values: np.ndarray,
    level: Any,
    width: int,
    z_thr: float,
    min_change: float,
    *,
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Outliers of ``values`` (time first; one series per column) against their running
    median: (mask, deviation relative to ``level``, threshold per column).

    A deviation counts when it exceeds both ``z_thr`` robust z-scores and ``min_change``
    (relative). The running median is taken again with the first outliers replaced, so two
    outliers in one window do not pull it; an outlier must also stand out, in one direction,
    from the nearest non-outliers on both sides (a step beside a spike does not). Given
    ``skip`` (time first, broadcast to ``values``), it must stand out from the nearest values
    beside it not in ``skip`` instead, outliers or not (so a plateau between two steps, which
    a longer spike would also make, does not count).
    """
    level = np.asarray(level, dtype=np.float64)
    med = _running_median(values, width)
    rel = (values - med) / level
    threshold = np.maximum(z_thr * _robust_scale(rel, axis=0), min_change)
    flags = np.abs(rel) > threshold
    if flags.any():
        med = _running_median(np.where(flags, med, values), width)
        rel = (values - med) / level
        flags = np.abs(rel) > threshold
        beside = flags if skip is None else np.broadcast_to(skip, flags.shape)
        flags &= _stands_out(values, flags, beside, threshold * level)
    return flags, rel, threshold


def _stands_out(
    values: np.ndarray, flags: np.ndarray, skip: np.ndarray, threshold: Any
) -> np.ndarray:
    """Whether each value differs by more than ``threshold``, with one sign, from the nearest
    values before and after it that are not in ``skip`` (from the one side there is, at an
    end); only where ``flags`` is set."""
    v = values.reshape(len(values), -1)
    f = skip.reshape(len(values), -1)
    n = len(v)
    t = np.arange(n)[:, None]
    # Nearest index strictly before (after) each position that is not skipped.
    last = np.maximum.accumulate(np.where(f, -1, t), axis=0)
    before = np.concatenate([np.full((1, v.shape[1]), -1), last[:-1]])
    first = np.minimum.accumulate(np.where(f, n, t)[::-1], axis=0)[::-1]
    after = np.concatenate([first[1:], np.full((1, v.shape[1]), n)])
    cols = np.arange(v.shape[1])[None, :]
    d_before = np.where(before >= 0, v - v[np.clip(before, 0, n - 1), cols], np.nan)
    d_after = np.where(after < n, v - v[np.clip(after, 0, n - 1), cols], np.nan)
    thr = np.broadcast_to(np.asarray(threshold, dtype=np.float64).reshape(1, -1), v.shape)
    with np.errstate(invalid="ignore"):
        big_before = np.abs(d_before) > thr
        big_after = np.abs(d_after) > thr
        same_sign = np.sign(d_before) == np.sign(d_after)
    has_b, has_a = ~np.isnan(d_before), ~np.isnan(d_after)
    ok = np.where(
        has_b & has_a,
        big_before & big_after & same_sign,
        np.where(has_b, big_before, np.where(has_a, big_after, True)),
    )
    return ok.reshape(flags.shape) & flags
