"""The EEG simulator: background statistics, every artifact model, and truth aligned with data."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy.signal import welch

from neurolint.core.errors import OutputExistsError, ParameterError
from neurolint.io import read
from neurolint.io.bids import read_events_tsv
from neurolint.simulate import GroundTruth, simulate_eeg, write_simulation
from neurolint.simulate.artifacts import EVENT_KINDS

SFREQ = 256.0


@pytest.fixture(scope="module")
def sim():
    return simulate_eeg(32, 120.0, SFREQ, seed=3)


def _only(*kinds, seed=3):
    """A recording with only these artifact kinds, so each model is seen in isolation."""
    return simulate_eeg(32, 120.0, SFREQ, artifacts=kinds, seed=seed)


def _diff(sim):
    data, truth = sim
    return data.get_data() - truth.clean.get_data()


def _rows(sim, names):
    index = {n: i for i, n in enumerate(sim.data.channels.names)}
    return [index[n] for n in names]


def _span(event, sfreq=SFREQ):
    start = round(event.onset * sfreq)
    return start, start + round(event.duration * sfreq)


def test_same_seed_same_data_and_truth():
    a, b = simulate_eeg(8, 20.0, seed=1), simulate_eeg(8, 20.0, seed=1)
    np.testing.assert_array_equal(a.data.get_data(), b.data.get_data())
    assert a.truth.to_json() == b.truth.to_json()
    c = simulate_eeg(8, 20.0, seed=2)
    assert not np.array_equal(np.nan_to_num(a.data.get_data()), np.nan_to_num(c.data.get_data()))


def test_background_has_a_one_over_f_spectrum_with_posterior_alpha():
    data, truth = simulate_eeg(32, 120.0, SFREQ, artifacts=None, seed=0)
    assert not truth.events and not truth.bad_channels
    x = data.get_data()
    freqs, psd = welch(x, fs=SFREQ, nperseg=512)
    band = ((freqs >= 2) & (freqs <= 40)) & ~((freqs >= 4) & (freqs <= 14))
    slope = np.polyfit(np.log10(freqs[band]), np.log10(psd[:, band].mean(0)), 1)[0]
    assert -1.4 < slope < -0.6
    assert 5e-6 < x.std() < 20e-6
    pos = data.channels.positions
    alpha = psd[:, (freqs >= 8) & (freqs <= 12)].mean(1)
    assert alpha[np.argmin(pos[:, 1])] > 3 * alpha[np.argmax(pos[:, 1])]


def test_neighbouring_channels_correlate_more_than_distant_ones():
    data, _ = simulate_eeg(32, 30.0, SFREQ, artifacts=None, seed=0)
    corr = np.corrcoef(data.get_data())
    pos = data.channels.positions
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    near = corr[(dist > 0) & (dist < 0.04)].mean()
    far = corr[dist > 0.12].mean()
    assert near > far + 0.2


def test_transient_events_never_overlap_and_stay_inside(sim):
    events = sorted(sim.truth.events_of(EVENT_KINDS), key=lambda e: e.onset)
    assert {e.kind for e in events} == set(EVENT_KINDS)
    for a, b in itertools.pairwise(events):
        assert a.offset <= b.onset
    assert events[0].onset > 0 and events[-1].offset < sim.data.duration


def test_data_differs_from_clean_only_where_truth_says(sim):
    diff = np.abs(np.nan_to_num(_diff(sim), nan=1.0))
    good = np.setdiff1d(np.arange(diff.shape[0]), _rows(sim, sim.truth.bad_channels))
    inside = np.zeros(diff.shape[1], bool)
    for e in sim.truth.events:
        start, stop = _span(e)
        inside[start - 1 : stop + 1] = True
        if e.kind in ("gap", "pop", "muscle", "movement", "saturation"):
            # Local artifacts touch only the channels they list.
            unlisted = np.setdiff1d(good, _rows(sim, e.channels) if e.channels else good)
            quiet = np.ones(diff.shape[1], bool)
            for other in sim.truth.events:
                if other is not e:
                    a, b = _span(other)
                    quiet[a - 1 : b + 1] = False
            quiet[: start - 1] = quiet[stop + 1 :] = False
            assert diff[np.ix_(unlisted, quiet)].max(initial=0.0) == 0.0
    assert diff[np.ix_(good, ~inside)].max() == 0.0


def test_blinks_are_frontal_and_decay_with_distance_from_the_eyes():
    sim = _only("blink")
    diff = _diff(sim)
    pos = sim.data.channels.positions
    eyes = np.array([[-0.032, 0.08, -0.04], [0.032, 0.08, -0.04]])
    dist = np.linalg.norm(pos[:, None] - eyes[None], axis=-1).min(1)
    good = np.setdiff1d(np.arange(len(pos)), _rows(sim, sim.truth.bad_channels))
    for e in sim.truth.events_of("blink"):
        start, stop = _span(e)
        peak = diff[good, start:stop].max(1)
        assert peak.max() == pytest.approx(e.extras["amplitude"], rel=0.05)
        assert np.corrcoef(peak, dist[good])[0, 1] < -0.8
        assert 50e-6 <= e.extras["amplitude"] <= 200e-6 and 0.2 <= e.duration <= 0.4


def test_saccades_have_opposite_signs_on_both_sides():
    sim = _only("saccade")
    diff = _diff(sim)
    pos = sim.data.channels.positions
    left, right = np.argmin(pos[:, 0]), np.argmax(pos[:, 0])
    for e in sim.truth.events_of("saccade"):
        start, stop = _span(e)
        middle = (start + stop) // 2
        assert np.sign(diff[left, middle]) == -np.sign(diff[right, middle])


def test_muscle_bursts_are_high_frequency_over_temporal_sites():
    sim = _only("muscle")
    diff = _diff(sim)
    pos = sim.data.channels.positions
    for e in sim.truth.events_of("muscle"):
        start, stop = _span(e)
        rows = _rows(sim, e.channels)
        freqs, psd = welch(diff[rows, start:stop], fs=SFREQ, nperseg=128)
        assert psd[:, freqs >= 18].sum() > 0.95 * psd.sum()
        assert np.abs(pos[rows, 0]).mean() > np.abs(pos[:, 0]).mean()


def test_pops_step_then_decay_on_one_channel():
    sim = _only("pop")
    diff = _diff(sim)
    for e in sim.truth.events_of("pop"):
        (row,) = _rows(sim, e.channels)
        start, stop = _span(e)
        trace = np.abs(diff[row, start:stop])
        assert trace[0] == pytest.approx(e.extras["amplitude"], rel=1e-3)
        assert trace[-1] < 0.02 * trace[0]
        assert 100e-6 <= e.extras["amplitude"] <= 500e-6


def test_ecg_beats_sit_at_the_logged_r_peaks():
    sim = _only("ecg")
    (event,) = sim.truth.events_of("ecg")
    peaks = sim.truth.arrays["ecg_r_peaks"]
    start, stop = _span(event)
    assert np.all((peaks >= start) & (peaks < stop))
    bpm = 60 * SFREQ / np.diff(peaks).mean()
    assert bpm == pytest.approx(event.extras["bpm"], rel=0.05)
    row = _rows(sim, event.channels)[0]
    trace = _diff(sim)[row]
    # Beats inside the on/off taper are smaller; the rest are the largest deflections.
    assert np.all(np.abs(trace[peaks[1:-1]]) >= 0.9 * np.abs(trace[start:stop]).max())


def test_line_noise_peaks_at_the_logged_frequency():
    sim = _only("line_noise")
    diff = _diff(sim)
    for e in sim.truth.events_of("line_noise"):
        start, stop = _span(e)
        freqs, psd = welch(diff[_rows(sim, e.channels), start:stop], fs=SFREQ, nperseg=512)
        assert freqs[psd.mean(0).argmax()] == pytest.approx(e.extras["frequency"], abs=0.5)
        assert e.extras["frequency"] == sim.truth.extras["line_freq"]


def test_saturation_clips_at_the_amplifier_range(sim):
    x = sim.data.get_data()
    for e in sim.truth.events_of("saturation"):
        start, stop = _span(e)
        seg = np.abs(x[_rows(sim, e.channels), start:stop])
        assert np.isclose(seg.max(), e.extras["amplitude"], rtol=1e-6)
        assert (np.isclose(seg, e.extras["amplitude"], rtol=1e-6).any(0)).mean() > 0.5


def test_gaps_are_nan_or_zero_exactly_where_logged(sim):
    x = sim.data.get_data()
    dropped = np.isnan(x).all(0) | (x == 0).all(0)
    logged = np.zeros(x.shape[1], bool)
    for e in sim.truth.events_of("gap"):
        start, stop = _span(e)
        logged[start:stop] = True
        assert e.extras["fill"] in ("nan", "zero")
    np.testing.assert_array_equal(dropped, logged)


def test_channel_faults(sim):
    x, clean = np.nan_to_num(sim.data.get_data()), sim.truth.clean.get_data()
    by_kind = {}
    for status in sim.truth.channels:
        for reason in status.reasons:
            by_kind.setdefault(reason, []).append(status.name)
    assert set(by_kind) == {"flat", "noisy_channel", "bridged"}
    live = np.ones(x.shape[1], bool)
    for e in sim.truth.events_of(["gap", "saturation"]):
        start, stop = _span(e)
        live[start:stop] = False
    for row in _rows(sim, by_kind["flat"]):
        assert x[row, live].std() < 1e-7
    for row in _rows(sim, by_kind["noisy_channel"]):
        assert x[row, live].std() > 2.5 * clean[row].std()
    bridged = _only("bridged")
    a, b = _rows(bridged, bridged.truth.bad_channels)[:2]
    x = bridged.data.get_data()
    assert np.corrcoef(x[a], x[b])[0, 1] > 0.99


@pytest.mark.parametrize(
    ("n_channels", "sfreq"), [(4, 128.0), (64, 2000.0), (150, 512.0), (400, 256.0)]
)
def test_any_channel_count_and_rate(n_channels, sfreq):
    data, truth = simulate_eeg(n_channels, 15.0, sfreq, seed=0)
    assert data.n_channels == n_channels and data.sampling_rate == sfreq
    assert len(set(data.channels.names)) == n_channels
    assert np.isfinite(data.channels.positions).all()
    assert truth.events


def test_short_recordings_drop_what_does_not_fit():
    _, truth = simulate_eeg(8, 6.0, seed=0)
    assert truth.extras["dropped_events"]
    assert truth.events


def test_bad_parameters_say_what_to_do():
    with pytest.raises(ParameterError, match="at least 100 Hz"):
        simulate_eeg(8, 10.0, 50.0)
    with pytest.raises(ParameterError, match="Unknown artifact"):
        simulate_eeg(8, 10.0, artifacts=["sneeze"])
    with pytest.raises(ParameterError, match="50 or 60"):
        simulate_eeg(8, 10.0, line_freq=55)


def test_artifact_selection_by_kind():
    _, truth = simulate_eeg(16, 30.0, artifacts="blink,flat", seed=0)
    assert {e.kind for e in truth.events} == {"blink"}
    assert {r for c in truth.channels for r in c.reasons} == {"flat"}


def test_write_simulation_writes_data_clean_and_truth(tmp_path):
    sim = simulate_eeg(8, 20.0, seed=4)
    written = write_simulation(sim, tmp_path / "sub-01_eeg.fif")
    names = {p.name for p in written}
    assert names == {
        "sub-01_eeg.fif",
        "sub-01_eeg_clean.fif",
        "sub-01_truth.json",
        "sub-01_truth.npz",
        "sub-01_events.tsv",
        "sub-01_channels.tsv",
    }
    back = read(tmp_path / "sub-01_eeg.fif")
    np.testing.assert_allclose(back.get_data(), sim.data.get_data(), atol=1e-12)
    events = read_events_tsv(tmp_path / "sub-01_events.tsv")
    assert [(e.kind, round(e.onset, 6)) for e in events] == [
        (e.kind, round(e.onset, 6)) for e in sorted(sim.truth.events, key=lambda e: e.onset)
    ]
    channels = (tmp_path / "sub-01_channels.tsv").read_text().splitlines()
    assert channels[0].split("\t") == ["name", "type", "units", "status", "status_description"]
    bad = [line.split("\t")[0] for line in channels[1:] if line.split("\t")[3] == "bad"]
    assert bad == sim.truth.bad_channels
    loaded = GroundTruth.load(tmp_path / "sub-01_truth.json")
    assert loaded.events == sim.truth.events
    np.testing.assert_array_equal(loaded.arrays["ecg_r_peaks"], sim.truth.arrays["ecg_r_peaks"])
    assert json.loads((tmp_path / "sub-01_truth.json").read_text())["params"]["seed"] == 4


def test_write_simulation_refuses_to_overwrite_anything(tmp_path):
    sim = simulate_eeg(4, 10.0, seed=0)
    (tmp_path / "x_events.tsv").write_text("keep")
    with pytest.raises(OutputExistsError):
        write_simulation(sim, tmp_path / "x.fif")
    assert not (tmp_path / "x.fif").exists()
    assert (tmp_path / "x_events.tsv").read_text() == "keep"
    write_simulation(sim, tmp_path / "x.fif", overwrite=True)
    assert (tmp_path / "x_events.tsv").read_text() != "keep"


def test_an_ecg_lead_leaves_the_eeg_as_it_was():
    plain = simulate_eeg(16, 60, 256.0, seed=11)
    led = simulate_eeg(16, 60, 256.0, seed=11, ecg_lead=True)
    assert led.data.ch_names[-1] == "ECG" and led.data.channels.types[-1] == "ecg"
    assert np.array_equal(led.data.get_data()[:-1], plain.data.get_data(), equal_nan=True)
    assert led.truth.events == plain.truth.events
    # The lead beats throughout, including at every beat whose field reaches the EEG.
    lead = led.truth.arrays["ecg_lead_peaks"]
    assert set(plain.truth.arrays["ecg_r_peaks"]) <= set(lead)
    rr = np.diff(lead) / 256.0
    assert len(lead) > 40 and rr.min() > 0.3 and rr.max() < 2.0
    # A steady rhythm however long the recording (the fill's jitter is of each interval).
    long = simulate_eeg(4, 1800, 256.0, seed=3, ecg_lead=True, artifacts=["ecg"])
    rr = np.diff(long.truth.arrays["ecg_lead_peaks"]) / 256.0
    assert rr.min() > 0.4 and (np.abs(np.diff(rr)) <= 0.2 * rr[:-1]).mean() > 0.95
