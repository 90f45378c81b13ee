"""simulate_ephys: spikes where the truth says, artifacts exactly where they are logged."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("spikeinterface")

from neurolint.core.errors import ParameterError
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate._truth import GroundTruth, Simulation
from neurolint.simulate.ephys import (
    EPHYS_ARTIFACTS,
    ground_truth_sorting,
    simulate_ephys,
)

FS = 30000.0


@pytest.fixture(scope="module")
def full():
    """A 32-channel recording with every artifact."""
    return simulate_ephys("linear32", duration=6.0, seed=3)


@pytest.fixture(scope="module")
def clean_only():
    """No artifacts, fixed rates, enough spikes to average."""
    return simulate_ephys("linear32", duration=20.0, firing_rate=10.0, artifacts=(), seed=5)


def _diff(sim: Simulation) -> np.ndarray:
    return sim.data.get_data() - sim.truth.clean.get_data()


def _expected_mask(sim: Simulation) -> np.ndarray:
    """Where the truth says data and clean may differ."""
    data, truth = sim
    names = data.ch_names
    mask = np.zeros(data.shape, dtype=bool)
    for event in truth.events:
        start = round(event.onset * FS)
        stop = round(event.offset * FS)
        rows = [names.index(c) for c in event.channels] if event.channels else slice(None)
        mask[rows, start:stop] = True
    for status in truth.channels:
        if status.is_bad:
            mask[names.index(status.name)] = True
    return mask


def test_returns_simulation_in_microvolts_with_probe_positions(full):
    data, truth = full
    assert isinstance(full, Simulation) and isinstance(truth, GroundTruth)
    assert isinstance(data, TimeSeries) and isinstance(truth.clean, TimeSeries)
    assert data.shape == truth.clean.shape == (32, 180000)
    assert data.sampling_rate == FS and data.modality == "ephys"
    assert set(data.channels.types) == {"ephys"} and set(data.channels.units) == {"uV"}
    assert data.get_data().dtype == np.float32
    # Linear probe, 25 µm pitch, in metres.
    pos = data.channels.positions
    assert np.allclose(np.diff(pos[:, 1]), 25e-6)
    assert len(truth.channels) == 32 and truth.simulator == "ephys"
    assert truth.params["seed"] == 3 and truth.params["probe"] == "linear32"
    assert {e.kind for e in truth.events} == {"line_noise", "pop", "saturation", "movement"}
    assert all(e.detector == "simulator" for e in truth.events)
    reasons = {r for c in truth.channels for r in c.reasons}
    assert reasons == {"flat", "noisy_channel"}
    truth.to_json()  # JSON-able


def test_neuropixels_preset_has_384_sites_on_a_checkerboard():
    data, truth = simulate_ephys("neuropixels", duration=1.0, seed=0)
    assert data.shape == (384, 30000)
    assert truth.arrays["templates"].shape[2] == 384
    pos = data.channels.positions * 1e6
    assert np.allclose(pos[-1, 1], 20 * 191) and set(np.round(pos[:, 0])) == {0, 16, 32, 48}
    assert truth.extras["n_units"] == 96


def test_tetrode_and_channel_count_override():
    data, _ = simulate_ephys("tetrode", duration=0.5, seed=0)
    assert data.shape == (4, 15000)
    data, _ = simulate_ephys("neuropixels", duration=0.5, n_channels=64, seed=0)
    assert data.shape == (64, 15000)
    data, _ = simulate_ephys("linear8", duration=0.5, seed=0)
    assert data.shape == (8, 15000)


def test_firing_rates_match_the_requested_rate(clean_only):
    _, truth = clean_only
    achieved = np.array(truth.extras["achieved_firing_rates"])
    assert np.allclose(truth.extras["firing_rates"], 10.0)
    assert abs(achieved.mean() - 10.0) < 0.5
    # Each unit: 200 expected spikes; dead-time Poisson counts vary less than Poisson.
    assert np.all(np.abs(achieved * 20 - 200) < 5 * np.sqrt(200))
    times, labels = truth.arrays["spike_times"], truth.arrays["spike_labels"]
    assert times.dtype == np.int64 and np.all(np.diff(times) >= 0)
    for unit in range(truth.extras["n_units"]):
        assert np.diff(times[labels == unit]).min() >= 0.002 * FS - 1  # refractory


def test_rate_range_is_respected():
    _, truth = simulate_ephys("linear16", duration=1.0, firing_rate=(2.0, 8.0), seed=1)
    rates = np.array(truth.extras["firing_rates"])
    assert rates.min() >= 2.0 and rates.max() <= 8.0 and rates.std() > 0


def test_spikes_are_in_the_data_at_their_times_on_their_peak_channel(clean_only):
    data, truth = clean_only
    x = data.get_data()
    nbefore = truth.extras["template_nbefore"]
    times, labels = truth.arrays["spike_times"], truth.arrays["spike_labels"]
    templates = truth.arrays["templates"]
    snr = np.array(truth.extras["unit_snr"])
    checked = 0
    for unit in np.flatnonzero(snr > 4):
        ch = truth.arrays["unit_peak_channel"][unit]
        t = times[labels == unit]
        snippets = x[ch, t[:, None] + np.arange(-nbefore, templates.shape[1] - nbefore)]
        mean = snippets.mean(axis=0)
        template = templates[unit, :, ch]
        # The trough sits at the true time, as deep as the template, and the shapes agree.
        assert abs(int(np.argmin(mean)) - nbefore) <= 1
        assert mean.min() == pytest.approx(template.min(), rel=0.2)
        assert np.corrcoef(mean, template)[0, 1] > 0.95
        # The peak channel is where the unit is largest.
        assert np.abs(mean).max() >= 0.9 * np.abs(x[:, t].mean(axis=1)).max()
        checked += 1
    assert checked >= 3


def test_noise_level_and_spatial_correlation():
    data, truth = simulate_ephys("linear32", duration=2.0, n_units=0, artifacts=(), seed=2)
    x = data.get_data()
    assert x.std() == pytest.approx(8.0, rel=0.03)
    assert truth.extras["achieved_noise_std"] == pytest.approx(8.0, rel=0.03)
    corr = np.corrcoef(x)
    neighbours = np.mean(np.diag(corr, 1))
    far = np.mean(np.diag(corr, 16))
    assert 0.15 < neighbours < 0.4 and abs(far) < 0.05


@pytest.mark.parametrize("kind", EPHYS_ARTIFACTS)
def test_data_differs_from_clean_only_where_logged(kind):
    sim = simulate_ephys("linear16", duration=2.0, artifacts=(kind,), seed=11)
    diff = _diff(sim)
    assert np.any(diff != 0)
    assert np.all(diff[~_expected_mask(sim)] == 0)


def test_all_artifacts_together_stay_inside_their_logs(full):
    diff = _diff(full)
    mask = _expected_mask(full)
    # Line noise covers everything; without it nothing leaks outside the logged regions.
    assert np.all(mask)
    sim = simulate_ephys(
        "linear32", duration=6.0, artifacts=[k for k in EPHYS_ARTIFACTS if k != "line_noise"]
    )
    diff = _diff(sim)
    assert np.all(diff[~_expected_mask(sim)] == 0)


def test_dead_channel_is_flat():
    data, truth = simulate_ephys("linear16", duration=2.0, artifacts="flat", seed=4)
    dead = [c.name for c in truth.channels if "flat" in c.reasons]
    assert len(dead) >= 1
    x = data.get_data(channels=dead)
    assert np.all(x.std(axis=1) < 0.02 * 8.0)
    good = data.get_data(channels=[c.name for c in truth.channels if not c.is_bad])
    assert np.all(good.std(axis=1) > 7.0)


def test_noisy_channel_has_higher_std():
    data, truth = simulate_ephys("linear16", duration=2.0, artifacts="noisy_channel", seed=4)
    noisy = [c for c in truth.channels if "noisy_channel" in c.reasons]
    assert noisy and all(c.is_bad for c in noisy)
    for status in noisy:
        ratio = (
            data.get_data(channels=status.name).std()
            / truth.clean.get_data(channels=status.name).std()
        )
        assert ratio > 1.8
        assert status.scores["added_noise_std"] >= 2 * 8.0


def test_pop_amplitude_and_decay_at_logged_time():
    sim = simulate_ephys("linear16", duration=10.0, artifacts="pop", seed=6)
    pops = sim.truth.events_of("pop")
    assert len(pops) >= 1
    diff = _diff(sim)
    for pop in pops:
        assert len(pop.channels) == 1
        row = sim.data.ch_names.index(pop.channels[0])
        start = round(pop.onset * FS)
        amp, tau = pop.extras["amplitude"], pop.extras["tau"]
        assert 200 <= abs(amp) <= 1000
        assert diff[row, start] == pytest.approx(amp, rel=1e-4)
        assert diff[row, start - 1] == 0
        assert diff[row, start + round(tau * FS)] == pytest.approx(amp / np.e, rel=0.01)
        # The step is visible in the data itself, far above the noise.
        x = sim.data.get_data(channels=[row])[0]
        assert abs(x[start : start + 30].mean() - x[start - 60 : start - 30].mean()) > 0.8 * abs(
            amp
        )


@pytest.mark.parametrize("line_freq", [None, 50.0])
def test_line_noise_peak_at_logged_frequency(line_freq):
    sim = simulate_ephys(
        "linear16", duration=2.0, artifacts="line_noise", line_freq=line_freq, seed=7
    )
    (event,) = sim.truth.events_of("line_noise")
    f0 = event.extras["frequency"]
    assert f0 in (50.0, 60.0) and (line_freq is None or f0 == line_freq)
    assert event.onset == 0 and event.duration == pytest.approx(2.0) and event.channels == ()
    x = sim.data.get_data()
    spectrum = np.abs(np.fft.rfft(x, axis=1)).mean(axis=0)
    freqs = np.fft.rfftfreq(x.shape[1], 1 / FS)
    low = freqs < 1000
    assert freqs[low][np.argmax(spectrum[low])] == pytest.approx(f0, abs=0.5)
    clean = np.abs(np.fft.rfft(sim.truth.clean.get_data(), axis=1)).mean(axis=0)
    k = np.argmin(np.abs(freqs - f0))
    assert spectrum[k] > 10 * clean[k]


def test_saturation_clips_at_the_logged_range():
    sim = simulate_ephys("linear16", duration=2.0, artifacts="saturation", seed=8)
    (event,) = sim.truth.events_of("saturation")
    rail = event.extras["range"]
    start, stop = round(event.onset * FS), round(event.offset * FS)
    seg = sim.data.get_data(start, stop)
    assert np.abs(seg).max() <= rail + 1e-3
    assert np.mean(np.abs(seg) >= rail - 1e-3) > 0.5
    assert np.mean(np.abs(seg) >= rail - 1e-3) == pytest.approx(
        event.extras["clipped_fraction"], abs=0.01
    )
    outside = np.abs(sim.data.get_data(0, start)).max()
    assert outside < rail


def test_movement_is_common_mode_on_many_channels():
    sim = simulate_ephys("linear32", duration=2.0, artifacts="movement", seed=9)
    (event,) = sim.truth.events_of("movement")
    names = sim.data.ch_names
    rows = [names.index(c) for c in event.channels] if event.channels else list(range(32))
    assert len(rows) >= 16
    start, stop = round(event.onset * FS), round(event.offset * FS)
    diff = _diff(sim)[rows, start:stop]
    # Same waveform on every affected channel (scaled), peaking near the logged amplitude.
    assert np.all(np.corrcoef(diff)[0] > 0.999)
    assert (
        0.5 * abs(event.extras["amplitude"])
        <= np.abs(diff).max()
        <= abs(event.extras["amplitude"]) * 1.001
    )


def test_same_seed_same_output_and_different_seed_differs():
    a = simulate_ephys("tetrode", duration=1.0, seed=21)
    b = simulate_ephys("tetrode", duration=1.0, seed=21)
    c = simulate_ephys("tetrode", duration=1.0, seed=22)
    assert np.array_equal(a.data.get_data(), b.data.get_data())
    assert np.array_equal(a.truth.clean.get_data(), b.truth.clean.get_data())
    for key, value in a.truth.arrays.items():
        assert np.array_equal(value, b.truth.arrays[key])
    assert a.truth.to_json() == b.truth.to_json()
    assert not np.array_equal(a.data.get_data(), c.data.get_data())


def test_ground_truth_sorting_holds_the_true_spikes(clean_only):
    _, truth = clean_only
    sorting = ground_truth_sorting(truth)
    n_units = truth.extras["n_units"]
    assert sorting.get_num_units() == n_units
    assert sorting.get_sampling_frequency() == FS
    labels = truth.arrays["spike_labels"]
    for unit in range(n_units):
        train = sorting.get_unit_spike_train(str(unit))
        assert np.array_equal(train, truth.arrays["spike_times"][labels == unit])
    assert np.array_equal(sorting.get_property("peak_channel"), truth.arrays["unit_peak_channel"])


def test_no_units_gives_noise_only():
    _, truth = simulate_ephys("tetrode", duration=0.5, n_units=0, artifacts=(), seed=0)
    assert truth.arrays["spike_times"].size == 0
    assert truth.arrays["templates"].shape[0] == 0
    assert ground_truth_sorting(truth).get_num_units() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"probe": "utah"},
        {"duration": -1.0},
        {"duration": 0.01},
        {"sampling_rate": 1000.0},
        {"artifacts": ("blink",)},
        {"probe": "tetrode", "n_channels": 8},
        {"n_channels": 0},
        {"n_units": -1},
        {"firing_rate": (5.0, 1.0)},
        {"firing_rate": 0.0},
        {"firing_rate": 400.0},
        {"noise_level": -1.0},
        {"line_freq": 20000.0},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ParameterError):
        simulate_ephys(**{"duration": 0.5, **kwargs})
