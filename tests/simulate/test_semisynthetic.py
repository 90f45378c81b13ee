"""The semisynthetic simulator follows the EEGdenoiseNet protocol on real (or given) EEG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurolint.core import ChannelInfo, TimeSeries
from neurolint.core.errors import OutputExistsError, ParameterError
from neurolint.simulate._truth import GroundTruth
from neurolint.simulate.semisynthetic import (
    EpochDataset,
    achieved_snr,
    simulate_semisynthetic,
)

FS_SOURCE = 250.0  # not 256, so that resampling is exercised
DURATION = 100.0
BLINK_AMPLITUDE = 150e-6


def _blink_times(rng: np.random.Generator) -> np.ndarray:
    """A blink every 6-9 s."""
    return np.cumsum(rng.uniform(6.0, 9.0, size=int(DURATION / 6)))[:-1] + 2.0


def _make_source(seed: int = 0, with_eog: bool = True) -> tuple[TimeSeries, np.ndarray]:
    """A 6-channel EEG-like recording with known blinks on VEOG and Fp1; returns the blinks."""
    rng = np.random.default_rng(seed)
    n = int(DURATION * FS_SOURCE)
    t = np.arange(n) / FS_SOURCE
    # Background: smoothed white noise (about 10 µV) plus posterior alpha.
    white = rng.standard_normal((6, n))
    kernel = np.hanning(9) / np.hanning(9).sum()
    background = np.array([np.convolve(w, kernel, mode="same") for w in white])
    background *= 10e-6 / background.std(axis=1, keepdims=True)
    alpha = 8e-6 * np.sin(2 * np.pi * 10.0 * t)
    blinks = _blink_times(rng)
    bump = np.exp(-0.5 * ((t[None, :] - blinks[:, None]) / 0.08) ** 2).sum(axis=0)
    gains = np.array([1.0, 0.7, 0.02, 0.0, 0.0, 0.0]) * BLINK_AMPLITUDE
    posterior = np.array([0, 0, 1, 1, 1, 1], dtype=float)
    data = background + gains[:, None] * bump + posterior[:, None] * alpha
    names = ["VEOG", "Fp1", "Pz", "POz", "O1", "O2"]
    types = ["eog", "eeg", "eeg", "eeg", "eeg", "eeg"]
    if not with_eog:
        data, names, types = data[2:], names[2:], types[2:]
    info = ChannelInfo(names, types, "V")
    return TimeSeries(data.astype(np.float32), FS_SOURCE, info), blinks


@pytest.fixture(scope="module")
def source():
    return _make_source()


@pytest.fixture(scope="module")
def sim(source):
    ts, _ = source
    return simulate_semisynthetic(ts, seed=3, test_fraction=0.25)


def test_missing_source_says_what_to_pass():
    with pytest.raises(ParameterError, match=r"semisynthetic needs real EEG.*source=PATH"):
        simulate_semisynthetic(None)
    with pytest.raises(ParameterError, match="semisynthetic needs real EEG"):
        simulate_semisynthetic([])


def test_epochs_are_2s_at_256hz_in_volts(sim):
    data, truth = sim
    assert isinstance(data, EpochDataset)
    assert data.sampling_rate == 256.0
    for name in ("train", "test"):
        part = data.split(name)
        for arr in (part.clean, part.artifact, part.noisy):
            assert arr.dtype == np.float32 and arr.shape == (len(part), 512)
        # EEG-sized amplitudes in volts: tens of microvolts.
        assert 1e-6 < np.sqrt(np.mean(part.clean.astype(float) ** 2)) < 1e-4
        assert set(part.kind) == {"eog", "emg"}
    assert truth.clean is None
    assert truth.simulator == "semisynthetic"


def test_noisy_is_clean_plus_artifact_exactly(sim):
    data, _ = sim
    for name in ("train", "test"):
        part = data.split(name)
        np.testing.assert_array_equal(part.noisy, part.clean + part.artifact)


def test_achieved_snr_equals_requested_snr(sim):
    data, truth = sim
    for name in ("train", "test"):
        part = data.split(name)
        snr = 10 * np.log10(
            np.sqrt(np.mean(part.clean.astype(float) ** 2, axis=1))
            / np.sqrt(np.mean(part.artifact.astype(float) ** 2, axis=1))
        )
        np.testing.assert_allclose(snr, part.snr_db, atol=1e-3, rtol=0)
        np.testing.assert_allclose(achieved_snr(part), snr, atol=1e-9)
        for kind in ("eog", "emg"):
            stats = truth.extras["snr_achieved_db"][name][kind]
            assert stats["max_abs_error"] < 1e-3
            assert -7.001 < stats["min"] <= stats["max"] < 2.001


def test_training_mixes_each_pair_ten_times_at_random_snrs(sim):
    part = sim.data.train
    pairs, counts = np.unique(
        np.stack([part.clean_index, part.artifact_index]), axis=1, return_counts=True
    )
    assert np.all(counts == 10)
    # Each artifact waveform forms exactly one pair.
    assert len(np.unique(pairs[1])) == pairs.shape[1] == len(part.artifact_epochs["kind"])
    assert part.snr_db.min() >= -7 and part.snr_db.max() <= 2
    assert len(np.unique(part.snr_db)) == len(part)  # drawn, not a grid
    assert abs(part.snr_db.mean() - (-2.5)) < 0.3  # uniform on [-7, 2]


def test_test_set_uses_the_ten_level_grid_per_pair(sim):
    part = sim.data.test
    for a in np.unique(part.artifact_index):
        rows = part.artifact_index == a
        assert len(np.unique(part.clean_index[rows])) == 1
        np.testing.assert_array_equal(np.sort(part.snr_db[rows]), np.arange(-7.0, 3.0))


def test_train_and_test_come_from_disjoint_time_segments(sim):
    data, truth = sim
    guard = truth.params["guard"]

    def spans(part):
        onsets = np.concatenate(
            [
                part.clean_epochs["onset"],
                part.artifact_epochs["onset"][part.artifact_epochs["kind"] == "eog"],
            ]
        )
        return onsets, onsets + 2.0

    train_on, train_off = spans(data.train)
    test_on, test_off = spans(data.test)
    assert train_off.max() + guard <= test_on.min() + 1e-9
    ranges = truth.extras["time_ranges"]
    assert ranges["train"][0]["stop"] + guard <= ranges["test"][0]["start"] + 1e-9
    assert train_on.min() >= ranges["train"][0]["start"] - 1e-9
    assert train_off.max() <= ranges["train"][0]["stop"] + 1e-9
    assert test_off.max() <= ranges["test"][0]["stop"] + 1e-9
    # Blink events carry the split they were used in.
    for event in truth.events_of("blink"):
        split = event.extras["split"]
        rng = ranges[split][0]
        assert rng["start"] - 1e-9 <= event.onset and event.offset <= rng["stop"] + 1e-9


def test_eog_epochs_are_centred_on_true_blinks(source, sim):
    _, blinks = source
    for part in (sim.data.train, sim.data.test):
        eog = part.artifact_epochs["kind"] == "eog"
        centres = part.artifact_epochs["onset"][eog] + 1.0
        assert len(centres) > 0
        assert np.abs(centres[:, None] - blinks[None, :]).min(axis=1).max() < 0.05
        assert set(part.artifact_epochs["channel"][eog]) <= {"VEOG", "Fp1"}
        # The unscaled waveform is the blink: a large deflection at the centre.
        rows = part.rows("eog")
        wave = part.artifact[rows] / part.artifact_scale[rows, None]
        centre = np.abs(wave[:, 256 - 32 : 256 + 32]).max(axis=1)
        assert np.all(centre > 50e-6)
        assert np.all(centre > 4 * np.median(np.abs(wave), axis=1))


def test_clean_epochs_are_posterior_and_blink_free(source, sim):
    _, blinks = source
    for part in (sim.data.train, sim.data.test):
        assert set(part.clean_epochs["channel"]) <= {"Pz", "POz", "O1", "O2"}
        on = part.clean_epochs["onset"]
        # No blink within the epoch (the bumps are about 0.3 s wide; margin 0.5 s).
        inside = (blinks[None, :] > on[:, None] - 0.3) & (blinks[None, :] < on[:, None] + 2.3)
        assert not inside.any()


def test_emg_power_lies_mostly_above_20_hz(sim):
    part = sim.data.train
    rows = part.rows("emg")
    wave = part.artifact[rows].astype(float)
    power = np.abs(np.fft.rfft(wave, axis=1)) ** 2
    freqs = np.fft.rfftfreq(512, 1 / 256)
    share = power[:, freqs >= 20].sum() / power.sum()
    assert share > 0.9
    # Bursty: the envelope varies within epochs (peak/RMS above a Gaussian's ~3).
    crest = np.abs(wave).max(axis=1) / np.sqrt(np.mean(wave**2, axis=1))
    assert np.median(crest) > 3.0


def test_emg_differs_between_splits_and_pairs(sim):
    train, test = sim.data.train, sim.data.test
    a = train.artifact[train.rows("emg")[0]] / train.artifact_scale[train.rows("emg")[0]]
    b = test.artifact[test.rows("emg")[0]] / test.artifact_scale[test.rows("emg")[0]]
    assert not np.allclose(a, b)


def test_counts_in_truth_match_the_arrays(sim):
    data, truth = sim
    for name in ("train", "test"):
        part = data.split(name)
        counts = truth.extras["counts"][name]
        assert counts["total"] == len(part)
        assert counts["eog"] == int(np.sum(part.kind == "eog"))
        assert counts["emg"] == int(np.sum(part.kind == "emg"))
        assert counts["clean_epochs"] == len(part.clean_epochs["onset"])
    assert truth.params["seed"] == 3 and truth.params["test_fraction"] == 0.25
    GroundTruth.from_dict(__import__("json").loads(truth.to_json()))  # JSON-able


def test_same_seed_identical_different_seed_differs(source):
    ts, _ = source
    a = simulate_semisynthetic(ts, seed=1, test_fraction=0.25)
    b = simulate_semisynthetic(ts, seed=1, test_fraction=0.25)
    c = simulate_semisynthetic(ts, seed=2, test_fraction=0.25)
    for name in ("train", "test"):
        pa, pb, pc = a.data.split(name), b.data.split(name), c.data.split(name)
        for key in ("clean", "artifact", "noisy", "snr_db", "clean_index", "artifact_index"):
            np.testing.assert_array_equal(getattr(pa, key), getattr(pb, key))
        assert not np.array_equal(pa.noisy, pc.noisy)
    assert a.truth.to_json() == b.truth.to_json()


def test_one_artifact_kind_and_no_eog_channel(source):
    ts, _ = _make_source(with_eog=False)
    data, truth = simulate_semisynthetic(ts, artifacts=("emg",), test_fraction=0.25, n_emg=7)
    assert set(data.train.kind) == {"emg"}
    assert len(data.train) == 70 and len(data.test) == 70
    assert truth.events == []
    with pytest.raises(ParameterError, match="eog_channels"):
        simulate_semisynthetic(ts, artifacts="eog", test_fraction=0.25)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"artifacts": ("ecg",)},
        {"artifacts": ()},
        {"artifacts": ("eog", "eog")},
        {"test_fraction": 1.5},
        {"snr_range": (2.0, -7.0)},
        {"n_mixtures": 0},
        {"test_snrs": []},
        {"seed": -1},
        {"guard": -1.0},
        {"eeg_band": (1.0, 200.0)},
        {"clean_channels": ["Cz"]},
        {"clean_channels": ["Fp1"], "eog_channels": ["Fp1"]},
    ],
)
def test_bad_parameters_raise(source, kwargs):
    ts, _ = source
    with pytest.raises(ParameterError):
        simulate_semisynthetic(ts, **kwargs)


def test_source_of_wrong_type_raises():
    with pytest.raises(ParameterError, match="neither a path nor a TimeSeries"):
        simulate_semisynthetic(np.zeros((2, 100)))


def test_save_load_round_trip_and_refusal(sim, tmp_path):
    data, _ = sim
    path = tmp_path / "semi.h5"
    assert data.save(path) == path
    back = EpochDataset.load(path)
    assert back.sampling_rate == data.sampling_rate
    assert back.attrs["protocol"] == data.attrs["protocol"]
    for name in ("train", "test"):
        a, b = data.split(name), back.split(name)
        for key in (
            "clean",
            "artifact",
            "noisy",
            "snr_db",
            "kind",
            "clean_index",
            "artifact_index",
            "artifact_scale",
            "noisy_std",
        ):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        for key in ("source", "channel", "onset"):
            np.testing.assert_array_equal(a.clean_epochs[key], b.clean_epochs[key])
        for key in ("kind", "source", "channel", "onset"):
            np.testing.assert_array_equal(a.artifact_epochs[key], b.artifact_epochs[key])
    with pytest.raises(OutputExistsError):
        data.save(path)
    assert data.save(path, overwrite=True) == path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_write_simulation_saves_the_dataset(sim, tmp_path):
    from neurolint.simulate._write import write_simulation

    written = write_simulation(sim, tmp_path / "semi.h5")
    assert written[0] == tmp_path / "semi.h5"
    assert len(EpochDataset.load(written[0]).train) == len(sim.data.train)
    truth = GroundTruth.load(tmp_path / "semi_truth.json")
    assert truth.extras["counts"] == sim.truth.extras["counts"]


def test_noisy_std_supports_the_paper_standardisation(sim):
    part = sim.data.test
    scaled = part.noisy / part.noisy_std[:, None]
    np.testing.assert_allclose(scaled.std(axis=1), 1.0, atol=1e-4)


# -- the real recording ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_sim():
    # Module-scoped (built once); the tests also ask for ``shared_data``, which skips first.
    path = Path(__file__).resolve().parents[2].parent / "shared/data/eeg/eeglab_data.set"
    if not path.is_file():
        pytest.skip(f"real recording not available ({path} is absent)")
    return simulate_semisynthetic(path)


def test_real_recording_dataset(shared_data, real_sim):
    data, truth = real_sim
    assert truth.extras["sources"] == ["eeglab_data.set"]
    channels = truth.extras["channels"]["eeglab_data.set"]
    assert {"EOG1", "EOG2"} <= set(channels["eog"])
    assert all(n.upper().startswith(("P", "O")) for n in channels["clean"])
    for name in ("train", "test"):
        part = data.split(name)
        assert truth.extras["counts"][name]["eog"] > 0
        np.testing.assert_array_equal(part.noisy, part.clean + part.artifact)
        np.testing.assert_allclose(achieved_snr(part), part.snr_db, atol=1e-3, rtol=0)
    # Train and test epochs do not overlap in time.
    end_train = max(
        data.train.clean_epochs["onset"].max(), np.nanmax(data.train.artifact_epochs["onset"])
    )
    start_test = min(
        data.test.clean_epochs["onset"].min(), np.nanmin(data.test.artifact_epochs["onset"])
    )
    assert end_train + 2.0 <= start_test


def test_real_eog_epochs_hold_blinks(shared_data, real_sim):
    data, _ = real_sim
    for part in (data.train, data.test):
        rows = part.rows("eog")
        _, first = np.unique(part.artifact_index[rows], return_index=True)
        rows = rows[first]
        wave = part.artifact[rows].astype(float) / part.artifact_scale[rows, None]
        centre = np.abs(wave[:, 256 - 64 : 256 + 64]).max(axis=1)
        # Blinks and eye movements: tens to hundreds of microvolts at the epoch centre.
        assert np.all(centre > 50e-6)
        assert np.median(centre / np.median(np.abs(wave), axis=1)) > 5
