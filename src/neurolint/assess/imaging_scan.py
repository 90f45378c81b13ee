"""The reading pass of :class:`~neurolint.assess.imaging.MovieDetector`: the motion reference
(the best-correlated early frames, registered to their mean and averaged) and the single pass
over the movie in blocks of frames that gathers per-frame statistics (mean, spread, extremes,
non-finite fraction, repeats), the shift and peak of each frame's phase correlation against
the reference, and the sums behind the SNR map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import DataValueError
from ..core.imaging import Movie
from ._frames import _fill_nonfinite
from ._motion import _edge_taper, _frequency_grid, _gaussian_spectrum, _phase_correlate

# Pixels (frames x pixels per frame) read and transformed at once: ~8 MB of float32.
_BLOCK_ELEMENTS = 1 << 21
# Frames looked at (and pixels per frame, after binning) when choosing the reference.
_REF_PIXELS = 64 * 64


def _bin_frames(frames: np.ndarray, max_pixels: int) -> np.ndarray:
    """Sum ``(n, H, W)`` frames over f x f pixel bins until a frame holds <= ``max_pixels``."""
    n, h, w = frames.shape
    f = 1
    while (h // f) * (w // f) > max_pixels and min(h, w) // (2 * f) >= 4:
        f *= 2
    if f == 1:
        return frames
    hh, ww = (h // f) * f, (w // f) * f
    return frames[:, :hh, :ww].reshape(n, hh // f, f, ww // f, f).sum(axis=(2, 4))


def _movie_reference(movie: Movie, p: dict[str, Any]) -> np.ndarray:
    """Reference image: the mean of the best-correlated early frames, registered once."""
    import scipy.fft

    # Bounded like a block, but never fewer frames than are averaged.
    cap = max(p["n_average"], 4 * _BLOCK_ELEMENTS // int(np.prod(movie.shape[1:])))
    n = min(movie.n_frames, p["n_reference"], cap)
    frames = movie.get_data(0, n)
    nonfinite, _ = _fill_nonfinite(frames)
    flat = frames.reshape(n, -1)
    usable = (nonfinite < p["gap_nan_fraction"]) & (np.ptp(flat, axis=1) > 0)
    if not usable.any():
        # Look further than the first frames before giving up.
        usable_frames = _first_usable_frames(movie, p, n)
        if usable_frames is None:
            raise DataValueError(
                "The movie has no usable frame (every frame is NaN, inf or constant); check "
                "that the right file or channel was read."
            )
        frames = usable_frames
    else:
        frames = frames[usable]
    n = len(frames)
    k = min(p["n_average"], n)
    if n > k:
        small = _bin_frames(frames, _REF_PIXELS).reshape(n, -1).astype(np.float64)
        small -= small.mean(axis=1, keepdims=True)
        small /= np.maximum(np.linalg.norm(small, axis=1, keepdims=True), 1e-30)
        corr = small @ small.T
        top = np.sort(corr, axis=1)[:, -k:]
        best = int(np.argmax(top.mean(axis=1)))
        members = np.argsort(corr[best])[-k:]
        frames = frames[members]
    initial = frames.mean(axis=0)
    if len(frames) == 1:
        return initial.astype(np.float32)
    # Register the members to their mean, undo their shifts and average again.
    shape = initial.shape
    taper = _edge_taper(shape)
    gauss = _gaussian_spectrum(shape, p["smooth_sigma"])
    ref_conj = np.conj(scipy.fft.rfft2((initial - initial.mean()) * taper))
    prepared = (frames - frames.mean(axis=(1, 2), keepdims=True)) * taper
    spec = scipy.fft.rfft2(prepared, workers=p["workers"])
    shifts, _ = _phase_correlate(spec, ref_conj, gauss, shape, p["workers"])
    ky, kx = _frequency_grid(shape)
    phase = np.exp(
        2j * np.pi * (shifts[:, 0, None, None] * ky[None] + shifts[:, 1, None, None] * kx[None])
    )
    aligned = scipy.fft.irfft2(
        scipy.fft.rfft2(frames, workers=p["workers"]) * phase, s=shape, workers=p["workers"]
    )
    return aligned.mean(axis=0).astype(np.float32)


def _first_usable_frames(movie: Movie, p: dict[str, Any], skip: int) -> np.ndarray | None:
    """Up to ``n_average`` usable frames after the first ``skip``, or ``None``."""
    found: list[np.ndarray] = []
    step = max(1, _BLOCK_ELEMENTS // int(np.prod(movie.shape[1:])))
    for a in range(skip, movie.n_frames, step):
        block = movie.get_data(a, min(movie.n_frames, a + step))
        nonfinite, _ = _fill_nonfinite(block)
        ok = (nonfinite < p["gap_nan_fraction"]) & (np.ptp(block.reshape(len(block), -1), 1) > 0)
        found.extend(block[ok][: p["n_average"] - len(found)])
        if len(found) >= p["n_average"]:
            break
    return np.stack(found) if found else None


def _scan_movie(
    movie: Movie, reference: np.ndarray, p: dict[str, Any], progress_bar: bool
) -> dict[str, Any]:
    """One pass over the movie in blocks: per-frame statistics, shifts and SNR sums."""
    import scipy.fft

    n, h, w = movie.shape
    shape = (h, w)
    block = p["block_size"] or max(1, _BLOCK_ELEMENTS // (h * w))
    taper = _edge_taper(shape)
    gauss = _gaussian_spectrum(shape, p["smooth_sigma"])
    ref = np.asarray(reference, dtype=np.float32)
    ref_conj = np.conj(scipy.fft.rfft2((ref - ref.mean()) * taper))

    out = {
        "mean": np.zeros(n),
        "std": np.zeros(n),
        "nonfinite": np.zeros(n),
        "max": np.full(n, -np.inf),
        "min": np.zeros(n),
        "n_at_max": np.zeros(n, dtype=np.int64),
        "repeated": np.zeros(n, dtype=bool),
        "constant": np.zeros(n, dtype=bool),
        "shift": np.full((n, 2), np.nan),
        "peak": np.full(n, np.nan),
    }
    frame_sum = np.zeros(shape)
    n_summed = 0
    diff_sq = np.zeros(shape)
    n_diffs = 0
    previous: np.ndarray | None = None  # last frame of the previous block (filled)
    previous_ok = False

    for chunk, data in movie.iter_chunks(chunk_size=block, progress_bar=progress_bar):
        a, b = chunk.start, chunk.stop
        nonfinite, mean = _fill_nonfinite(data)
        flat = data.reshape(len(data), -1)
        centred = flat - mean[:, None].astype(np.float32)
        std = np.sqrt(np.einsum("ij,ij->i", centred, centred, dtype=np.float64) / flat.shape[1])
        del centred
        fmax = flat.max(axis=1)
        fmin = flat.min(axis=1)
        at_max = (flat == fmax[:, None]).sum(axis=1)
        out["mean"][a:b] = mean
        out["std"][a:b] = std
        out["nonfinite"][a:b] = nonfinite
        out["max"][a:b] = np.where(nonfinite < 1.0, fmax, -np.inf)
        out["min"][a:b] = fmin
        out["n_at_max"][a:b] = at_max
        out["constant"][a:b] = fmax == fmin
        ok = (nonfinite < p["gap_nan_fraction"]) & (fmax > fmin)

        # Frame-to-frame differences (the previous block's last frame leads this block's).
        lead = data[:1] if previous is None else previous[None]
        before = np.concatenate([lead, data[:-1]])
        diff = data - before
        flat_diff = diff.reshape(len(data), -1)
        same = ~np.any(flat_diff, axis=1)
        if previous is None:
            same[0] = False
        ok_before = np.concatenate([[previous_ok], ok[:-1]])
        repeated = same & ok & ok_before
        out["repeated"][a:b] = repeated
        pair = ok & ok_before & ~repeated
        if previous is None:
            pair[0] = False
        usable = ok & ~repeated
        if pair.any():
            d = flat_diff if pair.all() else flat_diff[pair]
            diff_sq += np.einsum("ij,ij->j", d, d, dtype=np.float64).reshape(shape)
            n_diffs += int(pair.sum())
        if usable.any():
            frame_sum += (data if usable.all() else data[usable]).sum(axis=0, dtype=np.float64)
            n_summed += int(usable.sum())
        previous, previous_ok = data[-1].copy(), bool(ok[-1])

        if ok.any():
            sel = np.flatnonzero(ok)
            prepared = data[sel] - mean[sel, None, None].astype(np.float32)
            prepared *= taper
            spec = scipy.fft.rfft2(prepared, workers=p["workers"])
            shifts, peaks = _phase_correlate(spec, ref_conj, gauss, shape, p["workers"])
            out["shift"][a + sel] = shifts
            out["peak"][a + sel] = peaks

    noise = np.sqrt(diff_sq / max(n_diffs, 1) / 2.0)
    mean_img = frame_sum / max(n_summed, 1)
    out["snr_map"] = np.divide(
        mean_img, noise, out=np.zeros(shape), where=(noise > 0) & (n_diffs > 0)
    ).astype(np.float32)
    return out
