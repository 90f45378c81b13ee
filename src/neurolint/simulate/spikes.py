"""Single-channel spike-sorting benchmarks in the style of Quiroga, Nadasdy & Ben-Shaul (2004).

The "Wave_clus" simulations: three spike classes with Poisson firing on a background made of
many attenuated spikes of other shapes, so that the noise has the spectrum of spikes, and a
noise level given as the noise standard deviation relative to the spikes' peak amplitude.
The original took its shapes from a database of 594 recorded average spikes; here every
shape comes from one smooth parametric family (an optional early positivity, an asymmetric
trough and a repolarisation hump) and the background draws 594 random members of it.

Reference: R. Quian Quiroga, Z. Nadasdy and Y. Ben-Shaul, "Unsupervised spike detection and
sorting with wavelets and superparamagnetic clustering", Neural Computation 16 (2004).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.channels import ChannelInfo
from ..core.errors import ParameterError
from ..core.findings import ChannelStatus
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._truth import GroundTruth, Simulation

__all__ = ["SPIKE_PRESETS", "simulate_spikes", "spike_waveform"]

# Shape parameters, times in ms: (pre amplitude, pre centre, pre width, trough rise width,
# trough fall width, hump amplitude, hump centre, hump width); the trough has depth 1.
_SHAPES: dict[str, tuple[tuple[float, ...], ...]] = {
    # Clearly different: narrow triphasic, broad biphasic, strong fast rebound.
    "easy1": (
        (0.20, -0.22, 0.08, 0.05, 0.07, 0.30, 0.28, 0.18),
        (0.00, -0.20, 0.10, 0.16, 0.26, 0.45, 0.80, 0.30),
        (0.00, -0.20, 0.10, 0.07, 0.10, 0.95, 0.42, 0.16),
    ),
    # Clearly different: large early positivity, slow wide spike, very narrow spike.
    "easy2": (
        (0.70, -0.22, 0.09, 0.06, 0.09, 0.20, 0.40, 0.30),
        (0.00, -0.20, 0.10, 0.20, 0.30, 0.25, 0.95, 0.30),
        (0.00, -0.20, 0.10, 0.06, 0.08, 0.65, 0.25, 0.10),
    ),
    # Similar triphasic spikes that differ in trough width and hump size (r > 0.9).
    "difficult1": (
        (0.15, -0.25, 0.09, 0.08, 0.12, 0.40, 0.42, 0.25),
        (0.12, -0.25, 0.09, 0.08, 0.16, 0.52, 0.50, 0.27),
        (0.22, -0.24, 0.09, 0.09, 0.10, 0.30, 0.36, 0.22),
    ),
    # Similar biphasic spikes (r > 0.9).
    "difficult2": (
        (0.00, -0.20, 0.10, 0.11, 0.18, 0.50, 0.60, 0.30),
        (0.05, -0.22, 0.10, 0.09, 0.22, 0.60, 0.70, 0.34),
        (0.00, -0.20, 0.10, 0.13, 0.15, 0.42, 0.52, 0.27),
    ),
}

#: Presets of :func:`simulate_spikes`, named after the original data sets.
SPIKE_PRESETS = tuple(_SHAPES)

# Noise levels the original offered: 0.05-0.40 for Easy1, 0.05-0.20 for the others.
_DEFAULT_NOISE = 0.10
# Original: 24 kHz; spikes cut 20 samples before and 44 after the peak (Wave_clus's window),
# and two spikes "overlap" when their peaks are less than 64 samples (2.67 ms) apart.
_PRE_MS, _POST_MS = 20 / 24.0, 44 / 24.0
_OVERLAP_MS = 64 / 24.0
_N_BACKGROUND_SHAPES = 594
# Background spikes per second: about 13 overlap at any time, so the sum is near Gaussian.
_BACKGROUND_RATE = 5000.0
# Background spikes summed at once (bounds the working memory to a few MB).
_BACKGROUND_BLOCK = 8192


def spike_waveform(t_ms: np.ndarray, shape: Sequence[float]) -> np.ndarray:
    """Evaluate one parametric extracellular spike at times ``t_ms`` (ms, trough near 0).

    Parameters
    ----------
    t_ms : numpy.ndarray
        Times in milliseconds.
    shape : sequence of 8 floats
        Early-positivity amplitude, centre and width; trough rise and fall widths (trough
        depth 1); repolarisation-hump amplitude, centre and width. Widths in ms.

    Returns
    -------
    numpy.ndarray
        The waveform at ``t_ms``, unnormalised.
    """
    a_pre, mu_pre, s_pre, rise, fall, a_post, mu_post, s_post = (
        np.asarray(p, dtype=float)[..., None] for p in shape
    )
    t = np.asarray(t_ms, dtype=float)
    trough = np.exp(-0.5 * (t / np.where(t < 0, rise, fall)) ** 2)
    pre = a_pre * np.exp(-0.5 * ((t - mu_pre) / s_pre) ** 2)
    post = a_post * np.exp(-0.5 * ((t - mu_post) / s_post) ** 2)
    return pre - trough + post


def _peak_offsets(shapes: np.ndarray) -> np.ndarray:
    """Time (ms) of each shape's largest absolute value, found on a 1 µs grid."""
    grid = np.arange(-0.5, 1.5, 0.001)
    out = np.empty(len(shapes))
    for a in range(0, len(shapes), 64):  # a few shapes at a time: small temporaries
        values = spike_waveform(grid[None, :], shapes[a : a + 64].T)
        out[a : a + 64] = grid[np.argmax(np.abs(values), axis=1)]
    return out


def _aligned(
    shapes: np.ndarray, peaks_ms: np.ndarray, shift: np.ndarray, fs: float, pre: int, n_t: int
) -> np.ndarray:
    """Waveforms ``(n, n_t)`` with their peak at sample ``pre + shift``, peak value +-1."""
    t_ms = (np.arange(n_t)[None, :] - pre - shift[:, None]) * (1000.0 / fs) + peaks_ms[:, None]
    waves = spike_waveform(t_ms, shapes.T)
    at_peak = spike_waveform(peaks_ms[:, None], shapes.T)[:, 0]
    return waves / np.abs(at_peak)[:, None]


def _background_shapes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random members of the spike family, mostly negative-going, as the 'database'."""
    return np.column_stack(
        [
            rng.uniform(0.0, 0.5, n),
            rng.uniform(-0.35, -0.15, n),
            rng.uniform(0.06, 0.12, n),
            rng.uniform(0.05, 0.20, n),
            rng.uniform(0.07, 0.35, n),
            rng.uniform(0.1, 0.9, n),
            rng.uniform(0.25, 0.9, n),
            rng.uniform(0.1, 0.4, n),
        ]
    )


def _poisson_dead_time(
    rng: np.random.Generator, rate: float, duration: float, dead: float
) -> np.ndarray:
    """Spike times (s) of a Poisson process with a dead time, mean rate ``rate``."""
    boosted = rate / (1.0 - rate * dead)
    expected = rate * duration
    n_draw = int(expected + 6.0 * math.sqrt(expected) + 10)
    t = np.cumsum(rng.exponential(1.0 / boosted, n_draw) + dead) - dead
    while t[-1] < duration:
        t = np.concatenate([t, t[-1] + np.cumsum(rng.exponential(1.0 / boosted, n_draw) + dead)])
    return t[t < duration]


def _background(
    bank: np.ndarray, starts: np.ndarray, which: np.ndarray, gains: np.ndarray, n_samples: int
) -> np.ndarray:
    """Sum of ``gains[i] * bank[which[i]]`` placed from sample ``starts[i]``, cut to the record.

    Built in blocks of spikes sorted by start, each summed over its own stretch of samples,
    so the working memory stays near ``_BACKGROUND_BLOCK`` x template length.
    """
    n_t = bank.shape[1]
    order = np.argsort(starts, kind="stable")
    starts, which, gains = starts[order], which[order], gains[order]
    out = np.zeros(n_samples)
    offsets = np.arange(n_t)
    for a in range(0, starts.size, _BACKGROUND_BLOCK):
        s, k, g = (x[a : a + _BACKGROUND_BLOCK] for x in (starts, which, gains))
        lo, hi = max(int(s[0]), 0), min(int(s[-1]) + n_t, n_samples)
        if hi <= lo:
            continue
        index = ((s - lo)[:, None] + offsets).ravel()  # relative to the stretch [lo, hi)
        values = bank[k]
        values *= g[:, None]
        values = values.ravel()
        if lo > s[0] or hi < s[-1] + n_t:  # spikes cut by the start or the end of the record
            valid = (index >= 0) & (index < hi - lo)
            index, values = index[valid], values[valid]
        out[lo:hi] += np.bincount(index, values, minlength=hi - lo)
    return out


def simulate_spikes(
    preset: str = "easy1",
    duration: float = 60.0,
    sampling_rate: float = 24000.0,
    *,
    noise_level: float | None = None,
    firing_rate: float | Sequence[float] = 20.0,
    amplitude: float = 100.0,
    refractory_period: float = 0.002,
    seed: int = 0,
) -> Simulation:
    """Simulate one extracellular channel with three spike classes (Quiroga et al. 2004).

    Each class fires as a Poisson process with a dead time (``refractory_period``); its spike
    shape (about 2 ms, peak magnitude ``amplitude``, all classes equal) is placed with
    sub-sample jitter. The background is 5000 spikes per second of 594 random shapes at
    random amplitudes, scaled so that its standard deviation is ``noise_level`` x
    ``amplitude``; its spectrum is therefore that of spikes, as in the original.

    Parameters
    ----------
    preset : {"easy1", "easy2", "difficult1", "difficult2"}
        Spike shapes: three clearly different classes (``easy``) or three similar ones
        (``difficult``). default: ``"easy1"``.
    duration : float
        Seconds. default: 60 (as the original).
    sampling_rate : float
        Hz. default: 24000 (as the original).
    noise_level : float | None
        Noise standard deviation relative to the spike peak amplitude; the original used 0.05
        to 0.40 (Easy1) or 0.05 to 0.20. default: ``None`` (0.10).
    firing_rate : float | sequence of 3 floats
        Mean rate of each class in Hz. default: 20 (as the original).
    amplitude : float
        Peak magnitude of every spike class in µV. default: 100.
    refractory_period : float
        Dead time between two spikes of one class, in seconds. default: 0.002.
    seed : int
        Random seed; the same seed gives bit-identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data``: a one-channel :class:`TimeSeries` in µV, type ``ephys``. ``truth``:
        :class:`GroundTruth` with ``clean`` (the spikes without background), arrays
        ``spike_times`` (sample of each spike's peak, int64), ``spike_classes`` (0, 1, 2),
        ``overlap`` (another spike's peak lies less than 64 samples at 24 kHz, 2.67 ms,
        away) and ``templates`` (``(3, n_samples)`` µV, peak at ``template_peak_sample``),
        and extras (achieved noise level, firing rates, overlap counts, template
        correlations).
    """
    params = {
        "preset": preset,
        "duration": duration,
        "sampling_rate": sampling_rate,
        "noise_level": noise_level,
        "firing_rate": list(firing_rate)
        if isinstance(firing_rate, (list, tuple, np.ndarray))
        else firing_rate,
        "amplitude": amplitude,
        "refractory_period": refractory_period,
        "seed": seed,
    }
    check_option("preset", preset, SPIKE_PRESETS)
    fs = check_positive("sampling_rate", sampling_rate)
    if fs < 5000:
        raise ParameterError(
            f"sampling_rate={sampling_rate} Hz is too low to resolve spikes; use at least 5000 "
            "Hz (the original used 24000)."
        )
    seconds = check_positive("duration", duration)
    n_samples = round(seconds * fs)
    level = _DEFAULT_NOISE if noise_level is None else float(noise_level)
    check_positive("noise_level", level, allow_zero=True)
    if level > 1.0:
        raise ParameterError(
            f"noise_level={noise_level} is the noise std relative to the spike peak; use a value "
            "in [0, 1] (the original used 0.05-0.40)."
        )
    amp = check_positive("amplitude", amplitude)
    dead = check_positive("refractory_period", refractory_period, allow_zero=True)
    if isinstance(firing_rate, (list, tuple, np.ndarray)):
        if len(firing_rate) != 3:
            raise ParameterError(
                f"firing_rate has {len(firing_rate)} values; give one rate or one per class (3)."
            )
        rates = np.array([check_positive("firing_rate", r) for r in firing_rate])
    else:
        rates = np.full(3, check_positive("firing_rate", firing_rate))
    if np.any(rates * dead >= 0.5):
        raise ParameterError(
            f"firing_rate {rates.max():g} Hz is too high for refractory_period={dead:g} s; keep "
            "firing_rate x refractory_period below 0.5."
        )
    pre = round(_PRE_MS * fs / 1000)
    n_t = pre + round(_POST_MS * fs / 1000)
    if n_samples < 4 * n_t:
        raise ParameterError(f"duration={duration} s is too short; simulate at least 0.02 s.")

    rng = np.random.default_rng(seed)
    shapes = np.array(_SHAPES[preset])
    peaks_ms = _peak_offsets(shapes)
    templates = (amp * _aligned(shapes, peaks_ms, np.zeros(3), fs, pre, n_t)).astype(np.float32)

    # -- spike trains, peak sample and sub-sample jitter -----------------------------------------
    trains = [_poisson_dead_time(rng, r, n_samples / fs, dead) for r in rates]
    exact = np.concatenate(trains) * fs
    classes = np.concatenate([np.full(t.size, k, np.int64) for k, t in enumerate(trains)])
    times = np.round(exact).astype(np.int64)
    inside = (times >= pre) & (times < n_samples - (n_t - pre))
    order = np.argsort(times[inside], kind="stable")
    times, classes = times[inside][order], classes[inside][order]
    jitter = exact[inside][order] - times  # in [-0.5, 0.5] samples
    waves = amp * _aligned(shapes[classes], peaks_ms[classes], jitter, fs, pre, n_t)
    index = times[:, None] - pre + np.arange(n_t)
    clean = np.bincount(index.ravel(), waves.ravel(), minlength=n_samples)

    # -- background: many attenuated spikes of random shapes -------------------------------------
    bank_shapes = _background_shapes(rng, _N_BACKGROUND_SHAPES)
    bank = _aligned(
        bank_shapes, _peak_offsets(bank_shapes), np.zeros(len(bank_shapes)), fs, pre, n_t
    )
    n_bg = rng.poisson(_BACKGROUND_RATE * (n_samples + n_t) / fs)
    starts = rng.integers(-n_t, n_samples, n_bg)
    which = rng.integers(0, _N_BACKGROUND_SHAPES, n_bg)
    gains = rng.uniform(0.0, 1.0, n_bg) * np.where(rng.random(n_bg) < 0.8, 1.0, -1.0)
    background = _background(bank, starts, which, gains, n_samples)
    del starts, which, gains
    background -= background.mean()
    std = background.std()
    background *= level * amp / std if std > 0 else 0.0

    # -- truth ------------------------------------------------------------------------------------
    window = round(_OVERLAP_MS * fs / 1000)
    gaps = np.diff(times)
    close = gaps < window
    overlap = np.zeros(times.size, dtype=bool)
    overlap[1:] |= close
    overlap[:-1] |= close
    seconds = n_samples / fs
    corr = np.corrcoef(templates.astype(float))
    pairs = corr[np.triu_indices(3, 1)]
    info = ChannelInfo(["ch000"], "ephys", "uV", None)
    meta = {"simulated": "spikes", "seed": seed, "preset": preset}
    truth = GroundTruth(
        simulator="spikes",
        params=params,
        events=[],
        channels=[ChannelStatus(name="ch000", type="ephys", status="good")],
        clean=TimeSeries(clean[None].astype(np.float32), fs, info, modality="ephys", meta=meta),
        arrays={
            "spike_times": times,
            "spike_classes": classes,
            "overlap": overlap,
            "templates": templates,
        },
        extras={
            "preset": preset,
            "noise_level": level,
            "achieved_noise_level": float(background.std() / amp),
            "amplitude": amp,
            "firing_rates": (np.bincount(classes, minlength=3) / seconds).tolist(),
            "requested_firing_rates": rates.tolist(),
            "n_spikes": int(times.size),
            "n_overlapping": int(overlap.sum()),
            "overlap_window_samples": window,
            "template_peak_sample": pre,
            "template_correlation": pairs.tolist(),
            "units": "uV",
        },
    )
    data = np.add(clean, background, out=np.empty((1, n_samples), np.float32), casting="same_kind")
    return Simulation(TimeSeries(data, fs, info, modality="ephys", meta=meta), truth)
