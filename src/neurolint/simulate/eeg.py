"""EEG-like recordings on a real montage: 1/f background, rhythms and logged artifacts."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.channels import ChannelInfo
from ..core.errors import ParameterError
from ..core.findings import ChannelStatus
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._heartbeat import beat_train
from ._truth import GroundTruth, Simulation
from .artifacts import ARTIFACT_KINDS, inject_artifacts

__all__ = ["simulate_eeg"]

# Old 10-20 names duplicate T7/T8/P7/P8; A*/M* are mastoid/ear references, not scalp sites.
_NOT_SCALP = {"T3", "T4", "T5", "T6", "A1", "A2", "M1", "M2"}


def _template(name: str):
    import mne

    # MNE 1.13 renamed the template montages; prefer the new name where it exists.
    new = {"standard_1020": "colin27_1020", "standard_1005": "colin27_1005"}[name]
    return mne.channels.make_standard_montage(
        new if new in mne.channels.get_builtin_montages() else name
    )


def _sphere_positions(n: int) -> np.ndarray:
    """``n`` points spread evenly (Fibonacci lattice) over the upper part of a 9 cm sphere."""
    k = np.arange(n) + 0.5
    z = 1 - k / n * 1.3  # down to ~35° below the equator, as dense caps reach
    r = np.sqrt(np.clip(1 - z**2, 0, None))
    phi = np.pi * (1 + 5**0.5) * k
    return 0.09 * np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def montage_positions(n_channels: int) -> tuple[list[str], np.ndarray]:
    """Names and positions (metres) of ``n_channels`` electrodes spread over the scalp.

    Up to 90 channels come from MNE's 10-20 template, up to 335 from its 10-05 template
    (evenly thinned so small counts still cover the head); beyond that, from an even lattice
    on a sphere named ``E1``, ``E2``, ... as high-density nets name theirs.
    """
    for name in ("standard_1020", "standard_1005"):
        montage = _template(name)
        positions = montage.get_positions()["ch_pos"]
        names = [n for n in montage.ch_names if n not in _NOT_SCALP]
        if n_channels <= len(names):
            # Even spacing over the ordered list keeps the whole scalp covered.
            pick = np.linspace(0, len(names) - 1, n_channels).round().astype(int)
            chosen = [names[i] for i in pick]
            return chosen, np.array([positions[c] for c in chosen])
    return [f"E{i + 1}" for i in range(n_channels)], _sphere_positions(n_channels)


def _pink_background(n_channels: int, n: int, pos: np.ndarray, sfreq: float, rng) -> np.ndarray:
    """Independent 1/f sources mixed by a kernel decaying with electrode distance."""
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    shape = np.zeros_like(freqs)
    shape[1:] = 1.0 / np.sqrt(freqs[1:])  # amplitude ~ f^-1/2, power ~ 1/f
    spectra = rng.standard_normal((n_channels, len(freqs)), dtype=np.float32).astype(np.complex64)
    spectra.imag = rng.standard_normal((n_channels, len(freqs)), dtype=np.float32)
    spectra *= shape.astype(np.float32)
    sources = np.fft.irfft(spectra, n=n, axis=1).astype(np.float32)
    del spectra
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    mixing = np.exp(-dist / 0.04).astype(np.float32)
    mixing /= np.linalg.norm(mixing, axis=1, keepdims=True)
    return mixing @ sources


def _rhythm(n: int, sfreq: float, freq: float, rng) -> np.ndarray:
    """A rhythm with jittered frequency and waxing and waning amplitude (0..1)."""
    t = np.arange(n) / sfreq
    # Slow frequency wander (±0.5 Hz) and an envelope that waxes and wanes every few seconds.
    wander = np.cumsum(rng.standard_normal(n)) / np.sqrt(n)
    phase = 2 * np.pi * freq * t + 2 * np.pi * 0.5 * np.cumsum(wander) / sfreq
    env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 2 * np.pi))
    return (np.sin(phase + rng.uniform(0, 2 * np.pi)) * env).astype(np.float32)


def simulate_eeg(
    n_channels: int = 32,
    duration: float = 60.0,
    sampling_rate: float = 256.0,
    *,
    artifacts: str | Sequence[str] | None = "all",
    rates: Mapping[str, float] | None = None,
    line_freq: float | None = None,
    gap_fill: str = "random",
    background_rms: float = 10e-6,
    alpha_amplitude: float = 10e-6,
    theta_amplitude: float = 4e-6,
    ecg_lead: bool = False,
    seed: int = 0,
) -> Simulation:
    """Simulate EEG in volts with logged artifacts of every kind, and its clean counterpart.

    Background: independent 1/f sources mixed with a spatial kernel that decays with
    electrode distance (neighbours correlate), ``background_rms`` RMS; a posterior alpha
    rhythm (8-12 Hz) and a frontal-midline theta rhythm (5-7 Hz), both waxing and waning.
    Artifacts (see :mod:`neurolint.simulate.artifacts` for their models and ranges) are drawn
    with random amplitude, duration, timing and spread and logged in the ground truth.
    Transient events (``blink``, ``saccade``, ``muscle``, ``pop``, ``movement``,
    ``saturation``, ``gap``) never overlap each other; ``ecg`` and ``line_noise`` come in
    episodes that may overlap them; ``flat``, ``noisy_channel`` and ``bridged`` are channel
    faults for the whole recording, listed in ``truth.channels``.

    Parameters
    ----------
    n_channels : int
        Electrodes, from MNE's 10-20/10-05 templates (evenly thinned) or, above 335, an even
        lattice. default: 32.
    duration : float
        Seconds. default: 60.
    sampling_rate : float
        Hz, at least 100. default: 256.
    artifacts : "all" | sequence of str | None
        Artifact kinds to inject (``neurolint.simulate.ARTIFACT_KINDS``); ``None`` or ``()``
        for clean EEG. default: ``"all"``.
    rates : mapping | None
        Events per minute by kind, overriding the defaults (for ``flat``, ``noisy_channel``
        and ``bridged``: channels, or pairs, per 32 channels). Every requested kind occurs at
        least once when it fits. default: ``None``.
    line_freq : float | None
        Mains frequency, 50 or 60 Hz; ``None`` draws one. default: ``None``.
    gap_fill : {"random", "nan", "zero"}
        What dropped samples read as. default: ``"random"`` (each gap NaN or zero).
    background_rms, alpha_amplitude, theta_amplitude : float
        Volts. defaults: 10 µV, 10 µV (most posterior channel), 4 µV (Fz area).
    ecg_lead : bool
        Also record the heart on a last channel ``ECG`` (type ``ecg``, no position, about
        1 mV): it beats throughout, while its field reaches the EEG only in the ``ecg``
        episodes (whose R peaks it shares). Drawn from a random stream of its own, so the EEG
        and truth of a seed are the same with or without it. default: ``False``.
    seed : int
        Random seed; the same seed gives identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data`` (float32 :class:`~neurolint.core.timeseries.TimeSeries`, type ``eeg``, units
        ``V``, positions in metres) and ``truth`` (:class:`GroundTruth` with ``clean`` the
        artifact-free EEG, ``events``, ``channels`` and ``arrays["ecg_r_peaks"]``; with
        ``ecg_lead``, also ``arrays["ecg_lead_peaks"]``, every beat on the lead).
    """
    params = {
        "n_channels": int(n_channels),
        "duration": float(duration),
        "sampling_rate": float(sampling_rate),
        "artifacts": artifacts
        if isinstance(artifacts, str) or artifacts is None
        else list(artifacts),
        "rates": dict(rates or {}),
        "line_freq": line_freq,
        "gap_fill": gap_fill,
        "background_rms": background_rms,
        "alpha_amplitude": alpha_amplitude,
        "theta_amplitude": theta_amplitude,
        "ecg_lead": bool(ecg_lead),
        "seed": int(seed),
    }
    sfreq = check_positive("sampling_rate", sampling_rate)
    if sfreq < 100:
        raise ParameterError(
            f"sampling_rate={sfreq:g} Hz is too low for EEG artifacts (muscle, line noise); "
            "use at least 100 Hz."
        )
    n = round(check_positive("duration", duration) * sfreq)
    if int(n_channels) < 1:
        raise ParameterError(f"n_channels={n_channels} must be at least 1.")
    check_option("gap_fill", gap_fill, ("random", "nan", "zero"))
    if line_freq is not None and line_freq not in (50, 60):
        raise ParameterError(f"line_freq={line_freq} must be 50 or 60 (Hz) or None.")
    kinds = _artifact_kinds(artifacts)
    n_channels = int(n_channels)
    rng = np.random.default_rng(seed)
    names, pos = montage_positions(n_channels)

    data = _pink_background(n_channels, n, pos, sfreq, rng)
    data *= np.float32(background_rms / max(float(data.std()), 1e-30))
    posterior = np.clip((-pos[:, 1] + 0.02) / 0.12, 0, 1).astype(np.float32)
    data += alpha_amplitude * posterior[:, None] * _rhythm(n, sfreq, 10.0, rng)[None]
    fz = np.array([0.0, 0.06, 0.07])
    midfrontal = np.exp(-np.linalg.norm(pos - fz, axis=1) / 0.05).astype(np.float32)
    data += theta_amplitude * midfrontal[:, None] * _rhythm(n, sfreq, 6.0, rng)[None]

    clean = data.copy()
    events, faults, arrays, extras = inject_artifacts(
        data, names, pos, sfreq, kinds, rng, rates=rates, line_freq=line_freq, gap_fill=gap_fill
    )
    statuses = [
        ChannelStatus(name, "eeg", "bad" if faults.get(name) else "good", faults.get(name, ()))
        for name in names
    ]
    types = ["eeg"] * n_channels
    if ecg_lead:
        lead, arrays["ecg_lead_peaks"] = _ecg_lead(arrays["ecg_r_peaks"], n, sfreq, seed)
        data, clean = np.vstack([data, lead]), np.vstack([clean, lead])
        names, types = [*names, "ECG"], [*types, "ecg"]
        pos = np.vstack([pos, np.full((1, 3), np.nan)])
        statuses.append(ChannelStatus("ECG", "ecg"))
    info = ChannelInfo(names, types, "V", pos)
    meta = {"simulated": "eeg", "seed": int(seed)}
    ts = TimeSeries(data, sfreq, info, modality="eeg", meta=meta)
    truth = GroundTruth(
        simulator="eeg",
        params=params,
        events=events,
        channels=statuses,
        clean=TimeSeries(clean, sfreq, info, modality="eeg", meta=meta),
        arrays=arrays,
        extras=extras,
    )
    return Simulation(ts, truth)


def _ecg_lead(
    r_peaks: np.ndarray, n: int, sfreq: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """An ECG lead beating throughout: the episodes' own R peaks, and beats evenly spread
    (2% jitter) between them and towards the ends at the episodes' median rate (50-90 bpm
    without episodes), drawn from a random stream of the lead's own (``(seed, 1)``)."""
    rng = np.random.default_rng((int(seed), 1))
    known = np.unique(np.asarray(r_peaks, np.int64))
    rr = sfreq * 60.0 / rng.uniform(50, 90)
    steps = np.diff(known)
    if (steps < 2 * sfreq).any():  # between episodes, the heart keeps to their typical rate
        rr = float(np.median(steps[steps < 2 * sfreq]))
    first = known[0] if len(known) else round(rng.uniform(0.1, 0.5) * sfreq)
    start = first - rr * np.arange(int(first // rr) + 1)[::-1]
    last = max(known[-1] if len(known) else first, start[-1])
    end = last + rr * np.arange(1, int((n - 0.4 * sfreq - last) // rr) + 1)
    anchors = np.unique(np.concatenate([start, known, end]).round().astype(np.int64))
    beats = [anchors]
    for prev, nxt in itertools.pairwise(anchors):
        count = round((nxt - prev) / rr)
        if count >= 2:  # a gap between episodes: fill it on the rhythm
            # Each beat jitters by 2% of its own interval.
            step = (nxt - prev) / count
            inside = prev + step * (np.arange(1, count) + 0.02 * rng.standard_normal(count - 1))
            beats.append(np.round(inside))
    peaks = np.unique(np.concatenate(beats).astype(np.int64))
    peaks = peaks[(peaks >= 0) & (peaks < n)]
    noise = 10e-6 * rng.standard_normal(n)
    return (1e-3 * beat_train(peaks, n, sfreq) + noise).astype(np.float32), peaks


def _artifact_kinds(artifacts: str | Sequence[str] | None) -> tuple[str, ...]:
    if artifacts is None:
        return ()
    if isinstance(artifacts, str):
        if artifacts == "all":
            return ARTIFACT_KINDS
        artifacts = [a.strip() for a in artifacts.split(",") if a.strip()]
    unknown = sorted(set(artifacts) - set(ARTIFACT_KINDS))
    if unknown:
        raise ParameterError(
            f"Unknown artifact kind(s) {', '.join(unknown)}; choose from "
            f"{', '.join(ARTIFACT_KINDS)} or 'all'."
        )
    return tuple(k for k in ARTIFACT_KINDS if k in set(artifacts))
