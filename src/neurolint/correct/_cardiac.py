"""Synthetic cardiac epochs for the remover: heartbeats as they reach EEG electrodes.

``eeglab_data`` has no ECG channel, so the remover's cardiac examples are drawn from the
simulator's heartbeat model (:func:`neurolint.simulate._heartbeat.heartbeats`), with each
epoch's wave widths, heights and heart rate varied well beyond the simulator's single
shape: the network should learn what a heartbeat is, not one heartbeat. Each epoch has a
random polarity (the cardiac field reverses across the scalp).
"""

from __future__ import annotations

import numpy as np

from ..simulate._heartbeat import PQRST, heartbeat_epoch

__all__ = ["synthetic_ecg"]

_RATE = 256.0


def synthetic_ecg(rng: np.random.Generator, size: int, n: int = 512) -> np.ndarray:
    """``size`` cardiac epochs of ``n`` samples at 256 Hz, unit RMS, float32.

    Heart rate 45-120 bpm; each wave's width and height scaled by 0.6-1.6 (the T wave's
    height by 0-2, so some epochs are nearly pure QRS); a slow baseline wander of up to a
    fifth of the R height rides along in a quarter of them.
    """
    out = np.empty((size, n), dtype=np.float32)
    t = np.arange(n) / _RATE
    # Each wave's time, width and height scaled within these bounds; the T wave's height
    # goes from none to double.
    lows = [(0.8, 0.6, 0.6)] * 4 + [(0.8, 0.6, 0.0)]
    highs = [(1.2, 1.6, 1.6)] * 4 + [(1.3, 1.6, 2.0)]
    for i in range(size):
        waves = tuple(
            tuple(v * rng.uniform(lo, hi) for v, lo, hi in zip(wave, low, high, strict=True))
            for wave, low, high in zip(PQRST, lows, highs, strict=True)
        )
        wave = heartbeat_epoch(rng, n, _RATE, rng.uniform(45, 120), waves)
        if rng.random() < 0.25:
            wave = wave + 0.2 * rng.uniform(-1, 1) * np.sin(
                2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi)
            )
        wave = wave * rng.choice([-1.0, 1.0])
        out[i] = wave / (np.sqrt(np.mean(wave**2)) + 1e-30)
    return out
