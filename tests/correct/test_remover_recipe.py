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


def test_each_clean_epoch_gets_its_neighbours_mean_rebuilt_from_the_recording(shared_data):
    from neurolint.correct.training import remover_data

    # clean_contexts raises if the epoch's own channel, rebuilt the same way, differs.
    train, valid, _ = remover_data(shared_data / "eeg" / "eeglab_data.set", context=True)
    assert train.context.shape == train.clean.shape and valid.context.shape == valid.clean.shape
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(train.clean, train.context, strict=True)]
    assert np.median(r) > 0.8  # neighbouring EEG is largely shared


def test_context_mixtures_carry_the_artifact_as_a_neighbour_sees_it():
    rng = np.random.default_rng(3)
    clean = rng.standard_normal((10, 512)).astype(np.float32)
    eog = np.tile(np.sin(np.linspace(0, np.pi, 512)), (4, 1)).astype(np.float32)
    data = RemoverData(clean, {"eog": eog, "emg": eog.copy()}, context=clean.copy())
    noisy, x, _, _, ctx = data.mix(np.random.default_rng(4), 300, kinds=("eog",), with_context=True)
    # Here each clean epoch is its own context, so what the context adds is ctx - x.
    art, ctx_art = noisy - x, ctx - x
    gain = (ctx_art * art).sum(1) / (art * art).sum(1)
    assert np.allclose(ctx_art, gain[:, None] * art, atol=1e-4)  # same waveform, own gain
    assert (gain < 0).mean() > 0.05 and (gain > 0.4).mean() > 0.6
    assert (gain > 1.2).mean() > 0.15  # anterior neighbours see more of the eyes
    *_, dropped = data.mix(
        np.random.default_rng(4), 300, kinds=("eog",), with_context=True, context_dropout=1.0
    )
    assert not dropped.any()


def test_the_remover_reads_context_when_its_network_takes_it():
    import pytest

    from neurolint.core.errors import ShapeError
    from neurolint.correct.artifacts import denoise_epochs
    from neurolint.models.nets.remover import build_remover

    x = np.random.default_rng(0).standard_normal((6, 512)).astype(np.float32)
    two, one = build_remover(in_channels=2).eval(), build_remover().eval()
    assert not np.allclose(denoise_epochs(x, module=two), denoise_epochs(x, context=x, module=two))
    np.testing.assert_array_equal(
        denoise_epochs(x, module=one), denoise_epochs(x, context=x, module=one)
    )
    with pytest.raises(ShapeError, match="context"):
        denoise_epochs(x, context=x[:2], module=two)


def test_window_context_is_the_mean_of_the_channels_neighbours():
    from neurolint.correct.artifacts import ArtifactRemover

    step = ArtifactRemover()
    step.length_, step.neighbours_ = 4, {0: [1, 2], 1: []}
    block = np.arange(24, dtype=np.float32).reshape(3, 8)
    ctx = step._contexts(block, 10, np.array([[0, 12, 16], [1, 10, 14]]))
    np.testing.assert_allclose(ctx[0], block[1:3, 2:6].mean(axis=0))
    np.testing.assert_array_equal(ctx[1], 0)


def test_a_share_of_mixtures_take_simulated_clean_epochs_and_none_without_it():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((30, 512)).astype(np.float32)
    simulated = np.full((4, 512), 7.0, dtype=np.float32)  # easy to recognise
    art = {"eog": np.ones((3, 512), np.float32), "emg": np.ones((3, 512), np.float32)}
    data = RemoverData(real, art, simulated=simulated)

    def clean(share):
        kinds = ("eog", "emg")
        return data.mix(np.random.default_rng(6), 400, kinds, simulated_share=share)[1]

    assert not np.any(np.all(clean(0.0) == 7.0, axis=1))
    share = np.mean(np.all(clean(0.3) == 7.0, axis=1))
    assert 0.2 < share < 0.4
    # Without simulated epochs the draws are those of a pool without them (reproducible).
    bare = RemoverData(real, art)
    np.testing.assert_array_equal(
        data.mix(np.random.default_rng(6), 50, ("eog", "emg"))[0],
        bare.mix(np.random.default_rng(6), 50, ("eog", "emg"))[0],
    )


def test_kind_shares_set_how_often_each_artifact_appears():
    rng = np.random.default_rng(7)
    pool = {k: np.ones((2, 512), np.float32) for k in ("eog", "emg", "ecg")}
    data = RemoverData(rng.standard_normal((10, 512)).astype(np.float32), pool)
    kind = data.mix(rng, 4000, ("eog", "emg", "ecg"), shares=(0.6, 0.3, 0.1))[3]
    np.testing.assert_allclose(np.bincount(kind) / 4000, [0.6, 0.3, 0.1], atol=0.03)


def test_the_recipe_writes_weights_and_a_card_that_covers_every_kind(shared_data, tmp_path):
    import json

    from neurolint.correct.training import train_remover
    from neurolint.models.registry import load_model

    path = train_remover(shared_data / "eeg" / "eeglab_data.set", steps=3, out=tmp_path)
    card = json.loads((tmp_path / "eeg-remover.json").read_text())
    metrics = card["validation"]["metrics"]["alone"]
    assert set(metrics) == {"eog", "emg", "ecg", "simulated"}
    assert card["training"]["artifact_epochs"]["ecg"] == 4000
    assert card["training"]["simulated_share"] == 0.3
    module, _ = load_model(str(path))
    assert sum(p.numel() for p in module.parameters()) > 10_000
