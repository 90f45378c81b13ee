"""The remover's training mixtures: synthetic ocular epochs widen the few real ones."""

import numpy as np

from neurolint.correct._ocular import synthetic_eog
from neurolint.correct.training import RemoverData


def test_synthetic_ocular_epochs_are_unit_rms_and_in_the_eog_band():
    x = synthetic_eog(np.random.default_rng(0), 64)
    assert x.shape == (64, 512) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_allclose(np.sqrt((x.astype(np.float64) ** 2).mean(axis=1)), 1, atol=1e-3)
    power = np.abs(np.fft.rfft(x, axis=1)) ** 2
    freqs = np.fft.rfftfreq(512, 1 / 256)
    assert power[:, freqs > 15].sum() < 0.01 * power.sum()
    np.testing.assert_array_equal(x, synthetic_eog(np.random.default_rng(0), 64))
    assert len({round(float(v), 4) for v in x[:, 256]}) > 50  # every epoch differs


def test_mixtures_take_synthetic_ocular_epochs_only_when_asked():
    rng = np.random.default_rng(1)
    clean = rng.standard_normal((20, 512)).astype(np.float32)
    real = np.ones((3, 512), dtype=np.float32)  # flat "EOG": easy to recognise
    data = RemoverData(clean, {"eog": real, "emg": real.copy()})

    def artifacts(fraction):
        noisy, x, _, _ = data.mix(
            np.random.default_rng(2), 200, kinds=("eog",), synthetic_eog=fraction
        )
        return noisy - x

    assert np.allclose(np.ptp(artifacts(0.0), axis=1), 0, atol=1e-4)
    assert (np.ptp(artifacts(1.0), axis=1) > 1e-3).all()
