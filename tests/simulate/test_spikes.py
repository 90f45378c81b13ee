"""simulate_spikes: Quiroga-style single-channel benchmarks, measured on the output."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.core.errors import ParameterError
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate._truth import GroundTruth, Simulation
from neurolint.simulate.spikes import SPIKE_PRESETS, simulate_spikes

FS = 24000.0


@pytest.fixture(scope="module")
def easy():
    return simulate_spikes("easy1", duration=30.0, noise_level=0.1, seed=1)


def _pairwise_correlations(templates: np.ndarray) -> np.ndarray:
    return np.corrcoef(templates)[np.triu_indices(len(templates), 1)]


def test_returns_one_channel_ephys_series(easy):
    data, truth = easy
    assert isinstance(easy, Simulation) and isinstance(truth, GroundTruth)
    assert isinstance(data, TimeSeries) and isinstance(truth.clean, TimeSeries)
    assert data.shape == truth.clean.shape == (1, 30 * 24000)
    assert data.sampling_rate == FS and data.channels.types == ("ephys",)
    assert data.channels.units == ("uV",) and data.get_data().dtype == np.float32
    assert truth.simulator == "spikes" and truth.params["seed"] == 1
    assert truth.events == [] and [c.status for c in truth.channels] == ["good"]
    assert truth.arrays["templates"].shape == (3, 64)
    assert truth.arrays["spike_times"].dtype == np.int64
    truth.to_json()


@pytest.mark.parametrize("level", [0.05, 0.2, 0.4])
def test_noise_std_relative_to_peak_amplitude(level):
    data, truth = simulate_spikes("easy2", duration=10.0, noise_level=level, seed=2)
    noise = data.get_data()[0] - truth.clean.get_data()[0]
    peak = np.abs(truth.arrays["templates"]).max()
    assert peak == pytest.approx(100.0, rel=1e-4)
    assert noise.std() / peak == pytest.approx(level, rel=0.1)
    assert truth.extras["achieved_noise_level"] == pytest.approx(level, rel=0.1)
    # Quiroga's detector estimate (median absolute value / 0.6745) of the data sees the same.
    estimate = np.median(np.abs(data.get_data()[0])) / 0.6745
    assert estimate / peak == pytest.approx(level, rel=0.15)


def test_preset_default_noise_level():
    _, truth = simulate_spikes("difficult2", duration=2.0, seed=0)
    assert truth.extras["noise_level"] == 0.1
    assert truth.extras["achieved_noise_level"] == pytest.approx(0.1, rel=0.1)


def test_background_has_the_spectrum_of_spikes(easy):
    data, truth = easy
    noise = data.get_data()[0] - truth.clean.get_data()[0]
    freqs = np.fft.rfftfreq(noise.size, 1 / FS)
    power = np.abs(np.fft.rfft(noise)) ** 2
    band = power[(freqs > 300) & (freqs < 3000)].mean()
    high = power[(freqs > 8000)].mean()
    # Spikes carry no power near Nyquist; white noise would be flat.
    assert band > 100 * high


def test_class_firing_rates(easy):
    _, truth = easy
    classes = truth.arrays["spike_classes"]
    assert set(np.unique(classes)) == {0, 1, 2}
    rates = np.bincount(classes, minlength=3) / 30.0
    assert np.allclose(rates, 20.0, atol=2.5)  # 600 expected spikes: sd about 23
    assert np.allclose(truth.extras["firing_rates"], rates)
    times = truth.arrays["spike_times"]
    for k in range(3):
        assert np.diff(times[classes == k]).min() >= 0.002 * FS - 1  # refractory period


def test_per_class_rates():
    _, truth = simulate_spikes("easy1", duration=30.0, firing_rate=(2.0, 5.0, 10.0), seed=3)
    rates = np.bincount(truth.arrays["spike_classes"], minlength=3) / 30.0
    assert np.allclose(rates, [2.0, 5.0, 10.0], rtol=0.25)


def test_overlaps_are_flagged_from_spike_times(easy):
    _, truth = easy
    times = truth.arrays["spike_times"]
    window = 64  # samples at 24 kHz, the original's definition
    dist = np.abs(times[:, None] - times[None, :])
    np.fill_diagonal(dist, window)
    expected = (dist < window).any(axis=1)
    assert truth.arrays["overlap"].dtype == bool
    assert np.array_equal(truth.arrays["overlap"], expected)
    assert truth.extras["n_overlapping"] == expected.sum()
    # With 3 x 20 Hz, about a fifth of the spikes overlap (the original: 785 of 3514).
    assert 0.15 < expected.mean() < 0.3


def test_spikes_are_in_the_data_at_their_times(easy):
    data, truth = easy
    x = data.get_data()[0]
    pre = truth.extras["template_peak_sample"]
    times, classes = truth.arrays["spike_times"], truth.arrays["spike_classes"]
    templates = truth.arrays["templates"]
    for k in range(3):
        t = times[(classes == k) & ~truth.arrays["overlap"]]
        mean = x[t[:, None] - pre + np.arange(templates.shape[1])].mean(axis=0)
        assert np.corrcoef(mean, templates[k])[0, 1] > 0.98
        assert abs(int(np.argmax(np.abs(mean))) - pre) <= 1
        # The mean snippet fits its own class better than the others.
        others = [np.corrcoef(mean, templates[j])[0, 1] for j in range(3) if j != k]
        assert np.corrcoef(mean, templates[k])[0, 1] > max(others)


def test_clean_is_spikes_only(easy):
    _, truth = easy
    clean = truth.clean.get_data()[0]
    spikes = np.zeros(clean.size, dtype=bool)
    pre = truth.extras["template_peak_sample"]
    for t in truth.arrays["spike_times"]:
        spikes[t - pre : t - pre + 64] = True
    assert np.all(clean[~spikes] == 0)
    # Isolated spikes peak at the nominal amplitude (sub-sample jitter costs a little).
    isolated = truth.arrays["spike_times"][~truth.arrays["overlap"]]
    assert np.abs(clean[isolated]).min() > 80.0 and np.abs(clean).max() < 250.0


def test_difficult_templates_are_more_similar_than_easy():
    corr = {}
    for preset in SPIKE_PRESETS:
        _, truth = simulate_spikes(preset, duration=1.0, seed=0)
        corr[preset] = _pairwise_correlations(truth.arrays["templates"])
        assert np.allclose(corr[preset], truth.extras["template_correlation"])
    easy_max = max(corr["easy1"].max(), corr["easy2"].max())
    difficult_min = min(corr["difficult1"].min(), corr["difficult2"].min())
    assert easy_max < 0.85 < 0.9 < difficult_min
    # The two easy (and the two difficult) sets are different shapes.
    a, _ = simulate_spikes("easy1", duration=1.0, seed=0)
    b, _ = simulate_spikes("easy2", duration=1.0, seed=0)
    assert not np.array_equal(a.get_data(), b.get_data())


def test_same_seed_same_output_and_different_seed_differs():
    a = simulate_spikes("difficult1", duration=3.0, seed=7)
    b = simulate_spikes("difficult1", duration=3.0, seed=7)
    c = simulate_spikes("difficult1", duration=3.0, seed=8)
    assert np.array_equal(a.data.get_data(), b.data.get_data())
    for key, value in a.truth.arrays.items():
        assert np.array_equal(value, b.truth.arrays[key])
    assert a.truth.to_json() == b.truth.to_json()
    assert not np.array_equal(a.data.get_data(), c.data.get_data())
    assert not np.array_equal(a.truth.arrays["spike_times"], c.truth.arrays["spike_times"])


def test_other_sampling_rate_keeps_timing_in_ms():
    data, truth = simulate_spikes("easy1", duration=2.0, sampling_rate=30000.0, seed=0)
    assert data.shape == (1, 60000)
    assert truth.arrays["templates"].shape == (3, 80)
    assert truth.extras["overlap_window_samples"] == 80


@pytest.mark.parametrize(
    "kwargs",
    [
        {"preset": "hard"},
        {"noise_level": -0.1},
        {"noise_level": 2.0},
        {"duration": 0.0},
        {"sampling_rate": 1000.0},
        {"firing_rate": (1.0, 2.0)},
        {"firing_rate": 0.0},
        {"firing_rate": 300.0},
        {"amplitude": -5.0},
        {"refractory_period": -0.001},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ParameterError):
        simulate_spikes(**{"duration": 1.0, **kwargs})


def test_peak_memory_stays_near_the_output_size(peak_bytes):
    # The background is summed a block of spikes at a time, not as one (n_spikes x template
    # length) array: 60 s at 24 kHz peaks well under 100 MB.
    sim, peak = peak_bytes(lambda: simulate_spikes("easy1", duration=60.0, seed=4))
    output = sim.data.get_data().nbytes + sim.truth.clean.get_data().nbytes
    assert output == 2 * 4 * 60 * 24000
    assert peak < 8 * output
