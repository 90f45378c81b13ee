"""Private helpers shared by the metric modules: rates, row reduction, array checks, PSD."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurolint.core.errors import ShapeError
from neurolint.core.validate import check_option


def _ratio(num: float, den: float) -> float:
    """``num / den``, or ``nan`` when ``den`` is 0 (an undefined rate, not a zero one)."""
    return float(num) / float(den) if den else math.nan


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts; F1 = 2tp / (2tp + fp + fn)."""
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def _check_reduce(reduce: str | None) -> str | None:
    return check_option("reduce", reduce, ("mean", None))


def _reduce(values: np.ndarray, reduce: str | None) -> float | np.ndarray:
    # A plain mean: one undefined row makes the mean undefined, which is what a table should
    # show rather than hide.
    return float(np.mean(values)) if reduce == "mean" else values


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays of the same shape ``(..., n_samples)`` as float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ShapeError(
            f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; pass arrays "
            "of the same shape (..., n_samples)."
        )
    if a.ndim == 0 or a.shape[-1] < 2 or a.size == 0:
        raise ShapeError(
            f"{names[0]} has shape {a.shape}; pass arrays shaped (..., n_samples) with at "
            "least one row of at least 2 samples."
        )
    return a, b


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x), axis=-1))


def _welch(x: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD along the last axis: Hann, 1 s segments (or the whole row), 50% overlap."""
    from scipy import signal as _signal  # slow to import; only signal metrics need it

    n = x.shape[-1]
    nperseg = max(2, min(n, round(sfreq)))
    return _signal.welch(
        x,
        fs=sfreq,
        window="hann",
        nperseg=nperseg,
        noverlap=nperseg // 2,
        detrend="constant",
        return_onesided=True,
        scaling="density",
        axis=-1,
    )
