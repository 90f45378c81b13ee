"""Writing a series as integers: the gains its values were stored with, where they fit.

Writers of integer files (binary, NWB) keep each channel's stored gain and offset
(:attr:`~neurolint.core.timeseries.TimeSeries.integer_storage`) while its values, divided
by them, still round into the integer type, so samples a correction left alone keep their
exact integers; a channel that no longer fits gets a gain that maps its peak onto the type.

Values at most one step beyond the type's range are clipped to it (an error of at most one
step, where rounding makes half of one) rather than counted as not fitting: a correction
that nudges a saturated sample a fraction of a step past the rail would otherwise rescale
the channel, changing every integer of it and costing two more passes over the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["fits", "new_range", "rescale", "rounded", "scaled", "widen"]


def new_range(n_channels: int) -> np.ndarray:
    """An empty per-channel range, ``(2, n_channels)``: lowest, highest."""
    return np.array([np.full(n_channels, np.inf), np.full(n_channels, -np.inf)])


def scaled(block: np.ndarray, gain: np.ndarray, offset: np.ndarray, seen: np.ndarray):
    """``(block - offset) / gain`` per channel, widening the range ``seen`` in place."""
    x = (block - offset.astype(np.float32)[:, None]) / gain.astype(np.float32)[:, None]
    if x.shape[1]:
        np.minimum(seen[0], x.min(axis=1), out=seen[0])
        np.maximum(seen[1], x.max(axis=1), out=seen[1])
    return x


def fits(seen: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Per channel, whether the range ``seen`` lies within one step of ``dtype``'s (what
    :func:`rounded` stores with an error of at most one step)."""
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        return (seen[0] >= info.min - 1) & (seen[1] <= info.max + 1)


def rounded(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``x`` (already scaled, within :func:`fits`) rounded and clipped into ``dtype``."""
    info = np.iinfo(dtype)
    return np.clip(np.rint(x), info.min, info.max).astype(dtype)


def widen(
    ts: Any,
    gain,
    offset,
    seen: np.ndarray,
    job_kwargs: dict,
    start: int = 0,
    check: Callable[[np.ndarray], None] | None = None,
) -> None:
    """Widen ``seen`` by the scaled values of ``ts`` from sample ``start`` on (a pass),
    calling ``check`` on each block first (it may raise)."""
    if start >= ts.n_samples:
        return
    rest = ts.frame_slice(start) if start else ts
    for _, block in rest.iter_chunks(**job_kwargs):
        if check is not None:
            check(block)
        scaled(block, gain, offset, seen)


def rescale(seen: np.ndarray, gain, offset, dtype: np.dtype, keep: np.ndarray):
    """``(gain, offset)`` with the channels not in ``keep`` mapped peak to ``dtype``'s
    largest value (offset 0)."""
    peak = np.maximum(np.abs(seen[0] * gain + offset), np.abs(seen[1] * gain + offset))
    new_gain = np.where(peak > 0, peak / np.iinfo(dtype).max, 1.0)
    return np.where(keep, gain, new_gain), np.where(keep, offset, 0.0)
