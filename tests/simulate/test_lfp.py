"""simulate_lfp: rhythms, coupling, ripples and gaps measured on the output match the truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.signal import butter, csd, hilbert, sosfiltfilt, welch

from neurolint.core.errors import ParameterError
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate._truth import iter_runs
from neurolint.simulate.lfp import simulate_lfp

FS = 1000.0


@pytest.fixture(scope="module")
def sim():
    return simulate_lfp(16, 30.0, FS, ripple_rate=0.5, gap_durations=(0.05, 0.2), n_gaps=2, seed=2)


@pytest.fixture(scope="module")
def subset():
    return simulate_lfp(
        8, 10.0, FS, gap_durations=(0.1,), n_gaps=3, gap_fill="zero", gap_channels="random", seed=9
    )


def _band(x: np.ndarray, lo: float, hi: float, order: int = 4) -> np.ndarray:
    return sosfiltfilt(butter(order, (lo, hi), "bandpass", fs=FS, output="sos"), x, axis=-1)


def test_output_is_a_uv_lfp_series_on_a_linear_probe(sim):
    data, truth = sim
    assert isinstance(data, TimeSeries) and isinstance(truth.clean, TimeSeries)
    assert data.shape == (16, 30000) and data.sampling_rate == FS and data.modality == "lfp"
    assert set(data.channels.types) == {"lfp"} and set(data.channels.units) == {"uV"}
    pos = data.channels.positions
    assert np.allclose(np.diff(pos[:, 2]), -50e-6) and np.allclose(pos[:, :2], 0)
    assert data.to_numpy().dtype == np.float32
    assert [c.name for c in truth.channels] == data.ch_names
    assert all(c.status == "good" for c in truth.channels)
    assert truth.params["seed"] == 2 and truth.to_json()


def test_spectrum_peaks_in_the_theta_band(sim):
    _, truth = sim
    f, p = welch(truth.clean.to_numpy(), fs=FS, nperseg=4096, axis=-1)
    low = (f >= 2) & (f <= 20)
    peak = f[low][p[:, low].argmax(axis=1)]
    assert np.all((peak >= 6) & (peak <= 10))
    theta = p[:, (f >= 6) & (f <= 10)].mean(1)
    beta = p[:, (f >= 14) & (f <= 20)].mean(1)
    assert np.all(theta > 20 * beta)


def test_theta_phase_progresses_along_the_probe(sim):
    _, truth = sim
    x = truth.clean.to_numpy()
    f, cross = csd(x[0], x[-1], fs=FS, nperseg=4096)
    k = np.argmin(np.abs(f - truth.extras["theta_frequency"]))
    lag = np.angle(cross[k])  # phase of channel 0 relative to the last one
    assert abs(np.angle(np.exp(1j * (abs(lag) - np.pi)))) < 0.3
    _, mid = csd(x[0], x[7], fs=FS, nperseg=4096)
    assert abs(abs(np.angle(mid[k])) - 7 / 15 * np.pi) < 0.3


def test_gamma_amplitude_is_coupled_to_theta_phase(sim):
    _, truth = sim
    ch = truth.clean.ch_names.index(truth.extras["gamma_channel"])
    x = truth.clean.to_numpy()[ch].astype(np.float64)
    phase = np.angle(hilbert(_band(x, 6, 10, 3)))
    amp = np.abs(hilbert(_band(x, 30, 80)))
    trough = amp[np.abs(phase) > 2.5].mean()  # near +-pi
    peak = amp[np.abs(phase) < 0.6].mean()
    assert trough > 1.5 * peak
    # The same measure on a gamma amplitude shifted by 7 s loses the coupling.
    shifted = np.roll(amp, 7000)
    assert abs(shifted[np.abs(phase) > 2.5].mean() / shifted[np.abs(phase) < 0.6].mean() - 1) < 0.2
    assert truth.extras["modulation_index"] > 0.003


def test_ripples_have_ripple_band_power_at_the_logged_times(sim):
    _, truth = sim
    times, chans = truth.arrays["ripple_times"], truth.arrays["ripple_channels"]
    assert len(times) >= 8 and 1 <= len(chans) <= 5
    assert np.all(
        (truth.arrays["ripple_frequencies"] >= 150) & (truth.arrays["ripple_frequencies"] <= 250)
    )
    x = truth.clean.to_numpy()
    power = _band(x, 150, 250) ** 2
    centre = np.round(times * FS).astype(int)
    during = np.array([power[:, c - 25 : c + 25].mean(1) for c in centre])  # (n_ripples, n_ch)
    quiet = np.ones(x.shape[1], dtype=bool)
    for c in centre:
        quiet[c - 150 : c + 150] = False
    baseline = power[:, quiet].mean(1)
    ratio = during / baseline
    assert np.all(ratio[:, chans] > 5)
    far = np.setdiff1d(np.arange(16), np.arange(chans.min() - 3, chans.max() + 4))
    assert np.all(np.median(ratio[:, far], axis=0) < 2)  # localised on a few channels


def test_gaps_are_exactly_at_the_logged_samples(sim):
    data, truth = sim
    x, mask = data.to_numpy(), truth.arrays["gap_mask"]
    assert mask.shape == x.shape and mask.dtype == bool
    assert np.array_equal(np.isnan(x), mask)
    gaps = truth.events_of("gap")
    assert len(gaps) == 4 and all(e.channels == () for e in gaps)
    assert sorted(round(e.duration, 6) for e in gaps) == [0.05, 0.05, 0.2, 0.2]
    runs = list(iter_runs(mask[0]))
    assert runs == [(round(e.onset * FS), round(e.offset * FS)) for e in gaps]
    assert mask.all(axis=0)[mask.any(axis=0)].all()  # every channel at once
    assert runs[0][0] >= 0.5 * FS and runs[-1][1] <= x.shape[1] - 0.5 * FS
    assert truth.extras["gap_fraction"] == pytest.approx(mask.mean())


def test_clean_equals_data_outside_gaps(sim):
    data, truth = sim
    x, clean, mask = data.to_numpy(), truth.clean.to_numpy(), truth.arrays["gap_mask"]
    assert np.array_equal(x[~mask], clean[~mask])
    assert np.all(np.isfinite(clean))


def test_random_subset_gaps_are_zero_filled_on_the_logged_channels(subset):
    data, truth = subset
    x, clean, mask = data.to_numpy(), truth.clean.to_numpy(), truth.arrays["gap_mask"]
    names = data.ch_names
    gaps = truth.events_of("gap")
    assert len(gaps) == 3 and not np.isnan(x).any()
    expected = np.zeros_like(mask)
    for ev in gaps:
        assert 1 <= len(ev.channels) < len(names)
        a, b = round(ev.onset * FS), round(ev.offset * FS)
        expected[[names.index(c) for c in ev.channels], a:b] = True
    assert np.array_equal(mask, expected)
    assert np.all(x[mask] == 0) and np.array_equal(x[~mask], clean[~mask])
    assert np.all(clean[mask] != 0)  # the true values are kept in clean


def test_gaps_do_not_overlap_and_stay_away_from_edges():
    _, truth = simulate_lfp(4, 5.0, FS, gap_durations=(0.3, 0.5), n_gaps=3, seed=1)
    runs = list(iter_runs(truth.arrays["gap_mask"][0]))
    assert len(runs) == 6  # separated runs: none merged
    assert all(start - stop >= 100 for (_, stop), (start, _) in itertools.pairwise(runs))
    assert runs[0][0] >= 500 and runs[-1][1] <= 4500


def test_same_seed_same_output_and_different_seed_differs():
    kw = dict(n_channels=4, duration=4.0, gap_durations=(0.1,), gap_channels="random")
    a, b, c = simulate_lfp(**kw, seed=3), simulate_lfp(**kw, seed=3), simulate_lfp(**kw, seed=4)
    assert np.array_equal(a.data.to_numpy(), b.data.to_numpy(), equal_nan=True)
    assert a.truth.to_dict() == b.truth.to_dict()
    for key, value in a.truth.arrays.items():
        assert np.array_equal(value, b.truth.arrays[key])
    assert not np.array_equal(a.truth.clean.to_numpy(), c.truth.clean.to_numpy())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_channels": 1},
        {"duration": 1.0},
        {"sampling_rate": 250.0},
        {"theta_frequency": 20.0},
        {"gap_fill": "mean"},
        {"gap_channels": "some"},
        {"gap_durations": (-0.1,)},
        {"gap_durations": (2.0,), "n_gaps": 3},
        {"n_gaps": -1},
        {"ripple_rate": -1.0},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ParameterError):
        simulate_lfp(**{"n_channels": 4, "duration": 4.0, **kwargs})
