"""Heartbeats as they reach the scalp: a PQRST waveform repeated with heart-rate variability.

Shared by the EEG simulator's ``ecg`` episodes and the remover's synthetic cardiac epochs
(:mod:`neurolint.correct._cardiac`), so both draw the same physiology.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PQRST", "beat_train", "heartbeat_epoch", "heartbeats"]

#: P, Q, R, S, T waves as Gaussians: (time relative to R in s, width in s, relative height).
PQRST = (
    (-0.2, 0.025, 0.12),
    (-0.03, 0.01, -0.15),
    (0.0, 0.012, 1.0),
    (0.03, 0.01, -0.25),
    (0.25, 0.05, 0.3),
)


def heartbeats(
    rng: np.random.Generator,
    n: int,
    sfreq: float,
    bpm: float,
    waves: tuple[tuple[float, float, float], ...] = PQRST,
) -> tuple[np.ndarray, np.ndarray]:
    """A train of beats over ``n`` samples: ``(wave, r_peaks)``, R waves of height ~1.

    RR intervals carry a slow (respiratory) modulation of 4% and 2% jitter; the first R
    falls 0.1-0.5 s in, and no R falls in the last 0.4 s.
    """
    n_beats = int(n / sfreq * bpm / 60) + 2
    k = np.arange(n_beats)
    rr = 60 / bpm * (1 + 0.04 * np.sin(2 * np.pi * k / rng.uniform(3, 6)))
    rr *= 1 + 0.02 * rng.standard_normal(n_beats)
    peaks = np.round((rng.uniform(0.1, 0.5) + np.cumsum(rr) - rr[0]) * sfreq)
    peaks = peaks[peaks < n - 0.4 * sfreq].astype(np.int64)
    return beat_train(peaks, n, sfreq, waves), peaks


def beat_train(
    peaks: np.ndarray,
    n: int,
    sfreq: float,
    waves: tuple[tuple[float, float, float], ...] = PQRST,
) -> np.ndarray:
    """``n`` samples with one PQRST beat (R height ~1) centred on each R-peak sample."""
    from scipy.signal import oaconvolve

    t = np.arange(round(-0.25 * sfreq), round(0.45 * sfreq)) / sfreq
    beat = sum(h * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, h in waves)
    train = np.zeros(n)
    np.add.at(train, np.asarray(peaks, dtype=np.int64), 1.0)
    lead = -round(t[0] * sfreq)
    return oaconvolve(train, beat)[lead : lead + n]


def heartbeat_epoch(
    rng: np.random.Generator,
    n: int,
    sfreq: float,
    bpm: float,
    waves: tuple[tuple[float, float, float], ...] = PQRST,
) -> np.ndarray:
    """``n`` samples of :func:`heartbeats` cut from the middle of a train a second longer on
    each side, so that the epoch may start mid-beat (random phase)."""
    pad = round(sfreq)
    wave, _ = heartbeats(rng, n + 2 * pad, sfreq, bpm, waves)
    return wave[pad : pad + n]
