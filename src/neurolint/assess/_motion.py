"""Rigid registration by phase correlation, shared by the movie and fMRI detectors.

The ``rfftn`` frequency grid and the Gaussian smoothing of the cross-power spectrum, the edge
taper that hides the periodic seam, the whitened phase correlation of a block of images against
a reference (vectorised over the block), its sub-sample peak (a 3-point Gaussian fit per axis)
and the peak value expected between unrelated images (the chance level of a match).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _frequency_grid(shape: Sequence[int]) -> list[np.ndarray]:
    """Broadcastable frequency arrays (cycles per sample) of an ``rfftn`` over ``shape``."""
    nd = len(shape)
    out = []
    for axis, n in enumerate(shape):
        f = np.fft.rfftfreq(n) if axis == nd - 1 else np.fft.fftfreq(n)
        view = [1] * nd
        view[axis] = f.size
        out.append(f.reshape(view))
    return out


def _gaussian_spectrum(shape: Sequence[int], sigma: float) -> np.ndarray:
    """Fourier transform of a Gaussian of ``sigma`` samples, on the ``rfftn`` grid of ``shape``."""
    grid = _frequency_grid(shape)
    k2 = sum(f**2 for f in grid)
    return np.exp(-2.0 * np.pi**2 * sigma**2 * k2).astype(np.float32)


def _edge_taper(shape: Sequence[int], fraction: float = 0.1) -> np.ndarray:
    """Raised-cosine taper over the outer ``fraction`` of each axis (1 inside).

    Phase correlation treats images as periodic; the taper hides the seam at the borders,
    which would otherwise pull the peak towards zero shift.
    """
    out = np.ones(tuple(shape), dtype=np.float32)
    for axis, n in enumerate(shape):
        k = max(1, int(n * fraction))
        w = np.ones(n, dtype=np.float32)
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
        w[:k] = ramp
        w[n - k :] = np.minimum(w[n - k :], ramp[::-1])
        view = [1] * len(shape)
        view[axis] = n
        out *= w.reshape(view)
    return out


def _phase_correlate(
    spec: np.ndarray, ref_conj: np.ndarray, gauss: np.ndarray, shape: Sequence[int], workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shifts ``(B, nd)`` of each image against the reference, and the correlation peaks.

    ``spec`` is the ``rfftn`` of a block of images ``(B, *shape)``, ``ref_conj`` the complex
    conjugate of the reference's. A shift ``s`` means the image content sits ``s`` samples
    further along each axis than in the reference. The peak is 1 for a perfect match.
    """
    import scipy.fft

    nd = len(shape)
    axes = tuple(range(1, nd + 1))
    cross = spec * ref_conj
    mag = np.abs(cross)
    # Whitening keeps only phase (sharp peak); the floor keeps empty frequencies at zero.
    mag += 1e-6 * mag.max(axis=axes, keepdims=True) + 1e-30
    np.divide(gauss, mag, out=mag)
    cross *= mag
    corr = scipy.fft.irfftn(cross, s=tuple(shape), axes=axes, workers=workers)
    corr *= float(np.prod(shape)) / float(_rfft_weight_sum(gauss, shape))
    return _peak_position(corr)


def _rfft_weight_sum(weights: np.ndarray, shape: Sequence[int]) -> float:
    """Sum of ``weights`` over the full (two-sided) spectrum they stand for in an rfftn."""
    n_last = shape[-1]
    w = weights.astype(np.float64)
    total = 2.0 * w.sum() - w[..., 0].sum()
    if n_last % 2 == 0:
        total -= w[..., -1].sum()
    return total


def _null_peak(shape: Sequence[int], sigma: float) -> float:
    """Expected largest correlation-peak value of :func:`_phase_correlate` between unrelated
    images: random phases give a field of standard deviation ``sqrt(sum g^2) / sum g`` (``g``
    the smoothing weights), whose maximum over the pixels is about ``sqrt(2 ln N)`` of it."""
    g = _gaussian_spectrum(shape, sigma)
    sd = np.sqrt(_rfft_weight_sum(g**2, shape)) / _rfft_weight_sum(g, shape)
    return float(sd * np.sqrt(2.0 * np.log(max(float(np.prod(shape)), 2.0))))


def _peak_position(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-sample position (signed, wrapped) and value of each item's correlation peak.

    A 3-point Gaussian fit per axis: exact for the Gaussian-smoothed peak of a pure shift, and
    free of the pull towards whole samples that a parabola shows.
    """
    b, *shape = corr.shape
    flat = corr.reshape(b, -1).argmax(axis=1)
    idx = np.unravel_index(flat, tuple(shape))
    items = np.arange(b)
    peak = corr[(items, *idx)]
    tiny = 1e-6 * np.maximum(np.abs(peak), 1e-30)
    log0 = np.log(np.maximum(peak, tiny))
    out = np.empty((b, len(shape)))
    for axis, n in enumerate(shape):
        lo, hi = list(idx), list(idx)
        lo[axis] = (idx[axis] - 1) % n
        hi[axis] = (idx[axis] + 1) % n
        log_lo = np.log(np.maximum(corr[(items, *lo)], tiny))
        log_hi = np.log(np.maximum(corr[(items, *hi)], tiny))
        curv = log_lo - 2.0 * log0 + log_hi
        safe = np.where(curv < 0, curv, -1.0)
        sub = np.where(curv < 0, 0.5 * (log_lo - log_hi) / safe, 0.0)
        whole = np.where(idx[axis] > n // 2, idx[axis] - n, idx[axis])
        out[:, axis] = whole + np.clip(sub, -0.5, 0.5)
    return out, peak.astype(np.float64)
