"""Synthetic ocular waveforms to widen the remover's few real EOG epochs.

The train split of ``eeglab_data`` holds about thirty blink epochs: too few shapes for a
network to learn what an eye does rather than what those thirty looked like. These epochs
are drawn from the same physiology as the simulator's (a lid closing fast and reopening
slowly; saccades as steps between fixations), with random timing, width and count, and
pass the EEGdenoiseNet EOG band (0.3-10 Hz) as the real epochs do. They only ever join
the training mixtures; every evaluation uses real EOG.
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_eog"]

_RATE = 256.0


def _blink(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    width = int(rng.uniform(0.2, 0.5) * _RATE)
    start = int(rng.integers(-width // 2, n - width // 2))
    x = np.linspace(0, 1, width)
    shape = np.sin(np.pi * x ** rng.uniform(0.5, 0.9)) ** 2 * rng.uniform(0.6, 1.4)
    a, z = max(start, 0), min(start + width, n)
    out[a:z] = shape[a - start : z - start]
    return out


def _saccades(n: int, rng: np.random.Generator) -> np.ndarray:
    """Fixations at random levels joined by ~30 ms sigmoid steps."""
    from scipy.special import expit

    t = np.arange(n)
    out = np.zeros(n)
    pos = int(rng.integers(0, int(0.5 * _RATE)))
    level = 0.0
    while pos < n:
        target = rng.uniform(-0.6, 0.6)
        ramp = rng.uniform(0.02, 0.05) * _RATE
        out += (target - level) * expit((t - pos) / (ramp / 6))
        level = target
        pos += int(rng.uniform(0.15, 1.2) * _RATE)
    return out


def synthetic_eog(rng: np.random.Generator, size: int, n: int = 512) -> np.ndarray:
    """``size`` ocular epochs of ``n`` samples at 256 Hz, unit RMS, float32.

    Each is a mixture of 0-3 blinks and, half the time, saccades, on a slow drift, built
    three times longer than ``n`` and band-passed to 0.3-10 Hz before the middle is kept,
    so that the filter leaves no edge.
    """
    from scipy.signal import butter, sosfiltfilt

    long = 3 * n
    raw = np.zeros((size, long))
    for i in range(size):
        for _ in range(int(rng.integers(0, 4)) if rng.random() < 0.85 else 0):
            raw[i] += _blink(long, rng)
        if rng.random() < 0.5 or not raw[i].any():
            raw[i] += _saccades(long, rng) * rng.uniform(0.3, 1.0)
        raw[i] += rng.uniform(-0.3, 0.3) * np.linspace(-1, 1, long)
    sos = butter(2, [0.3, 10.0], "bandpass", fs=_RATE, output="sos")
    epochs = sosfiltfilt(sos, raw, axis=1)[:, n : 2 * n]
    epochs /= np.sqrt(np.mean(epochs**2, axis=1, keepdims=True)) + 1e-30
    return epochs.astype(np.float32)
