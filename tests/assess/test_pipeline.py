"""check(): input validation, merging findings from several detectors, score and quality."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.assess.base import Detection
from neurolint.assess.pipeline import _merge_events, _quality, _score, default_detectors
from neurolint.core.errors import DataValueError, ParameterError
from neurolint.core.findings import ChannelStatus, Finding
from neurolint.core.imaging import Movie, VolumeSeries
from neurolint.core.timeseries import TimeSeries


def test_overlapping_findings_of_one_kind_become_one():
    events = [
        Finding(1.0, 0.4, "blink", ("Fp1",), 0.6, "rules"),
        Finding(1.1, 0.4, "blink", ("Fp2",), 0.9, "learned"),
        Finding(1.1, 0.4, "muscle", ("T7",), 0.9, "learned"),
        Finding(5.0, 0.4, "blink", (), 0.5, "rules"),
    ]
    merged = _merge_events(events)
    blinks = [e for e in merged if e.kind == "blink"]
    assert len(blinks) == 2 and len(merged) == 3
    first = blinks[0]
    assert (first.onset, first.confidence) == (1.1, 0.9)  # the most confident extent
    assert first.detector == "learned+rules" and set(first.channels) == {"Fp1", "Fp2"}


def test_quality_is_the_minimum_over_detectors_on_the_finest_grid():
    coarse = Detection("a", quality=np.array([[1.0, 0.5], [1.0, 1.0]]), window_duration=2.0)
    fine = Detection(
        "b", quality=np.array([[1.0, 1.0], [0.2, 1.0], [1, 1], [1, 1]]), window_duration=1.0
    )
    quality, step = _quality([coarse, fine], 4.0, 2)
    assert step == 1.0
    np.testing.assert_allclose(quality, [[1, 0.5], [0.2, 0.5], [1, 1], [1, 1]])


def test_score_counts_bad_channels_as_lost():
    channels = [ChannelStatus("a"), ChannelStatus("b", status="bad", reasons=("flat",))]
    assert _score(np.ones((4, 2)), channels, [], 4.0) == 50.0
    assert _score(None, [ChannelStatus("a")], [Finding(0, 1.0, "blink")], 4.0) == 75.0


def test_default_detectors_follow_the_modality():
    eeg = TimeSeries(np.zeros((2, 100), np.float32), 100.0, ["a", "b"])
    ephys = TimeSeries(
        np.zeros((2, 100), np.float32), 30000.0, nl.core.ChannelInfo(["a", "b"], "ephys", "uV")
    )
    assert default_detectors(eeg) == ["rules", "learned", "anomaly"]
    slow = TimeSeries(np.zeros((4, 1000), np.float32), 64.0, list("abcd"))
    assert default_detectors(slow) == ["rules", "anomaly"]  # the CNN needs 100 Hz
    assert default_detectors(ephys) == ["ephys"]
    probe = TimeSeries(np.zeros((2, 100), np.float32), 30000.0, ["a", "b"])  # typed misc
    assert default_detectors(probe) == ["ephys"]
    assert default_detectors(Movie(np.zeros((3, 4, 4)), 10.0)) == ["imaging"]
    assert default_detectors(VolumeSeries(np.zeros((3, 4, 4, 4)), 2.0)) == ["fmri"]


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ParameterError, match="TimeSeries, Movie or VolumeSeries"):
        nl.check(np.zeros((2, 100)))
    nan = TimeSeries(np.full((2, 1000), np.nan, np.float32), 100.0, ["a", "b"])
    with pytest.raises(DataValueError, match="no finite values"):
        nl.check(nan)
    ok = TimeSeries(np.zeros((2, 1000), np.float32), 100.0, ["a", "b"])
    with pytest.raises(ParameterError, match="Unknown detector"):
        nl.check(ok, detectors="sixth_sense")
    for n in (1, 2, 7):  # too short for a window's spectrum: said so, not a numpy error
        short = TimeSeries(np.ones((4, n), np.float32), 256.0, list("abcd"))
        with pytest.raises(DataValueError, match=f"only {n} sample"):
            nl.check(short)
    nl.check(TimeSeries(np.ones((4, 8), np.float32), 256.0, list("abcd")))


def test_check_movie_and_volumes_end_to_end(tmp_path):
    from neurolint.simulate import simulate_calcium, simulate_fmri

    movie, _truth = simulate_calcium((48, 48), n_frames=300, n_cells=6, motion=3.0, seed=10)
    qc = nl.check(movie)
    assert qc.meta["detectors"] == ["imaging"]
    assert qc.traces["imaging"]["motion"].shape == (300, 2)
    assert 0 <= qc.score <= 100
    back = type(qc).from_json(qc.to_json())
    assert back.traces["imaging"]["snr_map"].shape == (48, 48)

    volumes, vtruth = simulate_fmri((24, 24, 16), 40, n_regions=1, spikes=2, seed=10)
    vqc = nl.check(volumes)
    assert vqc.meta["detectors"] == ["fmri"]
    found = {e.extras["volume"] for e in vqc.events_of("intensity_spike")}
    assert {e.extras["volume"] for e in vtruth.events_of("intensity_spike")} <= found


@pytest.mark.parametrize(
    ("module", "cls"), [("anomaly_base", "AnomalyDetector"), ("rules", "RuleDetector")]
)
def test_fit_then_detect_reads_the_features_once(module, cls):
    import importlib
    from unittest import mock

    from neurolint.assess import anomaly, rules
    from neurolint.simulate import simulate_eeg

    # Patched where the detector looks the function up.
    mod = importlib.import_module(f"neurolint.assess.{module}")
    detector = {"AnomalyDetector": anomaly, "RuleDetector": rules}[cls]
    ts, _ = simulate_eeg(8, 30.0, 256.0, artifacts=None, seed=1)
    with mock.patch.object(mod, "window_features", wraps=mod.window_features) as features:
        getattr(detector, cls)().fit(ts).detect(ts)
    assert features.call_count == 1


def test_shared_features_answer_a_coarser_hop_from_a_finer_one():
    from unittest import mock

    from neurolint.assess import features as feat
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(8, 20.3, 256.0, seed=2)
    direct = feat.window_features(ts, window=1.0, hop=1.0)
    with feat.shared_features():
        with mock.patch.object(feat, "_block_features", wraps=feat._block_features) as blocks:
            fine = feat.window_features(ts, window=1.0, hop=0.5)
            passes = blocks.call_count
            coarse = feat.window_features(ts, window=1.0, hop=1.0)
            assert blocks.call_count == passes  # answered from the hop-0.5 windows
        assert fine.n_windows > coarse.n_windows
    np.testing.assert_array_equal(coarse.starts, direct.starts)
    for name in feat.FEATURES:
        np.testing.assert_allclose(coarse[name], direct[name], rtol=1e-6, atol=1e-30)
    # Outside the block nothing is kept.
    with mock.patch.object(feat, "_block_features", wraps=feat._block_features) as blocks:
        feat.window_features(ts, window=1.0, hop=1.0)
        assert blocks.call_count > 0


def test_a_coarser_hop_on_aligned_windows_is_a_read_only_view_of_the_finer_pass():
    from neurolint.assess import features as feat
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(8, 20.0, 256.0, seed=2)  # whole windows: every other one is a hop of 1 s
    with feat.shared_features():
        fine = feat.window_features(ts, window=1.0, hop=0.5)
        coarse = feat.window_features(ts, window=1.0, hop=1.0)
    for name in feat.FEATURES:
        np.testing.assert_array_equal(coarse[name], fine[name][::2])
        assert np.shares_memory(coarse[name], fine[name])  # not held twice
        assert not coarse[name].flags.writeable


def test_check_in_threads_gives_what_one_thread_gives():
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(16, 60.0, 256.0, seed=4)
    one = nl.check(ts, n_jobs=1)
    two = nl.check(ts, n_jobs=2)
    assert one.meta["detectors"] == two.meta["detectors"] == ["rules", "learned", "anomaly"]
    assert [(e.kind, e.onset, e.channels) for e in one.events] == [
        (e.kind, e.onset, e.channels) for e in two.events
    ]
    assert one.bad_channels == two.bad_channels
    np.testing.assert_allclose(one.quality, two.quality)


@pytest.mark.parametrize("name", ["learned", "anomaly"])
def test_a_lone_detector_gets_every_core_asked_for(monkeypatch, name):
    # One detector has no partner to share the cores with: its chunks take them all.
    from neurolint.assess import pipeline

    given = []
    build = pipeline._build
    monkeypatch.setattr(pipeline, "_build", lambda n, o: given.append(o) or build(n, o))
    ts = TimeSeries(np.random.default_rng(0).standard_normal((4, 2560)), 256.0, list("abcd"))
    nl.check(ts, detectors=[name], n_jobs=2)
    nl.check(ts, detectors=[name], n_jobs=1)
    assert [o.get("n_jobs") for o in given] == [2, None]


def test_row_median_estimates_the_median_of_long_rows():
    from neurolint.assess._stats import row_median

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 50_000)) * np.array([[1.0], [2.0], [5.0], [10.0]]) + 3.0
    est = row_median(x)
    assert est.shape == (4,)
    spread = np.array([1.0, 2.0, 5.0, 10.0])
    assert np.all(np.abs(est - np.median(x, axis=1)) < 0.1 * spread)
    short = rng.standard_normal((2, 100))
    np.testing.assert_array_equal(row_median(short), np.median(short, axis=1))  # all samples


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_infinite_samples_are_found_as_missing_samples_like_nan():
    """+-inf samples (an overflowed amplifier, a failed conversion) read as missing: the
    check gives what the same recording with NaN there gives, warns of nothing, and leaves
    the input as it was. Before, a 39 s run of inf on one channel crashed the rules (an
    SVD that did not converge) and a lone inf sample spread through sums and spectra."""
    from neurolint.simulate import simulate_eeg

    sim = simulate_eeg(32, 60, 256.0, seed=3, artifacts=["blink", "muscle"])
    x = sim.data.get_data()
    spots = np.zeros(x.shape, bool)
    spots[5, 3000:3256] = spots[6, 5000] = spots[7, 4000:9000] = True

    def with_(value):
        y = x.copy()
        y[spots] = value
        return TimeSeries(y, 256.0, sim.data.channels)

    given = with_(np.inf)
    before = given.get_data()
    as_inf, as_nan = nl.check(given), nl.check(with_(np.nan))
    np.testing.assert_array_equal(given.get_data(), before)
    assert np.isinf(given.get_data()[spots]).all()

    def summary(qc):
        events = sorted((e.kind, e.onset, e.duration, e.channels) for e in qc.events)
        return events, [(c.name, c.status, c.reasons) for c in qc.channels], qc.score

    assert summary(as_inf) == summary(as_nan)
    gaps = sorted((e.channels, e.onset, e.offset) for e in as_inf.events if e.kind == "gap")
    # Each channel's own dropped samples, to the sample (F5 lost one).
    assert gaps == [
        (("F5",), 5000 / 256, 5001 / 256),
        (("F9",), 3000 / 256, 3256 / 256),
        (("Fz",), 4000 / 256, 9000 / 256),
    ]


def test_gaps_on_different_channels_stay_apart_when_merged():
    events = [
        Finding(1.0, 2.0, "gap", ("Fz",), 0.99, "rules"),
        Finding(1.5, 0.1, "gap", ("Cz",), 0.9, "rules"),
        Finding(1.2, 1.0, "gap", ("Fz",), 0.8, "learned"),
        Finding(1.0, 2.0, "muscle", ("T7",), 0.9, "rules"),
        Finding(1.2, 1.0, "muscle", ("T8",), 0.8, "learned"),
    ]
    merged = sorted((e.kind, e.channels, e.detector) for e in _merge_events(events))
    assert merged == [
        ("gap", ("Cz",), "rules"),
        ("gap", ("Fz",), "learned+rules"),
        ("muscle", ("T7", "T8"), "learned+rules"),
    ]
