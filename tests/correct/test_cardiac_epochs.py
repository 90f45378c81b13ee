"""Synthetic heartbeat epochs for the remover: varied, unit RMS, reproducible."""

import numpy as np

from neurolint.correct._cardiac import synthetic_ecg
from neurolint.simulate._heartbeat import heartbeats


def test_heartbeats_put_an_r_wave_at_every_returned_peak():
    wave, peaks = heartbeats(np.random.default_rng(0), 2560, 256.0, 72.0)
    assert 8 <= len(peaks) <= 14  # about 72 bpm over 10 s
    np.testing.assert_allclose(wave[peaks], 1.0, atol=0.05)
    rr = np.diff(peaks) / 256.0
    assert np.all(np.abs(rr - 60 / 72) < 0.15)


def test_synthetic_cardiac_epochs_vary_in_shape_rate_and_polarity():
    x = synthetic_ecg(np.random.default_rng(0), 64)
    assert x.shape == (64, 512) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_allclose(np.sqrt((x.astype(np.float64) ** 2).mean(axis=1)), 1, atol=1e-3)
    np.testing.assert_array_equal(x, synthetic_ecg(np.random.default_rng(0), 64))
    up = x.max(axis=1) > -x.min(axis=1)
    assert 10 < up.sum() < 54  # both polarities
    beats = [np.sum(np.abs(row) > 0.6 * np.abs(row).max()) for row in x]
    assert len(set(beats)) > 3  # heart rates and shapes differ
