"""Hippocampal-like LFP on a linear probe: 1/f background, theta travelling along the probe,
theta-nested gamma, sharp-wave ripples, and recording gaps."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.channels import ChannelInfo
from ..core.errors import ParameterError
from ..core.findings import ChannelStatus, Finding
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._truth import GroundTruth, Simulation

__all__ = ["simulate_lfp"]

# Amplifier noise (uV RMS), independent per channel.
_WHITE_UV = 3.0
# Strength of the theta-phase modulation of gamma amplitude (0 none, 1 full).
_COUPLING = 0.8
# Ripples stay this far (s) from each other and from the edges.
_RIPPLE_GAP_S = 0.3
# Gaps stay this far (s) from the edges and from each other.
_GAP_EDGE_S = 0.5
_GAP_SEPARATION_S = 0.1


def _band_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float) -> np.ndarray:
    """Zero-mean, unit-std noise with a flat spectrum between ``lo`` and ``hi`` Hz (FFT mask)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec[(f < lo) | (f > hi) | (f == 0)] = 0.0
    x = np.fft.irfft(spec, n=n)
    std = x.std()
    # A recording shorter than 1 / hi holds no such slow component.
    return x / std if std > 1e-9 else np.zeros(n)


def _aperiodic(rng: np.random.Generator, shape: tuple[int, int], fs: float, exponent: float):
    """Gaussian noise with power ~ 1/f**exponent above 0.5 Hz, unit std per row."""
    n = shape[1]
    f = np.fft.rfftfreq(n, 1.0 / fs)
    gain = np.maximum(f, 0.5) ** (-exponent / 2.0)
    gain[0] = 0.0
    spec = rng.standard_normal((shape[0], f.size)) + 1j * rng.standard_normal((shape[0], f.size))
    x = np.fft.irfft(spec * gain, n=n, axis=1)
    return x / x.std(axis=1, keepdims=True)


def _modulation_index(phase: np.ndarray, amplitude: np.ndarray, n_bins: int = 18) -> float:
    """Tort's modulation index: how far mean amplitude per phase bin is from uniform."""
    bins = np.minimum(((phase + np.pi) / (2 * np.pi) * n_bins).astype(int), n_bins - 1)
    mean_amp = np.bincount(bins, amplitude, n_bins) / np.maximum(np.bincount(bins, None, n_bins), 1)
    p = mean_amp / mean_amp.sum()
    return float((np.log(n_bins) + np.sum(p * np.log(np.maximum(p, 1e-300)))) / np.log(n_bins))


def _place_gaps(
    rng: np.random.Generator, lengths: np.ndarray, n: int, edge: int, sep: int
) -> np.ndarray:
    """Start samples of non-overlapping gaps, in random order, ``edge`` from the ends."""
    k = len(lengths)
    free = n - 2 * edge - int(lengths.sum()) - (k - 1) * sep
    if free < 0:
        raise ParameterError(
            f"{k} gaps of {lengths.sum()} samples in all do not fit in {n} samples with "
            "margins; use fewer or shorter gaps, or a longer duration."
        )
    order = rng.permutation(k)
    points = np.sort(rng.integers(0, free + 1, size=k))
    ordered = lengths[order]
    starts_ordered = (
        edge + points + np.concatenate(([0], np.cumsum(ordered)[:-1])) + np.arange(k) * sep
    )
    starts = np.empty(k, dtype=np.int64)
    starts[order] = starts_ordered
    return starts


def simulate_lfp(
    n_channels: int = 16,
    duration: float = 60.0,
    sampling_rate: float = 1000.0,
    *,
    spacing: float = 50e-6,
    background_amplitude: float = 60.0,
    exponent: float = 1.5,
    theta_frequency: float = 8.0,
    theta_amplitude: float = 150.0,
    theta_phase_span: float = math.pi,
    gamma_amplitude: float = 30.0,
    ripple_rate: float = 0.2,
    ripple_amplitude: float = 60.0,
    sharp_wave_amplitude: float = 150.0,
    gap_durations: Sequence[float] = (),
    n_gaps: int = 1,
    gap_fill: str = "nan",
    gap_channels: str = "all",
    seed: int = 0,
) -> Simulation:
    """Simulate a multichannel hippocampal-like LFP on a linear probe, with optional gaps.

    Components, in microvolts: a spatially correlated aperiodic background (power
    ``~1/f**exponent``) plus amplifier noise; theta whose frequency and amplitude wander slowly
    and whose phase shifts linearly along the probe by ``theta_phase_span`` from the first to
    the last channel; 30-80 Hz gamma whose amplitude follows the local theta phase (strongest
    at the theta trough, phase pi) in the upper part of the probe; and sharp-wave ripples
    (Poisson times, 50-100 ms bursts at 160-230 Hz) on a few channels around a pyramidal
    layer, with a slower negative sharp wave below it. Gaps (recording dropouts) then replace
    stretches of samples by NaN or zero on all channels or on a random subset.

    Parameters
    ----------
    n_channels : int
        Contacts of the linear probe, channel 0 at the top. default: 16.
    duration : float
        Seconds. default: 60.
    sampling_rate : float
        Hz (at least 600 so that ripples are resolved). default: 1000.
    spacing : float
        Contact pitch in metres. default: 50e-6.
    background_amplitude : float
        RMS of the aperiodic background, uV. default: 60.
    exponent : float
        Spectral exponent of the background (power ~ 1/f**exponent). default: 1.5.
    theta_frequency : float
        Mean theta frequency, Hz, in [4, 12]. default: 8.
    theta_amplitude : float
        Theta amplitude at the deepest channel, uV. default: 150.
    theta_phase_span : float
        Theta phase lag from the first to the last channel, radians. default: pi.
    gamma_amplitude : float
        Peak gamma amplitude at its strongest channel and best theta phase, uV. default: 30.
    ripple_rate : float
        Sharp-wave ripples per second (0 for none). default: 0.2.
    ripple_amplitude : float
        Ripple peak amplitude at the pyramidal layer, uV. default: 60.
    sharp_wave_amplitude : float
        Depth of the sharp wave below the pyramidal layer, uV. default: 150.
    gap_durations : sequence of float
        Gap lengths in seconds; ``n_gaps`` gaps of each. default: () (no gaps).
    n_gaps : int
        Gaps per entry of ``gap_durations``. default: 1.
    gap_fill : {"nan", "zero"}
        Value written into gaps. default: ``"nan"``.
    gap_channels : {"all", "random"}
        Gaps on every channel, or each on a random subset of channels. default: ``"all"``.
    seed : int
        Random seed; the same seed gives identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data``: :class:`~neurolint.core.timeseries.TimeSeries`, float32, channel type
        ``"lfp"``, units ``"uV"``, positions in metres (0, 0, -depth).
        ``truth``: ``clean`` is the same series without gaps; ``events`` are ``"gap"``
        (channels empty when all); ``channels`` are all ``"good"`` (gaps are transient);
        ``arrays`` hold ``gap_mask`` (n_channels, n_times, bool), ``theta_phase``
        (n_times, reference phase; channel ``c`` lags by ``theta_phase_offsets[c]``),
        ``ripple_times`` (s, peak), ``ripple_durations`` (s), ``ripple_frequencies`` (Hz) and
        ``ripple_channels`` (indices); ``extras`` hold the ripple channel names, theta phase
        offsets, the measured theta-gamma modulation index and the gap fraction.
    """
    if int(n_channels) != n_channels or n_channels < 2:
        raise ParameterError(f"n_channels={n_channels!r} must be an integer >= 2.")
    n_ch = int(n_channels)
    fs = check_positive("sampling_rate", sampling_rate)
    if fs < 600:
        raise ParameterError(f"sampling_rate={fs:g} is too low for ripples; use >= 600 Hz.")
    seconds = check_positive("duration", duration)
    n = round(seconds * fs)
    if n < round(2 * fs):
        raise ParameterError(f"duration={duration!r} must be at least 2 s.")
    spacing = check_positive("spacing", spacing)
    bg_amp = check_positive("background_amplitude", background_amplitude, allow_zero=True)
    exponent = check_positive("exponent", exponent, allow_zero=True)
    f_theta = check_positive("theta_frequency", theta_frequency)
    if not 4.0 <= f_theta <= 12.0:
        raise ParameterError(f"theta_frequency={f_theta:g} must lie in [4, 12] Hz.")
    th_amp = check_positive("theta_amplitude", theta_amplitude, allow_zero=True)
    span = float(theta_phase_span)
    if not math.isfinite(span):
        raise ParameterError(f"theta_phase_span={theta_phase_span!r} must be a finite angle.")
    g_amp = check_positive("gamma_amplitude", gamma_amplitude, allow_zero=True)
    r_rate = check_positive("ripple_rate", ripple_rate, allow_zero=True)
    r_amp = check_positive("ripple_amplitude", ripple_amplitude, allow_zero=True)
    sw_amp = check_positive("sharp_wave_amplitude", sharp_wave_amplitude, allow_zero=True)
    if isinstance(gap_durations, (int, float)):
        gap_durations = (gap_durations,)
    gap_s = [check_positive("gap_durations", d) for d in gap_durations]
    if int(n_gaps) != n_gaps or n_gaps < 0:
        raise ParameterError(f"n_gaps={n_gaps!r} must be an integer >= 0.")
    n_gaps = int(n_gaps)
    check_option("gap_fill", gap_fill, ("nan", "zero"))
    check_option("gap_channels", gap_channels, ("all", "random"))
    params = {
        "n_channels": n_ch,
        "duration": seconds,
        "sampling_rate": fs,
        "spacing": spacing,
        "background_amplitude": bg_amp,
        "exponent": exponent,
        "theta_frequency": f_theta,
        "theta_amplitude": th_amp,
        "theta_phase_span": span,
        "gamma_amplitude": g_amp,
        "ripple_rate": r_rate,
        "ripple_amplitude": r_amp,
        "sharp_wave_amplitude": sw_amp,
        "gap_durations": gap_s,
        "n_gaps": n_gaps,
        "gap_fill": gap_fill,
        "gap_channels": gap_channels,
        "seed": seed,
    }
    streams = np.random.default_rng(seed).spawn(5)
    rng_bg, rng_theta, rng_gamma, rng_ripple, rng_gap = streams
    depth = np.arange(n_ch) / (n_ch - 1)  # 0 at the top contact, 1 at the deepest

    # Background: 1/f sources mixed over ~200 um so neighbouring contacts correlate.
    pos = np.zeros((n_ch, 3))
    pos[:, 2] = -np.arange(n_ch) * spacing
    dist = np.abs(pos[:, None, 2] - pos[None, :, 2])
    mixing = np.exp(-dist / 200e-6)
    background = mixing @ _aperiodic(rng_bg, (n_ch, n), fs, exponent)
    background *= bg_amp / background.std(axis=1, keepdims=True)
    background += _WHITE_UV * rng_bg.standard_normal((n_ch, n))

    # Theta: slowly wandering frequency (+-0.5 Hz) and amplitude; phase lags along the probe.
    freq = f_theta + 0.5 * _band_noise(rng_theta, n, fs, 0.0, 0.2)
    phase = 2 * np.pi * np.cumsum(freq) / fs + rng_theta.uniform(0, 2 * np.pi)
    envelope = np.clip(1.0 + 0.25 * _band_noise(rng_theta, n, fs, 0.0, 0.1), 0.3, None)
    offsets = span * depth
    local_phase = phase[None, :] - offsets[:, None]
    theta_gain = 0.6 + 0.4 * depth
    theta = th_amp * theta_gain[:, None] * envelope[None] * np.cos(local_phase)

    # Gamma: a 30-80 Hz carrier whose amplitude peaks at the local theta trough (phase pi).
    carrier = _band_noise(rng_gamma, n, fs, 30.0, 80.0) / math.sqrt(2)  # sinusoid-like scale
    gamma_centre = rng_gamma.uniform(0.15, 0.4)
    gamma_gain = np.exp(-((depth - gamma_centre) ** 2) / (2 * 0.2**2))
    modulation = (1.0 - _COUPLING * np.cos(local_phase)) / (1.0 + _COUPLING)
    gamma = g_amp * gamma_gain[:, None] * modulation * carrier[None]

    # Sharp-wave ripples around a pyramidal layer in the middle half of the probe.
    layer = int(rng_ripple.integers(n_ch // 4, max(n_ch // 4 + 1, (3 * n_ch) // 4)))
    chans = np.arange(n_ch)
    ripple_gain = np.exp(-((chans - layer) ** 2) / (2 * 1.2**2))
    sw_gain = -np.exp(-((chans - layer - 3) ** 2) / (2 * 2.0**2)) + 0.3 * np.exp(
        -((chans - layer + 2) ** 2) / (2 * 2.0**2)
    )
    candidates = np.sort(
        rng_ripple.uniform(
            _RIPPLE_GAP_S, seconds - _RIPPLE_GAP_S, rng_ripple.poisson(r_rate * seconds)
        )
    )
    kept: list[float] = []
    for c in candidates.tolist():  # one pass over events, not samples
        if not kept or c - kept[-1] >= _RIPPLE_GAP_S:
            kept.append(c)
    r_times = np.array(kept)
    r_durs = rng_ripple.uniform(0.05, 0.1, size=r_times.size)
    r_freqs = rng_ripple.uniform(160.0, 230.0, size=r_times.size)
    r_phase = rng_ripple.uniform(0, 2 * np.pi, size=r_times.size)
    ripples = np.zeros((n_ch, n))
    sw_sigma = 0.025
    half = round(3 * sw_sigma * fs)
    for t0, d, f, p0 in zip(r_times, r_durs, r_freqs, r_phase, strict=True):
        c = round(t0 * fs)
        idx = np.arange(max(c - half, 0), min(c + half + 1, n))
        tau = idx / fs - t0
        inside = np.abs(tau) <= d / 2
        hann = np.where(inside, 0.5 * (1 + np.cos(2 * np.pi * tau / d)), 0.0)
        burst = r_amp * hann * np.sin(2 * np.pi * f * tau + p0)
        wave = sw_amp * np.exp(-(tau**2) / (2 * sw_sigma**2))
        ripples[:, idx] += ripple_gain[:, None] * burst[None] + sw_gain[:, None] * wave[None]
    ripple_channels = np.flatnonzero(ripple_gain >= 0.25)

    clean = (background + theta + gamma + ripples).astype(np.float32)

    # Gaps: non-overlapping, away from the edges, on all channels or a random subset each.
    lengths = np.array([max(1, round(d * fs)) for d in gap_s for _ in range(n_gaps)], dtype=int)
    gap_mask = np.zeros((n_ch, n), dtype=bool)
    names = [f"lfp{i:02d}" for i in range(n_ch)]
    events = []
    if lengths.size:
        starts = _place_gaps(
            rng_gap, lengths, n, round(_GAP_EDGE_S * fs), round(_GAP_SEPARATION_S * fs)
        )
        for start, length in sorted(zip(starts.tolist(), lengths.tolist(), strict=True)):
            if gap_channels == "all":
                rows = chans
            else:
                size = int(rng_gap.integers(1, n_ch))
                rows = np.sort(rng_gap.choice(n_ch, size=size, replace=False))
            gap_mask[rows, start : start + length] = True
            events.append(
                Finding(
                    onset=start / fs,
                    duration=length / fs,
                    kind="gap",
                    channels=() if gap_channels == "all" else tuple(names[i] for i in rows),
                    detector="simulator",
                    extras={"fill": gap_fill, "start_sample": start, "n_samples": length},
                )
            )
    data = clean.copy()
    data[gap_mask] = np.nan if gap_fill == "nan" else 0.0

    # Measured on the clean output: theta-gamma coupling on the strongest gamma channel.
    from scipy.signal import butter, hilbert, sosfiltfilt

    g_ch = int(np.argmax(gamma_gain))
    sos_t = butter(3, (6.0, 10.0), "bandpass", fs=fs, output="sos")
    sos_g = butter(4, (30.0, 80.0), "bandpass", fs=fs, output="sos")
    th_phase = np.angle(hilbert(sosfiltfilt(sos_t, clean[g_ch].astype(np.float64))))
    g_env = np.abs(hilbert(sosfiltfilt(sos_g, clean[g_ch].astype(np.float64))))
    mi = _modulation_index(th_phase, g_env)

    info = ChannelInfo(names, "lfp", "uV", pos)
    meta = {"simulated": "lfp", "seed": seed}
    extras = {
        "theta_frequency": float(freq.mean()),
        "theta_phase_offsets": offsets.tolist(),
        "gamma_channel": names[g_ch],
        "modulation_index": mi,
        "ripple_layer": names[layer],
        "ripple_channels": [names[i] for i in ripple_channels],
        "n_ripples": int(r_times.size),
        "gap_fraction": float(gap_mask.mean()),
        "background_rms": bg_amp,
    }
    arrays = {
        "gap_mask": gap_mask,
        "theta_phase": np.angle(np.exp(1j * phase)).astype(np.float32),
        "ripple_times": r_times,
        "ripple_durations": r_durs,
        "ripple_frequencies": r_freqs,
        "ripple_channels": ripple_channels,
    }
    truth = GroundTruth(
        simulator="lfp",
        params=params,
        events=events,
        channels=[ChannelStatus(name, "lfp") for name in names],
        clean=TimeSeries(clean, fs, info, modality="lfp", meta=meta),
        arrays=arrays,
        extras=extras,
    )
    return Simulation(TimeSeries(data, fs, info, modality="lfp", meta=meta), truth)
