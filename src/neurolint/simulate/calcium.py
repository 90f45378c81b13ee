"""Two-photon calcium imaging: somata with GCaMP-like transients, neuropil, bleaching, shot noise
and rigid motion."""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import Finding
from ..core.imaging import Movie
from ..core.validate import check_positive
from ._truth import GroundTruth, Simulation

__all__ = ["simulate_calcium"]

# Edge softness of a footprint, as a fraction of the cell radius (about half a pixel at 5 px).
_SOFT_EDGE = 0.1
# Jumps smaller than this (pixels) are part of the drift, not logged motion events.
_JUMP_LOG_PX = 1.0
# Pixels (frames x canvas pixels) built at once; bounds the working memory (~16 MB).
_CHUNK_ELEMENTS = 1 << 21


def _as_pair(name: str, value, cast) -> tuple:
    try:
        pair = tuple(cast(v) for v in value)
    except TypeError:
        raise ParameterError(f"{name}={value!r} must be a pair such as (64, 64).") from None
    if len(pair) != 2:
        raise ParameterError(f"{name}={value!r} must have two entries (rows, columns).")
    return pair


def _n_frames(n_frames: int | None, duration: float | None, frame_rate: float) -> int:
    if n_frames is not None and duration is not None:
        raise ParameterError("Give n_frames or duration, not both.")
    if n_frames is not None:
        if int(n_frames) != n_frames or n_frames < 2:
            raise ParameterError(f"n_frames={n_frames!r} must be an integer >= 2.")
        return int(n_frames)
    seconds = 30.0 if duration is None else check_positive("duration", duration)
    n = round(seconds * frame_rate)
    if n < 2:
        raise ParameterError(f"duration={duration!r} gives fewer than 2 frames; make it longer.")
    return n


def _place_cells(
    rng: np.random.Generator, n_cells: int, canvas: tuple[int, int], pad: int, radius: np.ndarray
) -> np.ndarray:
    """Cell centres (canvas pixels) in the field of view, neighbours at least 1.2 radii apart.

    Partial overlap is allowed (two radii would forbid it); greedy acceptance keeps it cheap.
    """
    h, w = canvas[0] - 2 * pad, canvas[1] - 2 * pad
    margin = 0.5 * radius
    lo, hi = pad + margin, pad + np.array([h, w]) - 1 - margin
    if np.any(hi <= lo):
        raise ParameterError("cell_radius is too large for the image; use a smaller radius.")
    candidates = rng.uniform(lo, hi, size=(max(200, 60 * n_cells), 2))
    min_dist = 1.2 * float(radius.mean())
    chosen: list[np.ndarray] = []
    for c in candidates:
        if not chosen or np.min(np.hypot(*(np.array(chosen) - c).T)) >= min_dist:
            chosen.append(c)
            if len(chosen) == n_cells:
                return np.array(chosen)
    raise ParameterError(
        f"{n_cells} cells do not fit in a {h} x {w} image; use fewer cells, a smaller "
        "cell_radius or a larger shape."
    )


def _footprints(
    rng: np.random.Generator, centres: np.ndarray, radius: np.ndarray, canvas: tuple[int, int]
) -> np.ndarray:
    """Soft-edged elliptical somata with a dimmer nucleus (GCaMP is cytosolic), peak 1."""
    n = len(centres)
    axes = radius[None, :] * rng.uniform(0.8, 1.25, size=(n, 2))
    angle = rng.uniform(0, np.pi, size=n)
    yy, xx = np.mgrid[0 : canvas[0], 0 : canvas[1]].astype(np.float64)
    dy = yy[None] - centres[:, 0, None, None]
    dx = xx[None] - centres[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (cos * dy + sin * dx) / axes[:, 0, None, None]
    v = (-sin * dy + cos * dx) / axes[:, 1, None, None]
    r = np.sqrt(u**2 + v**2)
    body = 1.0 / (1.0 + np.exp((r - 1.0) / _SOFT_EDGE))
    nucleus = 1.0 - 0.4 * np.exp(-(r**2) / (2 * 0.35**2))
    fp = body * nucleus
    fp /= fp.max(axis=(1, 2), keepdims=True)
    fp[fp < 0.01] = 0.0  # exact zeros beyond the soft edge keep footprints sparse
    return fp


def _dff_traces(
    spike_times: np.ndarray,
    spike_cells: np.ndarray,
    n_cells: int,
    n_frames: int,
    frame_rate: float,
    amplitude: float,
    tau_rise: float,
    tau_decay: float,
) -> np.ndarray:
    """Double-exponential transients sampled exactly at the frame times (no binning error).

    Each exponential is an IIR filter over frames; a spike between frames enters at the next
    frame with the decay it has already undergone.
    """
    from scipy.signal import lfilter

    t_peak = math.log(tau_decay / tau_rise) * tau_decay * tau_rise / (tau_decay - tau_rise)
    peak = math.exp(-t_peak / tau_decay) - math.exp(-t_peak / tau_rise)
    first = np.ceil(spike_times * frame_rate - 1e-9).astype(np.int64)
    keep = first < n_frames
    first, cells, lag = first[keep], spike_cells[keep], first[keep] / frame_rate - spike_times[keep]
    out = np.zeros((n_cells, n_frames))
    for tau, sign in ((tau_decay, 1.0), (tau_rise, -1.0)):
        drive = np.zeros((n_cells, n_frames))
        np.add.at(drive, (cells, first), np.exp(-lag / tau))
        out += sign * lfilter([1.0], [1.0, -math.exp(-1.0 / (frame_rate * tau))], drive, axis=1)
    return out * (amplitude / peak)


def _slow_noise(rng: np.random.Generator, n: int, frame_rate: float, cutoff: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian noise low-passed (FFT brick wall) below ``cutoff`` Hz."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec[np.fft.rfftfreq(n, 1.0 / frame_rate) > cutoff] = 0.0
    spec[0] = 0.0
    x = np.fft.irfft(spec, n=n)
    std = x.std()
    # A movie shorter than 1 / cutoff has no slow component at all.
    return x / std if std > 1e-9 else np.zeros(n)


def _motion_shifts(
    rng: np.random.Generator,
    n_frames: int,
    frame_rate: float,
    motion: float,
    jump_rate: float,
    subpixel: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (dy, dx): a bounded random walk (AR(1), ~1 s memory) plus occasional jumps.

    Returns the shifts and the frames where a jump happens.
    """
    from scipy.signal import lfilter

    a = math.exp(-1.0 / frame_rate)
    walk = lfilter([1.0], [1.0, -a], rng.standard_normal((2, n_frames)), axis=1)
    walk *= (motion / 4.0) * math.sqrt(1 - a * a)  # stationary std motion/4
    n_jumps = rng.poisson(jump_rate * n_frames / frame_rate)
    jumps = np.unique(rng.integers(1, n_frames, size=n_jumps))
    offsets = np.zeros((2, n_frames))
    targets = rng.uniform(-motion / 2, motion / 2, size=(2, len(jumps)))
    idx = np.searchsorted(jumps, np.arange(n_frames), side="right") - 1  # last jump so far
    offsets[:, idx >= 0] = targets[:, idx[idx >= 0]]
    shifts = np.clip(offsets + walk - walk[:, :1], -motion, motion).T
    if not subpixel:
        shifts = np.round(shifts)
    return shifts, jumps


def _apply_shifts(canvas: np.ndarray, shifts: np.ndarray, pad: int) -> np.ndarray:
    """Move frame ``t``'s content by ``shifts[t]`` pixels (cubic spline), then crop the pad."""
    from scipy.ndimage import shift as nd_shift

    h, w = canvas.shape[1] - 2 * pad, canvas.shape[2] - 2 * pad
    out = np.empty((canvas.shape[0], h, w), dtype=canvas.dtype)
    # One call per frame (not per pixel): a 3-D spline would mix neighbouring frames.
    for t, s in enumerate(shifts):
        moved = canvas[t] if not s.any() else nd_shift(canvas[t], s, order=3, mode="nearest")
        out[t] = moved[pad : pad + h, pad : pad + w]
    return out


def simulate_calcium(
    shape: tuple[int, int] = (64, 64),
    duration: float | None = None,
    frame_rate: float = 30.0,
    *,
    n_frames: int | None = None,
    n_cells: int = 20,
    firing_rate: float = 0.5,
    spike_amplitude: float = 0.5,
    tau_rise: float = 0.05,
    tau_decay: float = 0.5,
    cell_radius: float = 5.0,
    photons_per_pixel: float = 50.0,
    neuropil: float = 0.5,
    bleaching: float = 0.1,
    motion: float | None = None,
    motion_jump_rate: float = 0.1,
    subpixel: bool = True,
    pixel_size: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
) -> Simulation:
    """Simulate a two-photon calcium imaging movie with known cells, spikes and motion.

    The resting image is normalised to a mean of 1 over the field of view; intensities are in
    those units. Each cell is a soft-edged ellipse with a dimmer nucleus (footprints overlap a
    little) whose brightness is ``F0 * (1 + dF/F)``, where dF/F is the sum of double-exponential
    transients (peak ``spike_amplitude`` per spike) driven by a homogeneous Poisson spike train.
    A spatially smooth neuropil slowly fluctuates (below 0.2 Hz), the whole field bleaches
    exponentially, and the recorded movie is ``Poisson(photons_per_pixel * clean) /
    photons_per_pixel``. With ``motion``, frame ``t`` shows the scene moved by ``shifts[t]``
    (rows, columns) pixels: a bounded random walk plus occasional jumps.

    Random streams are split by component, so the same seed with ``motion=None`` gives the
    same scene without motion (the way to rebuild the motion-free movie).

    Parameters
    ----------
    shape : tuple of 2 int
        Frame size (rows, columns) in pixels. default: (64, 64).
    duration : float | None
        Seconds; give this or ``n_frames``. default: ``None`` (30 s).
    frame_rate : float
        Frames per second. default: 30.
    n_frames : int | None
        Number of frames, instead of ``duration``. default: ``None``.
    n_cells : int
        Somata. default: 20.
    firing_rate : float
        Mean Poisson firing rate per cell, Hz. default: 0.5.
    spike_amplitude : float
        Peak dF/F of one isolated spike's transient. default: 0.5.
    tau_rise, tau_decay : float
        Rise and decay time constants of the transient, seconds (``tau_rise < tau_decay``).
        default: 0.05 and 0.5 (GCaMP6f-like).
    cell_radius : float
        Mean soma radius in micrometres. default: 5.
    photons_per_pixel : float
        Expected photon count of an average pixel at rest (sets the shot noise). default: 50.
    neuropil : float
        Neuropil brightness relative to an average cell's resting brightness; 0 for none.
        default: 0.5.
    bleaching : float
        Fraction of fluorescence lost by the end of the movie (exponential), in [0, 1).
        default: 0.1.
    motion : float | None
        Largest rigid shift in pixels; ``None`` or 0 for no motion. default: ``None``.
    motion_jump_rate : float
        Mean number of sudden jumps per second when ``motion`` is set. default: 0.1.
    subpixel : bool
        Sub-pixel shifts; ``False`` rounds them to whole pixels. default: ``True``.
    pixel_size : tuple of 2 float
        Pixel size in micrometres (rows, columns). default: (1.0, 1.0).
    seed : int
        Random seed; the same seed gives identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data``: :class:`~neurolint.core.imaging.Movie`, float32, ``(T, H, W)``.
        ``truth``: ``clean`` is the noiseless movie with the same motion;
        ``arrays`` hold ``footprints`` (n_cells, H, W) in the motion-free frame, ``centres``
        (n_cells, 2) pixels, ``spike_times`` (s) and ``spike_cells`` (index), ``traces``
        (n_cells, T) noiseless dF/F, ``baseline`` (n_cells,) resting brightness and
        ``shifts`` (T, 2) pixels (zeros without motion); ``events`` are ``"motion"`` jumps
        of at least 1 pixel; ``extras`` hold the mean photon count, the measured noise and
        single-spike SNR per pixel and the achieved firing rates.
    """
    frame_rate = check_positive("frame_rate", frame_rate)
    pair = _as_pair("shape", shape, float)
    if any(v != int(v) or v < 8 for v in pair):
        raise ParameterError(f"shape={shape!r} must be two integers >= 8.")
    h, w = (int(v) for v in pair)
    n_t = _n_frames(n_frames, duration, frame_rate)
    if int(n_cells) != n_cells or n_cells < 0:
        raise ParameterError(f"n_cells={n_cells!r} must be an integer >= 0.")
    n_cells = int(n_cells)
    firing_rate = check_positive("firing_rate", firing_rate, allow_zero=True)
    spike_amplitude = check_positive("spike_amplitude", spike_amplitude, allow_zero=True)
    tau_rise = check_positive("tau_rise", tau_rise)
    tau_decay = check_positive("tau_decay", tau_decay)
    if tau_rise >= tau_decay:
        raise ParameterError(
            f"tau_rise={tau_rise} must be shorter than tau_decay={tau_decay}; swap or fix them."
        )
    pixel = np.array(_as_pair("pixel_size", pixel_size, float))
    if np.any(pixel <= 0) or not np.all(np.isfinite(pixel)):
        raise ParameterError(f"pixel_size={pixel_size!r} must be two positive numbers.")
    radius = check_positive("cell_radius", cell_radius) / pixel  # in pixels, per axis
    photons = check_positive("photons_per_pixel", photons_per_pixel)
    neuropil = check_positive("neuropil", neuropil, allow_zero=True)
    bleaching = check_positive("bleaching", bleaching, allow_zero=True)
    if bleaching >= 1:
        raise ParameterError(f"bleaching={bleaching} must be below 1 (a fraction lost).")
    motion = 0.0 if motion is None else check_positive("motion", motion, allow_zero=True)
    jump_rate = check_positive("motion_jump_rate", motion_jump_rate, allow_zero=True)
    if n_cells == 0 and neuropil == 0:
        raise ParameterError("With no cells and no neuropil the movie is empty; add either.")
    params = {
        "shape": [h, w],
        "duration": duration,
        "frame_rate": frame_rate,
        "n_frames": n_frames,
        "n_cells": n_cells,
        "firing_rate": firing_rate,
        "spike_amplitude": spike_amplitude,
        "tau_rise": tau_rise,
        "tau_decay": tau_decay,
        "cell_radius": float(cell_radius),
        "photons_per_pixel": photons,
        "neuropil": neuropil,
        "bleaching": bleaching,
        "motion": motion,
        "motion_jump_rate": jump_rate,
        "subpixel": bool(subpixel),
        "pixel_size": pixel.tolist(),
        "seed": seed,
    }

    # Independent streams per component: changing motion leaves cells and spikes unchanged.
    streams = np.random.default_rng(seed).spawn(5)
    rng_cells, rng_spikes, rng_neuropil, rng_motion, rng_noise = streams
    pad = math.ceil(motion) + 3 if motion > 0 else 0  # content that moves into view
    canvas = (h + 2 * pad, w + 2 * pad)
    seconds = n_t / frame_rate
    times = np.arange(n_t) / frame_rate

    # Cells: footprints, resting brightness, spikes and dF/F.
    if n_cells:
        centres = _place_cells(rng_cells, n_cells, canvas, pad, radius)
        fp = _footprints(rng_cells, centres, radius, canvas)
        brightness = rng_cells.uniform(0.6, 1.4, size=n_cells)
    else:
        centres, fp, brightness = np.zeros((0, 2)), np.zeros((0, *canvas)), np.zeros(0)
    counts = rng_spikes.poisson(firing_rate * seconds, size=n_cells)
    spike_cells = np.repeat(np.arange(n_cells), counts)
    spike_times = rng_spikes.uniform(0.0, seconds, size=spike_cells.size)
    order = np.argsort(spike_times, kind="stable")
    spike_times, spike_cells = spike_times[order], spike_cells[order]
    traces = _dff_traces(
        spike_times, spike_cells, n_cells, n_t, frame_rate, spike_amplitude, tau_rise, tau_decay
    )

    # Neuropil: a smooth static map times slow, spatially smooth fluctuations (~10 %).
    from scipy.ndimage import gaussian_filter

    sigma = max(canvas) / 6.0
    maps = gaussian_filter(rng_neuropil.standard_normal((3, *canvas)), (0, sigma, sigma))
    maps = (maps - maps.mean(axis=(1, 2), keepdims=True)) / maps.std(axis=(1, 2), keepdims=True)
    static_np = neuropil * np.clip(1.0 + 0.2 * maps[0], 0.2, None)
    slow = np.stack([_slow_noise(rng_neuropil, n_t, frame_rate, 0.2) for _ in range(3)])
    fluct_maps = (0.05 * static_np * maps[1:]).reshape(2, -1)

    # Scene = neuropil + cells at rest + transients; normalised so the rest image has mean 1.
    cell_rest = np.tensordot(brightness, fp, axes=1)
    view = (slice(pad, pad + h), slice(pad, pad + w))
    scale = 1.0 / float((static_np + cell_rest)[view].mean())
    flat = (fp * brightness[:, None, None]).reshape(n_cells, -1)
    rest = (cell_rest + static_np).ravel()
    bleach = scale * (1.0 - bleaching) ** (times / seconds)

    if motion > 0:
        shifts, jumps = _motion_shifts(rng_motion, n_t, frame_rate, motion, jump_rate, subpixel)
    else:
        shifts, jumps = np.zeros((n_t, 2)), np.zeros(0, dtype=np.int64)

    # Movie, a block of frames at a time (bounded memory): scene, motion, shot noise.
    clean = np.empty((n_t, h, w), dtype=np.float32)
    noisy = np.empty((n_t, h, w), dtype=np.float32)
    clean_sum = 0.0
    resid_sum = np.zeros((h, w))
    resid_sq = np.zeros((h, w))
    step = max(1, _CHUNK_ELEMENTS // (canvas[0] * canvas[1]))
    for a in range(0, n_t, step):
        b = min(n_t, a + step)
        scene = traces[:, a:b].T @ flat
        scene += rest
        scene += slow[1:, a:b].T @ fluct_maps
        scene += (0.05 * slow[0, a:b])[:, None] * static_np.ravel()
        scene *= bleach[a:b, None]
        np.maximum(scene, 0.0, out=scene)
        scene = scene.reshape(b - a, *canvas)
        if motion > 0:
            scene = np.maximum(_apply_shifts(scene, shifts[a:b], pad), 0.0)
        counts_t = rng_noise.poisson(photons * scene)
        clean[a:b] = scene
        np.divide(counts_t, photons, out=noisy[a:b], casting="same_kind")
        del scene, counts_t
        # Measured on the output: the shot noise per pixel.
        resid = noisy[a:b] - clean[a:b]
        resid_sum += resid.sum(axis=0, dtype=np.float64)
        resid_sq += np.square(resid, dtype=np.float64).sum(axis=0)
        clean_sum += float(clean[a:b].sum(dtype=np.float64))
        del resid

    events = []
    for k in jumps.tolist():
        step = shifts[k] - shifts[k - 1]
        size = float(np.hypot(*step))
        if size >= _JUMP_LOG_PX:
            events.append(
                Finding(
                    onset=k / frame_rate,
                    duration=1.0 / frame_rate,
                    kind="motion",
                    detector="simulator",
                    extras={"frame": k, "dy": float(step[0]), "dx": float(step[1]), "size": size},
                )
            )

    # Measured on the output: shot noise and one spike's peak over it at each cell's peak pixel.
    resid_mean = resid_sum / n_t
    resid_std = np.sqrt(np.maximum(resid_sq / n_t - resid_mean**2, 0.0))
    footprints = fp[(slice(None), *view)]
    if n_cells:
        flat_fp = footprints.reshape(n_cells, -1)
        peak_px = flat_fp.argmax(axis=1)
        signal = spike_amplitude * brightness * scale * flat_fp[np.arange(n_cells), peak_px]
        snr = float(np.median(signal / np.maximum(resid_std.ravel()[peak_px], 1e-12)))
    else:
        snr = 0.0
    rates = counts / seconds
    extras = {
        "mean_photon_count": photons * clean_sum / clean.size,
        "noise_std": float(resid_std.mean()),
        "spike_snr": snr,
        "mean_firing_rate": float(rates.mean()) if n_cells else 0.0,
        "firing_rates": rates.tolist(),
        "n_spikes": int(spike_times.size),
        "max_shift": float(np.abs(shifts).max()),
    }
    arrays = {
        "footprints": footprints.astype(np.float32),
        "centres": centres - pad,
        "spike_times": spike_times,
        "spike_cells": spike_cells.astype(np.int64),
        "traces": traces.astype(np.float32),
        "baseline": brightness * scale,
        "shifts": shifts,
    }
    meta = {"simulated": "calcium", "seed": seed}
    pixel_um = (float(pixel[0]), float(pixel[1]))
    data = Movie(noisy, frame_rate, pixel_size=pixel_um, meta=meta)
    clean_movie = Movie(clean, frame_rate, pixel_size=pixel_um, meta=meta)
    truth = GroundTruth(
        simulator="calcium",
        params=params,
        events=events,
        channels=[],
        clean=clean_movie,
        arrays=arrays,
        extras=extras,
    )
    return Simulation(data, truth)
