"""Artifact models for simulated EEG, each logged with onset, duration, channels and kind.

Amplitudes are in volts and drawn uniformly from the ranges below (the peak at the most
affected channel); spatial spread follows distance from a physiological source, and a
channel is listed in an event when it carries at least ``_LISTED`` of the peak amplitude.

===============  ==================================================================  =========
kind             model                                                                amplitude
===============  ==================================================================  =========
blink            skewed monophasic pulse, 0.2-0.4 s, decaying with distance from      50-200 µV
                 the eyes (frontopolar largest)
saccade          horizontal step and return, 0.4-1.5 s apart; a dipole across the    20-60 µV
                 lateral frontal sites (F7 and F8 opposite in sign)
muscle           20-200 Hz noise (below Nyquist), tapered bursts 0.5-3 s over the     10-40 µV
                 temporal sites of one or both sides                                  RMS
ecg              PQRST beats at 50-90 bpm with heart-rate variability, in episodes   3-15 µV
                 of 10-60 s, strongest at left, inferior sites
line_noise       50 or 60 Hz with 2nd/3rd harmonics, amplitude varying slowly, in     5-30 µV
                 episodes of 5-30 s on a subset of channels
pop              one channel: a step then exponential decay (tau 50-300 ms)           100-500 µV
movement         slow (< 2 Hz) baseline wander over a group of neighbouring           50-300 µV
                 channels, 1-4 s
saturation       1-3 neighbouring channels driven past the amplifier range and        range
                 clipped there (flat at ±range), 0.3-1.5 s                            300-800 µV
gap              every channel, 50-500 ms of NaN or zero (dropped packets)            -
flat             a disconnected channel: constant offset, 10 nV noise                 -
noisy_channel    high impedance: white noise 3-8x the channel's own RMS plus mains    -
bridged          two neighbours share one signal (correlation > 0.99)                 -
===============  ==================================================================  =========
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core.findings import Finding
from ._heartbeat import heartbeats

__all__ = [
    "ARTIFACT_KINDS",
    "CHANNEL_KINDS",
    "DEFAULT_RATES",
    "EPISODE_KINDS",
    "EVENT_KINDS",
    "inject_artifacts",
]

EVENT_KINDS = ("blink", "saccade", "muscle", "pop", "movement", "saturation", "gap")
EPISODE_KINDS = ("ecg", "line_noise")
CHANNEL_KINDS = ("flat", "noisy_channel", "bridged")
ARTIFACT_KINDS = EVENT_KINDS + EPISODE_KINDS + CHANNEL_KINDS

#: Events (or episodes) per minute; for channel faults, channels (pairs) per 32 channels.
DEFAULT_RATES: dict[str, float] = {
    "blink": 6.0,
    "saccade": 3.0,
    "muscle": 2.0,
    "pop": 1.5,
    "movement": 1.0,
    "saturation": 0.5,
    "gap": 1.0,
    "ecg": 0.3,
    "line_noise": 0.5,
    "flat": 1.0,
    "noisy_channel": 1.0,
    "bridged": 0.5,
}

_DURATIONS = {
    "blink": (0.2, 0.4),
    "saccade": (0.4, 1.5),
    "muscle": (0.5, 3.0),
    "pop": (0.25, 1.5),  # five decay time constants
    "movement": (1.0, 4.0),
    "saturation": (0.3, 1.5),
    "gap": (0.05, 0.5),
    "ecg": (10.0, 60.0),
    "line_noise": (5.0, 30.0),
}
_MIN_SEPARATION = 0.5  # s between transient events, so each one is unambiguous
_MARGIN = 0.5  # s kept free at both ends
_LISTED = 0.2  # fraction of the peak amplitude for a channel to be listed
_EYES = np.array([[-0.032, 0.08, -0.04], [0.032, 0.08, -0.04]])
_TEMPORAL = np.array([[-0.08, -0.01, -0.02], [0.08, -0.01, -0.02]])
_HEART = np.array([-0.06, -0.08, -0.25])

SOURCE = "simulator"


class _Scene:
    """Data, montage and random state shared by the artifact models."""

    def __init__(self, data, names, pos, sfreq, rng):
        self.data, self.names, self.pos, self.sfreq, self.rng = data, names, pos, sfreq, rng
        self.n_channels, self.n = data.shape

    def listed(self, weights: np.ndarray) -> tuple[str, ...]:
        w = np.abs(weights)
        return tuple(self.names[i] for i in np.flatnonzero(w >= _LISTED * w.max()))

    def neighbours(self, centre: int, k: int) -> np.ndarray:
        dist = np.linalg.norm(self.pos - self.pos[centre], axis=1)
        return np.argsort(dist, kind="stable")[:k]

    def finding(self, kind, start, stop, channels=(), **extras) -> Finding:
        return Finding(
            onset=start / self.sfreq,
            duration=(stop - start) / self.sfreq,
            kind=kind,
            channels=channels,
            detector=SOURCE,
            extras={
                k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in extras.items()
            },
        )


def _distance_weights(pos: np.ndarray, sources: np.ndarray, scale: float) -> np.ndarray:
    dist = np.linalg.norm(pos[:, None] - sources[None], axis=-1).min(axis=1)
    return np.exp(-(dist - dist.min()) / scale)


def _taper(n: int, fraction: float = 0.2) -> np.ndarray:
    from scipy.signal.windows import tukey

    return tukey(n, fraction).astype(np.float32)


# --- transient events: each adds into data[:, start:stop] and returns its Finding ---------


def _blink(s: _Scene, start: int, stop: int) -> Finding:
    amp = s.rng.uniform(50e-6, 200e-6)
    w = _distance_weights(s.pos, _EYES, 0.035)
    x = np.linspace(0, 1, stop - start)
    # Fast rise, slower fall, as the lid closes quickly and reopens more slowly.
    shape = np.sin(np.pi * x**0.7) ** 2
    s.data[:, start:stop] += (amp * w[:, None] * shape[None]).astype(np.float32)
    return s.finding("blink", start, stop, s.listed(w), amplitude=amp)


def _saccade(s: _Scene, start: int, stop: int) -> Finding:
    amp = s.rng.uniform(20e-6, 60e-6) * s.rng.choice([-1.0, 1.0])
    frontal = np.exp(-np.clip(0.05 - s.pos[:, 1], 0, None) / 0.03)
    w = np.clip(s.pos[:, 0] / 0.07, -1, 1) * frontal
    w /= max(np.abs(w).max(), 1e-12)
    n = stop - start
    ramp = max(2, round(0.03 * s.sfreq))  # ~30 ms eye movement, then fixation
    t = np.arange(n)
    shape = 1 / (1 + np.exp(-(t - ramp) / (ramp / 6))) - 1 / (
        1 + np.exp(-(t - (n - ramp)) / (ramp / 6))
    )
    s.data[:, start:stop] += (amp * w[:, None] * shape[None]).astype(np.float32)
    return s.finding("saccade", start, stop, s.listed(w), amplitude=abs(amp))


def _muscle(s: _Scene, start: int, stop: int) -> Finding:
    from scipy.signal import butter, sosfiltfilt

    side = s.rng.integers(0, 3)  # left, right or both temporal regions
    sources = _TEMPORAL if side == 2 else _TEMPORAL[side : side + 1]
    w = _distance_weights(s.pos, sources, 0.025)
    chans = np.flatnonzero(w >= _LISTED)
    rms = s.rng.uniform(10e-6, 40e-6)
    n = stop - start
    pad = round(0.1 * s.sfreq)
    high = min(200.0, 0.45 * s.sfreq)
    sos = butter(4, [20.0, high], btype="bandpass", fs=s.sfreq, output="sos")
    noise = sosfiltfilt(sos, s.rng.standard_normal((len(chans), n + 2 * pad)), axis=1)
    noise = noise[:, pad:-pad]
    noise /= noise.std(axis=1, keepdims=True)
    burst = rms * w[chans, None] * noise * _taper(n, 0.3)[None]
    s.data[chans, start:stop] += burst.astype(np.float32)
    return s.finding("muscle", start, stop, tuple(s.names[i] for i in chans), amplitude=rms)


def _pop(s: _Scene, start: int, stop: int) -> Finding:
    ch = int(s.rng.integers(s.n_channels))
    amp = s.rng.uniform(100e-6, 500e-6) * s.rng.choice([-1.0, 1.0])
    tau = (stop - start) / s.sfreq / 5
    t = np.arange(stop - start) / s.sfreq
    s.data[ch, start:stop] += np.float32(amp) * np.exp(-t / tau).astype(np.float32)
    return s.finding("pop", start, stop, (s.names[ch],), amplitude=abs(amp), tau=tau)


def _movement(s: _Scene, start: int, stop: int) -> Finding:
    from scipy.signal import butter, sosfiltfilt

    centre = int(s.rng.integers(s.n_channels))
    group = s.neighbours(centre, int(s.rng.integers(3, 11)))
    amp = s.rng.uniform(50e-6, 300e-6)
    n = stop - start
    sos = butter(2, min(2.0, 0.2 * s.sfreq), btype="lowpass", fs=s.sfreq, output="sos")
    wander = sosfiltfilt(sos, np.cumsum(s.rng.standard_normal(n)))
    wander -= np.linspace(wander[0], wander[-1], n)  # start and end at the baseline
    wander *= _taper(n, 0.5)
    wander /= max(np.abs(wander).max(), 1e-30)
    dist = np.linalg.norm(s.pos[group] - s.pos[centre], axis=1)
    gain = 0.6 + 0.4 * np.exp(-dist / 0.03)
    s.data[group, start:stop] += (amp * gain[:, None] * wander[None]).astype(np.float32)
    return s.finding("movement", start, stop, tuple(s.names[i] for i in group), amplitude=amp)


def _saturation(s: _Scene, start: int, stop: int) -> Finding:
    centre = int(s.rng.integers(s.n_channels))
    group = s.neighbours(centre, int(s.rng.integers(1, 4)))
    limit = s.rng.uniform(300e-6, 800e-6)
    n = stop - start
    sign = s.rng.choice([-1.0, 1.0])
    # A drive 1.5-3x past the rail that rises and falls quickly, clipped at the rail.
    x = np.linspace(0, 1, n)
    drive = sign * limit * s.rng.uniform(1.5, 3.0) * np.clip(np.minimum(x, 1 - x) / 0.1, 0, 1)
    seg = s.data[group, start:stop] + drive[None].astype(np.float32)
    np.clip(seg, -limit, limit, out=seg)
    s.data[group, start:stop] = seg
    clipped = float((np.abs(seg) >= np.float32(limit)).any(axis=0).mean())
    names = tuple(s.names[i] for i in group)
    return s.finding("saturation", start, stop, names, amplitude=limit, clipped_fraction=clipped)


def _gap(s: _Scene, start: int, stop: int, fill: str) -> Finding:
    if fill == "random":
        fill = str(s.rng.choice(["nan", "zero"]))
    s.data[:, start:stop] = np.nan if fill == "nan" else 0.0
    return s.finding("gap", start, stop, (), fill=fill)


# --- episodes: continuous sources switched on for a while --------------------------------


def _ecg(s: _Scene, start: int, stop: int) -> tuple[Finding, np.ndarray]:
    rng = s.rng
    bpm = rng.uniform(50, 90)
    wave, peaks = heartbeats(rng, stop - start, s.sfreq, bpm)
    peaks = peaks + start
    amp = rng.uniform(3e-6, 15e-6)
    w = _distance_weights(s.pos, _HEART[None], 0.08)
    s.data[:, start:stop] += (amp * w[:, None] * (wave * _taper(stop - start, 0.02))[None]).astype(
        np.float32
    )
    return s.finding("ecg", start, stop, s.listed(w), amplitude=amp, bpm=bpm), peaks


def _line_noise(s: _Scene, start: int, stop: int, freq: float) -> Finding:
    rng = s.rng
    n = stop - start
    share = rng.uniform(0.2, 1.0)
    chans = np.sort(rng.choice(s.n_channels, max(1, round(share * s.n_channels)), replace=False))
    amp = rng.uniform(5e-6, 30e-6)
    t = np.arange(n) / s.sfreq
    # Mains amplitude drifts with loads switching elsewhere: a slow random modulation.
    env = 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi))
    hum = np.zeros(n)
    for harmonic, rel in ((1, 1.0), (2, 0.3), (3, 0.15)):
        if harmonic * freq < 0.45 * s.sfreq:
            hum += rel * np.sin(2 * np.pi * harmonic * freq * t + rng.uniform(0, 2 * np.pi))
    gains = rng.uniform(0.5, 1.0, len(chans))
    gains /= gains.max()
    block = amp * gains[:, None] * (env * hum * _taper(n, 0.05))[None]
    s.data[chans, start:stop] += block.astype(np.float32)
    names = tuple(s.names[i] for i in chans)
    return s.finding("line_noise", start, stop, names, amplitude=amp, frequency=freq)


# --- scheduling -------------------------------------------------------------------------


def _count(kind: str, rates: Mapping[str, float], minutes: float) -> int:
    return max(1, round(rates[kind] * minutes))


def _schedule(kinds, rates, n, sfreq, rng) -> tuple[list[tuple[str, int, int]], list[str]]:
    """Place transient events without overlap, at random, separated by at least 0.5 s."""
    minutes = n / sfreq / 60
    wanted = [k for k in EVENT_KINDS if k in kinds for _ in range(_count(k, rates, minutes))]
    order = rng.permutation(len(wanted))
    items = [(wanted[i], rng.uniform(*_DURATIONS[wanted[i]])) for i in order]
    room = n / sfreq - 2 * _MARGIN
    dropped: list[str] = []
    # Drop events (the most frequent kinds first) until everything fits.
    while items and sum(d for _, d in items) + _MIN_SEPARATION * (len(items) - 1) > room:
        counts = {k: sum(1 for kk, _ in items if kk == k) for k, _ in items}
        worst = max(counts, key=lambda k: (counts[k], k))
        idx = max(i for i, (k, _) in enumerate(items) if k == worst)
        dropped.append(items.pop(idx)[0])
    if not items:
        return [], dropped
    slack = room - sum(d for _, d in items) - _MIN_SEPARATION * (len(items) - 1)
    gaps = rng.dirichlet(np.ones(len(items) + 1)) * slack
    placed, t = [], _MARGIN
    for (kind, dur), gap in zip(items, gaps[:-1], strict=True):
        t += gap
        start = round(t * sfreq)
        placed.append((kind, start, min(n, start + max(1, round(dur * sfreq)))))
        t += dur + _MIN_SEPARATION
    return placed, dropped


def _episodes(kind, rates, n, sfreq, rng) -> list[tuple[int, int]]:
    """Non-overlapping episodes of ``kind``, each at most half the recording."""
    lo, hi = _DURATIONS[kind]
    total = n / sfreq
    hi = min(hi, total / 2)
    lo = min(lo, hi)
    out: list[tuple[int, int]] = []
    for _ in range(_count(kind, rates, total / 60)):
        for _attempt in range(20):
            dur = rng.uniform(lo, hi)
            onset = rng.uniform(0, total - dur)
            start, stop = round(onset * sfreq), round((onset + dur) * sfreq)
            if all(stop <= a or start >= b for a, b in out):
                out.append((start, stop))
                break
    return sorted(out)


def inject_artifacts(
    data: np.ndarray,
    names: Sequence[str],
    pos: np.ndarray,
    sfreq: float,
    kinds: Sequence[str],
    rng: np.random.Generator,
    *,
    rates: Mapping[str, float] | None = None,
    line_freq: float | None = None,
    gap_fill: str = "random",
) -> tuple[list[Finding], dict[str, tuple[str, ...]], dict[str, np.ndarray], dict[str, Any]]:
    """Add artifacts of ``kinds`` to ``data`` (channels x samples, volts) in place.

    Returns
    -------
    events : list of Finding
        Transient events and episodes, sorted by onset.
    faults : dict
        Channel name → the channel-fault kinds given to it.
    arrays : dict
        ``ecg_r_peaks``: sample index of every injected heartbeat.
    extras : dict
        ``line_freq``, ``dropped_events`` (events that did not fit), ``counts`` per kind.
    """
    rates = {**DEFAULT_RATES, **(rates or {})}
    s = _Scene(data, list(names), pos, sfreq, rng)
    if line_freq is None:
        line_freq = float(rng.choice([50.0, 60.0]))
    events: list[Finding] = []
    faults: dict[str, list[str]] = {}

    # Channel faults are decided first so they use distinct channels.
    free = list(rng.permutation(s.n_channels))
    fault_channels: dict[str, list[int]] = {}
    per32 = s.n_channels / 32
    if "bridged" in kinds and s.n_channels >= 4:
        pairs = []
        for _ in range(max(1, round(rates["bridged"] * per32))):
            if not free:
                break
            a = free.pop(0)
            partner = next((int(b) for b in s.neighbours(a, s.n_channels)[1:] if b in free), None)
            if partner is None:
                break
            free.remove(partner)
            pairs.append((int(a), partner))
        fault_channels["bridged"] = [c for p in pairs for c in p]
        for a, b in pairs:
            shared = 0.5 * (data[a] + data[b])
            jitter = 0.02 * float(shared.std())
            data[a] = shared + jitter * rng.standard_normal(s.n).astype(np.float32)
            data[b] = shared + jitter * rng.standard_normal(s.n).astype(np.float32)
    for kind in ("flat", "noisy_channel"):
        if kind in kinds and s.n_channels >= 2:
            take = min(len(free) - 1, max(1, round(rates[kind] * per32)))
            fault_channels[kind] = [int(free.pop(0)) for _ in range(max(0, take))]

    r_peaks = [np.zeros(0, np.int64)]
    if "ecg" in kinds:
        for start, stop in _episodes("ecg", rates, s.n, sfreq, rng):
            event, peaks = _ecg(s, start, stop)
            events.append(event)
            r_peaks.append(peaks)
    if "line_noise" in kinds:
        for start, stop in _episodes("line_noise", rates, s.n, sfreq, rng):
            events.append(_line_noise(s, start, stop, line_freq))

    placed, dropped = _schedule(kinds, rates, s.n, sfreq, rng)
    late = []
    models = {
        "blink": _blink,
        "saccade": _saccade,
        "muscle": _muscle,
        "pop": _pop,
        "movement": _movement,
    }
    for kind, start, stop in placed:
        if kind in models:
            events.append(models[kind](s, start, stop))
        else:
            late.append((kind, start, stop))

    # High impedance: broadband noise several times the channel's RMS, and more mains pickup.
    t = np.arange(s.n) / sfreq
    for ch in fault_channels.get("noisy_channel", []):
        level = rng.uniform(3, 8) * float(data[ch].std())
        noise = level * rng.standard_normal(s.n) + 5e-6 * np.sin(2 * np.pi * line_freq * t)
        data[ch] += noise.astype(np.float32)
    # A disconnected channel carries nothing of the head, not even its artifacts.
    for ch in fault_channels.get("flat", []):
        data[ch] = rng.uniform(-50e-6, 50e-6) + 1e-8 * rng.standard_normal(s.n)
    # Clipping and dropped samples come last: they act on the signal as recorded.
    for kind, start, stop in late:
        if kind == "saturation":
            events.append(_saturation(s, start, stop))
        else:
            events.append(_gap(s, start, stop, gap_fill))

    for kind, chans in fault_channels.items():
        for ch in chans:
            faults.setdefault(s.names[ch], []).append(kind)
    events.sort(key=lambda e: (e.onset, e.kind))
    counts = {k: sum(1 for e in events if e.kind == k) for k in EVENT_KINDS + EPISODE_KINDS}
    counts.update({k: len(v) for k, v in fault_channels.items()})
    extras = {
        "line_freq": line_freq,
        "dropped_events": dropped,
        "counts": {k: v for k, v in counts.items() if k in kinds},
    }
    return (
        events,
        {k: tuple(v) for k, v in faults.items()},
        {"ecg_r_peaks": np.concatenate(r_peaks)},
        extras,
    )
