"""Robust statistics of long rows and zero-phase filtering of channel blocks, cheap per chunk."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["row_median", "row_nanmedian", "zero_phase"]


def row_median(x: np.ndarray, max_samples: int = 2048) -> np.ndarray:
    """Median of each row of ``x`` ``(n_rows, n)`` from at most ``max_samples`` of its samples.

    Rows of a chunk hold thousands to millions of samples, and this median only sets a scale
    or a fill value: every ``ceil(n / max_samples)``-th sample estimates it with a standard
    error of about 3% of the row's spread (1.25 / sqrt(2048)), at a fraction of the cost of
    partitioning the whole row.
    """
    stride = max(1, -(-x.shape[-1] // max_samples))
    return np.median(x[..., ::stride], axis=-1)


def row_nanmedian(x: np.ndarray, max_samples: int = 2048) -> np.ndarray:
    """:func:`row_median` ignoring NaN: NaN for a row whose sampled values are all NaN.

    A row that is finite on only a few samples may miss them all in the stride; those rows
    (rare: mostly missing channels) take the median of every finite sample instead.
    """
    stride = max(1, -(-x.shape[-1] // max_samples))
    med = _sorted_nanmedian(x[..., ::stride])
    if stride > 1:
        empty = np.isnan(med) & ~np.isnan(x).all(axis=-1)
        if empty.any():
            med[empty] = _sorted_nanmedian(x[empty])
    return med


def _sorted_nanmedian(x: np.ndarray) -> np.ndarray:
    # One sort of the block (NaN sorts last) instead of numpy's row-by-row nanmedian.
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    xs = np.sort(x, axis=-1)
    count = np.sum(~np.isnan(xs), axis=-1)
    c = np.maximum(count, 1)[..., None]
    lo = np.take_along_axis(xs, (c - 1) // 2, -1)[..., 0]
    hi = np.take_along_axis(xs, c // 2, -1)[..., 0]
    return np.where(count > 0, 0.5 * (lo + hi), np.nan)


def zero_phase(x: np.ndarray, sos: np.ndarray, sfreq: float) -> np.ndarray:
    """``x`` filtered forward and backward by ``sos`` along its last axis, through the FFT.

    The same magnitude response as :func:`scipy.signal.sosfiltfilt` (``|H|^2``, no phase
    shift), about three times faster on channel blocks because one transform pair replaces
    two passes of every second-order section. Each end is padded with one second of odd
    extension (as ``sosfiltfilt`` pads, only longer) so the circular transform does not wrap
    one end into the other; callers keep their own margins for samples near chunk edges.

    Returns
    -------
    numpy.ndarray of float32, the shape of ``x``
    """
    from scipy import fft

    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    pad = min(n - 1, round(sfreq))
    if pad > 0:
        head = 2 * x[..., :1] - x[..., pad:0:-1]
        tail = 2 * x[..., -1:] - x[..., -2 : -pad - 2 : -1]
        x = np.concatenate((head, x, tail), axis=-1)
    size = fft.next_fast_len(x.shape[-1], real=True)
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    gain = _power_gain(sos.tobytes(), sos.shape[0], size, float(sfreq))
    y = fft.irfft(fft.rfft(x, size, axis=-1) * gain, size, axis=-1)
    return y[..., pad : pad + n]


@lru_cache(maxsize=32)
def _power_gain(sos: bytes, n_sections: int, size: int, sfreq: float) -> np.ndarray:
    """``|H|^2`` of a filter at the ``rfft`` frequencies of ``size`` points (chunks repeat)."""
    from scipy.signal import sosfreqz

    coefs = np.frombuffer(sos, dtype=np.float64).reshape(n_sections, 6)
    _, h = sosfreqz(coefs, worN=np.fft.rfftfreq(size, 1.0 / sfreq), fs=sfreq)
    gain = (h.real**2 + h.imag**2).astype(np.float32)
    gain.flags.writeable = False  # shared between calls
    return gain
