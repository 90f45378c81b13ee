"""The extracellular assessment finds what the ephys simulator injected, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.assess.base import Detection
from neurolint.assess.ephys import EphysDetector
from neurolint.bench.metrics import channel_scores, match_events
from neurolint.core.channels import ChannelInfo
from neurolint.core.errors import DataValueError, NeurolintError, ParameterError
from neurolint.core.findings import FINDING_KINDS
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_ephys

# The simulator takes its templates from SpikeInterface (the "ephys" extra).
pytest.importorskip("spikeinterface")

# Training seeds only (< 10000): the benchmark's held-out seeds are never used in tests.
SEED = 42
TIMED = ("saturation", "movement", "pop", "line_noise")


@pytest.fixture(scope="module")
def probe():
    """A 32-channel probe, 10 s, every artifact the simulator has, and what it finds."""
    sim = simulate_ephys("linear32", 10.0, seed=SEED)
    detection = EphysDetector().fit(sim.data).detect(sim.data)
    return sim, detection


@pytest.fixture(scope="module")
def clean():
    return simulate_ephys("linear32", 10.0, seed=SEED + 1, artifacts=None)


def _with_data(ts: TimeSeries, data: np.ndarray, **info) -> TimeSeries:
    channels = ChannelInfo(
        ts.ch_names,
        info.get("types", "ephys"),
        info.get("units", ts.channels.units),
        ts.channels.positions,
    )
    return TimeSeries(data, ts.sampling_rate, channels, gain=info.get("gain"))


def test_dead_and_noisy_channels_are_found_and_clean_ones_kept(probe):
    sim, detection = probe
    truth = sim.truth
    assert channel_scores(truth.channels, detection.channels)["f1"] == 1.0
    found = {c.name: c.reasons for c in detection.channels if c.is_bad}
    for status in truth.channels:
        if status.is_bad:
            # The simulator's kinds are ours: "flat" for dead, "noisy_channel" for noisy.
            assert set(status.reasons) <= set(found[status.name])
        else:
            assert status.name not in found


def test_every_channel_has_a_noise_level_close_to_the_simulated_one(probe):
    sim, detection = probe
    good = [c for c in detection.channels if not c.is_bad]
    noise = np.array([c.scores["noise_uV"] for c in good])
    level = sim.truth.extras["noise_level"]
    assert np.all(np.abs(noise / level - 1.0) < 0.25)


def test_saturation_movement_pops_and_line_noise_are_found_at_logged_times(probe):
    sim, detection = probe
    for kind in TIMED:
        true = sim.truth.events_of(kind)
        assert true, f"the fixture should hold {kind}"
        match = match_events(true, [e for e in detection.events if e.kind == kind])
        assert match.fn == 0, f"{kind} missed"
        assert match.fp == 0, f"{kind} found where none was injected"


def test_pops_name_the_channel_that_popped(probe):
    sim, detection = probe
    pops = [e for e in detection.events if e.kind == "pop"]
    for true in sim.truth.events_of("pop"):
        assert any(
            set(true.channels) & set(p.channels) and p.onset < true.offset and p.offset > true.onset
            for p in pops
        )


def test_findings_carry_kind_detector_and_explanation(probe):
    _, detection = probe
    assert isinstance(detection, Detection) and detection.detector == "ephys"
    for event in detection.events:
        assert event.kind in FINDING_KINDS
        assert event.detector == "ephys"
        assert {"feature", "value", "threshold"} <= set(event.extras)
        assert 0.5 <= event.confidence <= 1.0


def test_quality_grades_windows_and_zeroes_bad_channels(probe):
    sim, detection = probe
    q = detection.quality
    assert q.shape == (10, sim.data.n_channels) and detection.window_duration == 1.0
    assert np.all((q >= 0) & (q <= 1))
    bad = [i for i, c in enumerate(detection.channels) if c.is_bad]
    assert np.all(q[:, bad] == 0)
    sat = sim.truth.events_of("saturation")[0]
    assert q[int(sat.onset), [i for i in range(q.shape[1]) if i not in bad]].mean() < 1.0


def test_a_clean_simulation_gives_no_findings(clean):
    ts, _ = clean
    detection = EphysDetector().fit(ts).detect(ts)
    assert not [c.name for c in detection.channels if c.is_bad]
    assert detection.events == []
    assert detection.quality.min() == 1.0


def test_a_flat_channel_is_flat(clean):
    ts, _ = clean
    data = ts.get_data()
    data[5] = 12.5  # a constant: no variance at all
    detection = EphysDetector().fit(_with_data(ts, data)).detect(_with_data(ts, data))
    status = detection.channels[5]
    assert status.is_bad and status.reasons == ("flat",)
    assert status.scores["noise_uV"] == 0.0
    assert [c.name for c in detection.channels if c.is_bad] == [status.name]


def test_contacts_above_the_brain_are_outside_brain(clean):
    # In the brain every contact shares a reference signal; the top quarter of the probe
    # (largest depth coordinate) sees only its own noise and a weaker signal of its own.
    ts, _ = clean
    data = ts.get_data()
    rng = np.random.default_rng(0)
    n = data.shape[1]
    data[:24] += 6.0 * rng.standard_normal(n, dtype=np.float32)
    data[24:] = 7.0 * rng.standard_normal((8, n), dtype=np.float32)
    data[24:] += 3.0 * rng.standard_normal(n, dtype=np.float32)
    probe_ts = _with_data(ts, data)
    detection = EphysDetector().fit(probe_ts).detect(probe_ts)
    outside = [c.name for c in detection.channels if "outside_brain" in c.reasons]
    assert outside == ts.ch_names[24:]
    assert not [c.name for c in detection.channels[:24] if c.is_bad]


def test_volts_and_integer_samples_give_the_same_verdicts(probe):
    sim, detection = probe
    ts = sim.data
    volts = _with_data(ts, ts.get_data() * 1e-6, units="V")
    # Integer ADC samples (0.195 µV steps, as Neuropixels): repeated values must not read as
    # saturation below the rails.
    step = 0.195
    counts = np.round(ts.get_data() / step).astype(np.int16)
    adc = _with_data(ts, counts, units="uV", gain=step)
    for other in (volts, adc):
        found = EphysDetector().fit(other).detect(other)
        assert [c.status for c in found.channels] == [c.status for c in detection.channels]
        noise = [c.scores["noise_uV"] for c in found.channels]
        ref = [c.scores["noise_uV"] for c in detection.channels]
        np.testing.assert_allclose(noise, ref, rtol=0.05, atol=0.05)
        kinds = sorted(e.kind for e in found.events)
        assert kinds == sorted(e.kind for e in detection.events)


def test_nan_samples_are_gap_findings_and_the_input_is_not_modified(clean):
    ts, _ = clean
    data = ts.get_data()
    data[3, 30000:33000] = np.nan
    holed = _with_data(ts, data)
    before = data.copy()
    detection = EphysDetector().fit(holed).detect(holed)
    gaps = [e for e in detection.events if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].channels == (ts.ch_names[3],)
    assert gaps[0].onset == pytest.approx(1.0, abs=0.002)
    assert gaps[0].duration == pytest.approx(0.1, abs=0.002)
    np.testing.assert_array_equal(data, before)


def test_fit_returns_self_and_detect_fits_when_needed(clean):
    ts, _ = clean
    det = EphysDetector()
    assert det.fit(ts) is det and hasattr(det, "noise_") and hasattr(det, "statuses_")
    fresh = EphysDetector()
    assert not hasattr(fresh, "statuses_")
    assert fresh.detect(ts).channels == det.detect(ts).channels


def test_fitting_on_two_threads_measures_what_one_thread_measures(probe):
    sim, _ = probe
    one = EphysDetector(n_jobs=1).fit(sim.data)
    two = EphysDetector(n_jobs=2).fit(sim.data)
    assert one.statuses_ == two.statuses_
    for key, value in one.features_.items():
        np.testing.assert_allclose(two.features_[key], value, rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(two.group_scale_, one.group_scale_, rtol=1e-6)
    np.testing.assert_allclose(two.pop_scale_, one.pop_scale_, rtol=1e-6)


def test_any_channel_type_is_accepted_at_a_spike_rate(clean):
    # Raw binary probes often come typed "misc" or in arbitrary units: judged all the same.
    ts, _ = clean
    misc = _with_data(ts, ts.get_data(), types="misc", units="a.u.")
    detection = EphysDetector().fit(misc).detect(misc)
    assert not [c for c in detection.channels if c.is_bad]
    assert "noise" in detection.channels[0].scores


def test_a_single_channel_works():
    ts = TimeSeries(np.random.default_rng(1).standard_normal((1, 30000)), 30000.0, ["ch0"])
    detection = EphysDetector().fit(ts).detect(ts)
    assert len(detection.channels) == 1 and not detection.channels[0].is_bad


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: TimeSeries(np.zeros((4, 5000)), 1000.0), ParameterError, "too low"),
        (lambda: np.zeros((4, 30000)), ParameterError, "TimeSeries"),
        (lambda: TimeSeries(np.full((4, 30000), np.nan), 30000.0), DataValueError, "finite"),
    ],
)
def test_bad_input_gives_a_clear_error(make, error, words):
    with pytest.raises(error, match=words) as info:
        EphysDetector().fit(make())
    assert isinstance(info.value, NeurolintError) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "params", [{"n_snippets": 0}, {"window": -1.0}, {"noisy_ratio": "high"}, {"group_size": 2.5}]
)
def test_bad_parameters_are_refused_on_fit(clean, params):
    ts, _ = clean
    with pytest.raises(ParameterError):
        EphysDetector(**params).fit(ts)


def test_same_floor_as_the_pipeline():
    from neurolint.assess.ephys import MIN_SAMPLING_RATE
    from neurolint.assess.pipeline import EPHYS_MIN_RATE

    assert MIN_SAMPLING_RATE == EPHYS_MIN_RATE
