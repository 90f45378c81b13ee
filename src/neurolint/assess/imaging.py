"""Quality of imaging movies (two-photon, widefield): motion, blank frames, brightness spikes and
steps, saturation, bleaching and a per-pixel SNR map.

The movie is read once, in blocks of frames, so memory is bounded by the block. Per frame:

- **motion**: rigid shift against a reference image by phase correlation (whitened cross-power
  spectrum, Gaussian-smoothed, sub-pixel by a 3-point Gaussian fit of the peak; one FFT per
  frame, vectorised over the block). The reference (:meth:`MovieDetector.fit`) is the average
  of the early frames that correlate best with one another, registered to each other once.
- **gap**: blank or dropped frames: mostly NaN/inf, constant (all zero included), or an exact
  repeat of the frame before (a dropped frame filled by repetition).
- **saturation**: frames with a fraction of pixels at the movie's maximum (the clipping level:
  the dtype's maximum for saturated integer data).
- **intensity_spike**: outliers of the frame mean (one to a few frames) against a running
  median (robust z-score and a least relative change), and sudden sustained brightness steps
  (median of the frames after against the frames before); ``extras["feature"]`` is
  ``"frame_mean_change"`` or ``"brightness_step"``.
- **motion** events: frame-to-frame jumps larger than ``motion_threshold`` pixels, and frames
  displaced from the reference by more than ``max_displacement`` pixels, among the frames that
  match the reference better than chance (unstructured frames have no meaningful shift).
- **bleaching**: exponential fit of the frame mean (fraction lost over the movie); a severe loss
  is reported as an ``anomaly`` (the vocabulary has no bleaching kind).
- **SNR map**: temporal mean over the noise, the noise being the RMS frame-to-frame difference
  over sqrt(2) (insensitive to slow changes).
- **frame quality** in [0, 1]: the registration peak over the movie's median peak, 0 on gap
  frames and at most 0.5 on frames inside any event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import DataValueError, ParameterError, ShapeError
from ..core.findings import Finding
from ..core.imaging import Movie
from ..core.validate import check_positive
from .base import Detection, runs

__all__ = ["MovieDetector"]

# Pixels (frames x pixels per frame) read and transformed at once: ~8 MB of float32.
_BLOCK_ELEMENTS = 1 << 21
# Frames looked at (and pixels per frame, after binning) when choosing the reference.
_REF_PIXELS = 64 * 64
# Pixels at the maximum needed before a frame can count as saturated (a lone bright pixel
# attains the maximum of any movie).
_MIN_SATURATED_PIXELS = 3


# -- helpers shared with fmri.py ------------------------------------------------------------


def _confidence(value: float, threshold: float) -> float:
    """0.5 at the threshold, rising towards 1 as ``value`` exceeds it (2x: 0.75, 5x: 0.9)."""
    ratio = abs(float(value)) / max(abs(float(threshold)), 1e-30)
    return float(np.clip(1.0 - 0.5 / max(ratio, 1e-30), 0.5, 1.0))


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


# -- the movie detector ---------------------------------------------------------------------


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


class MovieDetector:
    """Find motion, blank frames, brightness spikes and steps, saturation and bleaching in a
    movie, with per-frame motion and quality traces and a per-pixel SNR map.

    Parameters
    ----------
    motion_threshold : float
        A jump of more than this many pixels between consecutive frames is a ``motion`` event.
        default: 1.0.
    max_displacement : float | None
        Frames displaced from the reference by more than this many pixels are a ``motion``
        event. default: ``None`` (a tenth of the smaller frame side).
    spike_threshold : float
        Robust z-score (MAD units) of the frame mean against its running median above which a
        frame is an ``intensity_spike``. default: 8.
    spike_min_change : float
        ... and the least relative change of the frame mean (both must hold). default: 0.05.
    spike_window : int
        Frames in the running median; spikes up to half of it long are found. default: 7.
    step_threshold : float
        Robust z-score of a brightness step (median of ``step_window`` frames after against
        before) above which it is reported. default: 8.
    step_min_change : float
        ... and the least relative size of the step. default: 0.1.
    step_window : int
        Frames on each side of a step. default: 15.
    saturation_fraction : float
        Fraction of a frame's pixels at the movie's maximum above which the frame is
        saturated; at least 3 pixels are needed. default: 0.001.
    gap_nan_fraction : float
        Fraction of NaN/inf pixels above which a frame counts as missing. default: 0.5.
    bleaching_threshold : float | None
        Fraction of brightness lost over the movie (exponential fit) above which an
        ``anomaly`` finding reports it; ``None`` never reports it. default: 0.5.
    n_reference : int
        Early frames examined to build the reference. default: 200.
    n_average : int
        Best-correlated frames averaged into the reference. default: 20.
    smooth_sigma : float
        Gaussian smoothing (pixels) of the phase correlation. default: 1.15.
    block_size : int | None
        Frames read and transformed at once (bounds memory). default: ``None`` (about 4
        million pixels per block).
    n_jobs : int
        Threads for the FFTs; -1 uses every core. default: 1.
    progress_bar : bool
        Show a progress bar while reading. default: ``False``.

    Attributes
    ----------
    reference_ : numpy.ndarray
        ``(H, W)`` reference image, set by :meth:`fit`.
    frame_shape_ : tuple of int
    """

    detector_name = "imaging"

    def __init__(
        self,
        *,
        motion_threshold: float = 1.0,
        max_displacement: float | None = None,
        spike_threshold: float = 8.0,
        spike_min_change: float = 0.05,
        spike_window: int = 7,
        step_threshold: float = 8.0,
        step_min_change: float = 0.1,
        step_window: int = 15,
        saturation_fraction: float = 0.001,
        gap_nan_fraction: float = 0.5,
        bleaching_threshold: float | None = 0.5,
        n_reference: int = 200,
        n_average: int = 20,
        smooth_sigma: float = 1.15,
        block_size: int | None = None,
        n_jobs: int = 1,
        progress_bar: bool = False,
    ) -> None:
        self.motion_threshold = motion_threshold
        self.max_displacement = max_displacement
        self.spike_threshold = spike_threshold
        self.spike_min_change = spike_min_change
        self.spike_window = spike_window
        self.step_threshold = step_threshold
        self.step_min_change = step_min_change
        self.step_window = step_window
        self.saturation_fraction = saturation_fraction
        self.gap_nan_fraction = gap_nan_fraction
        self.bleaching_threshold = bleaching_threshold
        self.n_reference = n_reference
        self.n_average = n_average
        self.smooth_sigma = smooth_sigma
        self.block_size = block_size
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar

    # -- parameters ------------------------------------------------------------------------
    def _validated(self) -> dict[str, Any]:
        p = {
            "motion_threshold": check_positive("motion_threshold", self.motion_threshold),
            "spike_threshold": check_positive("spike_threshold", self.spike_threshold),
            "spike_min_change": check_positive(
                "spike_min_change", self.spike_min_change, allow_zero=True
            ),
            "spike_window": _check_int("spike_window", self.spike_window, 3),
            "step_threshold": check_positive("step_threshold", self.step_threshold),
            "step_min_change": check_positive(
                "step_min_change", self.step_min_change, allow_zero=True
            ),
            "step_window": _check_int("step_window", self.step_window, 2),
            "saturation_fraction": _check_fraction("saturation_fraction", self.saturation_fraction),
            "gap_nan_fraction": _check_fraction("gap_nan_fraction", self.gap_nan_fraction),
            "n_reference": _check_int("n_reference", self.n_reference, 1),
            "n_average": _check_int("n_average", self.n_average, 1),
            "smooth_sigma": check_positive("smooth_sigma", self.smooth_sigma, allow_zero=True),
            "workers": _check_workers(self.n_jobs),
        }
        p["max_displacement"] = (
            None
            if self.max_displacement is None
            else check_positive("max_displacement", self.max_displacement)
        )
        p["bleaching_threshold"] = (
            None
            if self.bleaching_threshold is None
            else _check_fraction("bleaching_threshold", self.bleaching_threshold)
        )
        p["block_size"] = (
            None if self.block_size is None else _check_int("block_size", self.block_size, 1)
        )
        return p

    @staticmethod
    def _check_movie(movie: Any) -> Movie:
        if not isinstance(movie, Movie):
            from ..core.imaging import VolumeSeries

            if isinstance(movie, VolumeSeries):
                raise ShapeError(
                    "MovieDetector takes a Movie (frames of 2-D images); use FmriDetector for "
                    "a VolumeSeries."
                )
            raise ShapeError(
                f"MovieDetector takes a neurolint Movie, not {type(movie).__name__}; wrap a "
                "(frames, height, width) array with neurolint.Movie(data, frame_rate)."
            )
        return movie

    # -- reference -------------------------------------------------------------------------
    def fit(self, movie: Movie) -> MovieDetector:
        """Build the motion reference from the movie's early frames.

        Of the first ``n_reference`` usable frames, the one whose ``n_average`` best
        correlations with the others are highest is chosen with those partners; they are
        registered to their mean and averaged again.

        Parameters
        ----------
        movie : Movie

        Returns
        -------
        MovieDetector
            ``self``, with ``reference_`` and ``frame_shape_`` set.
        """
        p = self._validated()
        movie = self._check_movie(movie)
        self.reference_ = _movie_reference(movie, p)
        self.frame_shape_ = tuple(movie.shape[1:])
        return self

    # -- detection -------------------------------------------------------------------------
    def detect(self, movie: Movie) -> Detection:
        """Assess a movie.

        Without a prior :meth:`fit`, the reference is built from this movie (and not kept).

        Parameters
        ----------
        movie : Movie

        Returns
        -------
        Detection
            ``detector="imaging"``; events of kinds ``motion``, ``gap``, ``saturation``,
            ``intensity_spike`` and ``anomaly`` (severe bleaching), each with ``extras``
            ``{"feature", "value", "threshold", ...}``; ``traces``: ``motion`` (T, 2) shift in
            pixels (rows, columns) of each frame's content against the reference, NaN on gap
            frames and on frames that match the reference no better than chance (see
            ``registered``); ``frame_quality`` (T,) in [0, 1]; ``frame_mean`` (T,);
            ``snr_map`` (H, W); ``bleaching`` (fraction lost, float); also
            ``registration_peak`` (T,, 1 for a perfect match), ``registered`` (T,, bool),
            ``saturated_fraction`` (T,), ``frame_mean_change`` (T,, relative deviation from
            the running median) and ``reference`` (H, W).
        """
        p = self._validated()
        movie = self._check_movie(movie)
        shape = tuple(movie.shape[1:])
        reference = getattr(self, "reference_", None)
        if reference is None:
            reference = _movie_reference(movie, p)
        elif tuple(self.frame_shape_) != shape:
            raise ShapeError(
                f"The detector was fitted on {self.frame_shape_[0]} x {self.frame_shape_[1]} "
                f"frames but this movie has {shape[0]} x {shape[1]}; fit it on this movie."
            )
        stats = _scan_movie(movie, reference, p, self.progress_bar)
        return _movie_detection(movie, stats, reference, p)


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


def _steps(
    values: np.ndarray, level: float, width: int, z_thr: float, min_change: float
) -> tuple[list[int], np.ndarray, float]:
    """Positions ``k`` (first frame after) of sustained steps, their relative sizes, threshold."""
    n = len(values)
    if n < 2 * width:
        return [], np.zeros(n), np.inf
    from numpy.lib.stride_tricks import sliding_window_view

    med = np.median(sliding_window_view(values, width), axis=1)  # med[i] = median(v[i:i+w])
    step = np.zeros(n)
    k = np.arange(width, n - width + 1)
    step[k] = (med[k] - med[k - width]) / level
    scale = float(_robust_scale(step[k]))
    threshold = max(z_thr * scale, min_change)
    size = np.abs(step)
    # Medians flag a step on a plateau of positions; the difference of means peaks sharply
    # at the step itself, so it places it.
    cs = np.concatenate([[0.0], np.cumsum(values)])
    sharp = np.zeros(n)
    sharp[k] = np.abs(cs[k + width] - 2 * cs[k] + cs[k - width])
    out = []
    for start, stop in runs(size > threshold):
        out.append(start + int(np.argmax(sharp[start:stop])))
    # Keep the largest of steps closer than a window (one step seen from both sides).
    kept: list[int] = []
    for pos in sorted(out, key=lambda i: -size[i]):
        if all(abs(pos - q) >= width for q in kept):
            kept.append(pos)
    return sorted(kept), step, threshold


def _bleaching(mean: np.ndarray, valid: np.ndarray, rate: float) -> float:
    """Fraction of brightness lost from the first to the last frame (exponential fit of the
    frame mean, on the medians of up to 50 blocks of frames so activity and spikes do not
    steer it); NaN when the mean is not positive."""
    idx = np.flatnonzero(valid)
    if idx.size < 4:
        return float("nan")
    bins = np.array_split(idx, min(50, idx.size // 2))
    t = np.array([np.median(b) for b in bins]) / rate
    y = np.array([np.median(mean[b]) for b in bins])
    if np.any(y <= 0) or np.ptp(t) == 0:
        return float("nan")
    slope = np.polyfit(t, np.log(y), 1)[0]
    span = (idx[-1] - idx[0]) / rate
    return float(1.0 - np.exp(slope * span))


def _movie_detection(
    movie: Movie, s: dict[str, Any], reference: np.ndarray, p: dict[str, Any]
) -> Detection:
    """Turn the per-frame statistics into findings and traces."""
    n, h, w = movie.shape
    rate = movie.frame_rate
    name = MovieDetector.detector_name
    events: list[Finding] = []

    nan_gap = s["nonfinite"] >= p["gap_nan_fraction"]
    const_gap = ~nan_gap & s["constant"]
    repeated = s["repeated"]
    gap = nan_gap | const_gap | repeated
    valid = ~gap
    if not valid.any():
        raise DataValueError(
            "The movie has no usable frame (every frame is NaN, inf or constant); check that "
            "the right file or channel was read."
        )
    for mask, feature, value, threshold in (
        (nan_gap, "nonfinite_fraction", s["nonfinite"], p["gap_nan_fraction"]),
        (const_gap, "frame_range", s["max"] - s["min"], 0.0),
        (repeated, "repeated_frame", repeated.astype(float), 1.0),
    ):
        for a, b in runs(mask):
            events.append(
                _event(
                    "gap",
                    a,
                    b,
                    rate,
                    name,
                    feature,
                    float(value[a:b].max()),
                    threshold,
                    confidence=1.0,
                    frames=[a, b],
                )
            )

    # Saturation: pixels at the movie's maximum (the clipping level). Ties at a frame's own
    # maximum are common in quantised (photon-count) data; at the movie's, they are not.
    top = float(s["max"][valid].max())
    sat = np.where(valid & (s["max"] == top), s["n_at_max"] / float(h * w), 0.0)
    saturated = (sat > p["saturation_fraction"]) & (s["n_at_max"] >= _MIN_SATURATED_PIXELS)
    for a, b in runs(saturated):
        events.append(
            _event(
                "saturation",
                a,
                b,
                rate,
                name,
                "saturated_fraction",
                float(sat[a:b].max()),
                p["saturation_fraction"],
                frames=[a, b],
                saturation_value=top,
            )
        )

    # Brightness: spikes and steps of the frame mean, over the usable frames only.
    idx = np.flatnonzero(valid)
    values = s["mean"][idx]
    med_mean = float(np.median(values))
    level = med_mean if med_mean > 0 else max(float(np.median(s["std"][idx])), 1e-30)
    spike_mask = np.zeros(n, dtype=bool)
    rel_dev = np.zeros(n)
    spike_thr = float("inf")
    if idx.size >= 3:
        flags, rel, spike_thr = _outliers(
            values, level, p["spike_window"], p["spike_threshold"], p["spike_min_change"]
        )
        spike_thr = float(spike_thr)
        spike_mask[idx[flags]] = True
        rel_dev[idx] = rel
        for a, b in runs(flags):
            frames = idx[a:b]
            events.append(
                _event(
                    "intensity_spike",
                    int(frames[0]),
                    int(frames[-1]) + 1,
                    rate,
                    name,
                    "frame_mean_change",
                    float(np.abs(rel[a:b]).max()),
                    spike_thr,
                    frames=[int(frames[0]), int(frames[-1]) + 1],
                )
            )
    step_pos, step_size, step_thr = _steps(
        values, level, p["step_window"], p["step_threshold"], p["step_min_change"]
    )
    step_mask = np.zeros(n, dtype=bool)
    for k in step_pos:
        frame = int(idx[k])
        step_mask[frame] = True
        events.append(
            _event(
                "intensity_spike",
                frame,
                frame + 1,
                rate,
                name,
                "brightness_step",
                float(abs(step_size[k])),
                step_thr,
                frames=[frame, frame + 1],
                relative_step=float(step_size[k]),
            )
        )

    # Motion: jumps between consecutive usable frames, and displacement from the reference,
    # where the registration is better than chance (twice the peak unrelated images give).
    peak = s["peak"]
    registered = valid & (np.nan_to_num(peak) >= 2.0 * _null_peak((h, w), p["smooth_sigma"]))
    shift = np.where(registered[:, None], s["shift"], np.nan)
    jump = np.zeros(n)
    idx = np.flatnonzero(registered)
    if idx.size >= 2:
        delta = np.diff(shift[idx], axis=0)
        size = np.hypot(delta[:, 0], delta[:, 1])
        # Across gap frames the scene drifts for longer: take the typical frame-to-frame
        # drift off for each extra frame, so slow drift is not charged as a jump.
        elapsed = np.diff(idx)
        typical = float(np.median(size[elapsed == 1])) if np.any(elapsed == 1) else 0.0
        jump[idx[1:]] = np.maximum(size - typical * (elapsed - 1), 0.0)
    jump_mask = jump > p["motion_threshold"]
    for a, b in runs(jump_mask):
        k = a + int(np.argmax(jump[a:b]))
        prev = idx[np.searchsorted(idx, k) - 1]
        dy, dx = (shift[k] - shift[prev]).tolist()
        # After gap frames the jump happened somewhere since the last usable frame.
        a = int(idx[np.searchsorted(idx, a) - 1]) + 1
        events.append(
            _event(
                "motion",
                a,
                b,
                rate,
                name,
                "jump_px",
                float(jump[a:b].max()),
                p["motion_threshold"],
                frames=[a, b],
                dy=dy,
                dx=dx,
            )
        )
    max_disp = p["max_displacement"] or 0.1 * min(h, w)
    disp = np.where(registered, np.hypot(shift[:, 0], shift[:, 1]), 0.0)
    disp_mask = disp > max_disp
    for a, b in runs(disp_mask):
        events.append(
            _event(
                "motion",
                a,
                b,
                rate,
                name,
                "displacement_px",
                float(disp[a:b].max()),
                max_disp,
                frames=[a, b],
            )
        )

    bleaching = _bleaching(s["mean"], valid & ~spike_mask, rate)
    if (
        p["bleaching_threshold"] is not None
        and np.isfinite(bleaching)
        and bleaching > p["bleaching_threshold"]
    ):
        events.append(
            _event(
                "anomaly",
                0,
                n,
                rate,
                name,
                "bleaching",
                bleaching,
                p["bleaching_threshold"],
                frames=[0, n],
            )
        )

    # Quality: registration peak against the typical frame, 0 on gaps, at most 0.5 in events.
    typical = float(np.nanmedian(peak[valid])) if valid.any() else 1.0
    quality = np.clip(np.nan_to_num(peak / max(typical, 1e-30)), 0.0, 1.0)
    flagged = spike_mask | step_mask | jump_mask | disp_mask | saturated
    quality = np.where(flagged, np.minimum(quality, 0.5), quality)
    quality[gap] = 0.0

    events.sort(key=lambda e: (e.onset, e.kind))
    traces = {
        "motion": shift,
        "frame_quality": quality.astype(np.float32),
        "frame_mean": np.where(s["nonfinite"] < 1.0, s["mean"], np.nan),
        "snr_map": s["snr_map"],
        "bleaching": bleaching,
        "registration_peak": peak,
        "registered": registered,
        "saturated_fraction": sat,
        "frame_mean_change": rel_dev,
        "reference": np.asarray(reference, dtype=np.float32),
    }
    return Detection(detector=name, events=events, traces=traces)
