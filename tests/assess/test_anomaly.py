"""Unsupervised anomaly detection: unseen artifacts found, clean data left alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurolint.assess.anomaly import (
    AnomalyDetector,
    AutoencoderDetector,
    IsolationForestDetector,
    suppress_known,
)
from neurolint.bench.metrics import match_events
from neurolint.bench.tasks.anomaly import inject_unseen
from neurolint.core import TimeSeries
from neurolint.core.errors import NeurolintError, ParameterError
from neurolint.core.findings import Finding
from neurolint.simulate import simulate_eeg

DETECTORS = [IsolationForestDetector, AutoencoderDetector, AnomalyDetector]


@pytest.fixture(scope="module")
def clean():
    # Training seeds only (< 10 000): held-out seeds belong to the benchmark.
    return simulate_eeg(16, 90.0, 256.0, artifacts=None, seed=11).data


@pytest.fixture(scope="module")
def glitched():
    ts = simulate_eeg(16, 60.0, 256.0, artifacts=None, seed=12).data
    return inject_unseen(ts, kinds=("glitch",), rate=5.0, seed=12)


@pytest.mark.parametrize("cls", [IsolationForestDetector, AnomalyDetector])
def test_glitches_are_flagged_at_their_times_and_channels(cls, glitched):
    ts, truth = glitched
    events = cls().detect(ts).events
    assert all(e.kind == "anomaly" and e.detector.startswith("anomaly") for e in events)
    match = match_events(truth, events, by_kind=False)
    assert match.recall >= 0.8
    for i, j in match.pairs:
        # The channel carrying the full glitch is among the flagged ones.
        assert truth[i].channels[0] in events[j].channels
        assert events[j].extras["score"] > events[j].extras["threshold"]
        assert 0.5 <= events[j].confidence <= 1.0


@pytest.mark.parametrize("cls", DETECTORS)
def test_clean_eeg_gives_at_most_one_false_alarm_per_minute(cls, clean):
    events = cls().detect(clean).events
    assert len(events) <= clean.duration / 60.0


def test_fit_on_reference_then_detect_another_recording(clean, glitched):
    ts, truth = glitched
    fitted = AutoencoderDetector().fit(clean)
    assert hasattr(fitted, "weights_") and hasattr(fitted, "threshold_")
    assert match_events(truth, fitted.detect(ts).events, by_kind=False).recall >= 0.8
    # The same through the reference parameter, leaving the detector unfitted.
    det = AnomalyDetector(reference=clean)
    assert match_events(truth, det.detect(ts).events, by_kind=False).recall >= 0.8
    assert not hasattr(det, "threshold_")
    # The forest's scores saturate outside the reference's range, so it finds fewer (and in
    # pieces), but it still finds glitches; other channel counts work (features are
    # standardised per channel).
    forest = IsolationForestDetector().fit(clean.pick(list(range(8))))
    assert match_events(truth, forest.detect(ts).events, by_kind=False).tp >= 2


@pytest.mark.parametrize("cls", [IsolationForestDetector, AutoencoderDetector])
def test_same_random_state_gives_the_same_result(cls, glitched):
    ts, _ = glitched
    a, b = cls(random_state=3).detect(ts), cls(random_state=3).detect(ts)
    np.testing.assert_array_equal(a.quality, b.quality)
    assert a.events == b.events


@pytest.mark.parametrize("cls", DETECTORS)
def test_scoring_on_several_threads_gives_the_same_scores(cls, glitched, monkeypatch):
    import neurolint.assess.anomaly_base as base

    ts, _ = glitched
    whole = cls().score(ts).z
    monkeypatch.setattr(base, "_SCORE_ROWS", 100)  # 1,904 channel-windows: 20 blocks
    one = cls().score(ts).z
    two = cls(n_jobs=2).score(ts).z
    # BLAS blocks may differ: float32 rounding, relative to z-scores of up to ~30.
    np.testing.assert_allclose(one, whole, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(one, two)
    fitted = cls(n_jobs=2).fit(ts)  # and when a fitted detector rescores a recording
    np.testing.assert_array_equal(
        fitted.score(ts.time_slice(0, 30)).z, cls().fit(ts).score(ts.time_slice(0, 30)).z
    )


def test_detection_quality_matrix_and_input_untouched(glitched):
    ts, _ = glitched
    before = ts.to_numpy().copy()
    det = AnomalyDetector()
    out = det.detect(ts)
    np.testing.assert_array_equal(ts.to_numpy(), before)
    assert not hasattr(det, "detectors_")  # detect() fitted a copy, not the detector
    assert out.quality.shape == (60, ts.n_channels)
    assert out.window_duration == 1.0
    assert 0.0 <= out.quality.min() < 0.5 <= out.quality.max() == 1.0
    assert out.traces["score"].shape == out.traces["times"].shape


def test_contamination_fraction_flags_about_that_share(clean):
    det = IsolationForestDetector(contamination=0.01).fit(clean)
    z = det.score(clean).z
    assert 0.005 <= np.mean(z > det.threshold_) <= 0.015


def test_nan_runs_do_not_crash(glitched):
    ts, _ = glitched
    data = ts.to_numpy().copy()
    data[:, 1000:1700] = np.nan  # whole windows of NaN
    out = IsolationForestDetector().detect(TimeSeries(data, ts.sampling_rate, ts.channels))
    assert any(e.onset <= 1000 / 256 <= e.offset for e in out.events)


def test_bad_input_gives_clear_errors(clean):
    with pytest.raises(ParameterError, match="contamination"):
        IsolationForestDetector(contamination=0.7).fit(clean)
    with pytest.raises(ParameterError, match="contamination"):
        IsolationForestDetector(contamination="sometimes").fit(clean)
    with pytest.raises(ParameterError, match="TimeSeries"):
        IsolationForestDetector().detect(np.zeros((2, 100)))
    with pytest.raises(ParameterError, match="reference"):
        IsolationForestDetector().fit()
    with pytest.raises(ParameterError, match="methods"):
        AnomalyDetector(methods=("forest",)).detect(clean)
    with pytest.raises(ParameterError, match="combine"):
        AnomalyDetector(combine="vote").detect(clean)
    with pytest.raises(NeurolintError, match="window"):
        IsolationForestDetector(window=0.01).detect(clean)


def _f(onset, duration, kind="anomaly", channels=()):
    return Finding(onset, duration, kind, tuple(channels), detector="t")


def test_suppress_known_drops_explained_anomalies():
    anomalies = [
        _f(1.0, 1.5, channels=("Fp1",)),  # a blink covers it
        _f(10.0, 1.5, channels=("O1", "O2")),  # a pop explains O1 only
        _f(20.0, 1.5, channels=("Cz",)),  # nothing known there
        _f(30.0, 1.5, channels=("T7",)),  # known event on another channel
        _f(40.0, 1.5),  # all channels; an overlapping gap explains it
        _f(50.0, 2.0, channels=("C3",)),  # overlap of 0.2 s with a 1 s event: too little
    ]
    known = [
        _f(1.4, 0.3, "blink", ("Fp1", "Fp2")),
        _f(10.5, 0.5, "pop", ("O1",)),
        _f(30.0, 1.0, "pop", ("T8",)),
        _f(40.2, 0.3, "gap"),
        _f(51.8, 1.0, "muscle", ("C3",)),
        _f(20.0, 1.5, "anomaly", ("Cz",)),  # other anomalies explain nothing
    ]
    kept = suppress_known(anomalies, known)
    assert [(e.onset, e.channels) for e in kept] == [
        (10.0, ("O2",)),
        (20.0, ("Cz",)),
        (30.0, ("T7",)),
        (50.0, ("C3",)),
    ]
    assert suppress_known(anomalies, []) == anomalies
    with pytest.raises(ParameterError, match="min_overlap"):
        suppress_known(anomalies, known, min_overlap=2.0)


def test_import_is_light():
    code = (
        "import sys, neurolint.assess.anomaly; "
        "print(any(m in sys.modules for m in ('torch', 'sklearn', 'mne')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_detect_after_fit_reuses_the_scores_and_matches_a_fresh_detect(glitched):
    from unittest import mock

    ts, _ = glitched
    fitted = AnomalyDetector().fit(ts)
    with mock.patch.object(
        IsolationForestDetector, "_raw_scores", wraps=None, side_effect=AssertionError
    ):
        reused = fitted.detect(ts)  # scores from fit(): no forest is asked again
    fresh = AnomalyDetector().detect(ts)  # unfitted: fits a copy, then scores
    assert [(e.onset, e.channels) for e in reused.events] == [
        (e.onset, e.channels) for e in fresh.events
    ]
    np.testing.assert_allclose(reused.quality, fresh.quality, atol=1e-6)
    # Another recording is scored afresh.
    other = simulate_eeg(16, 30.0, 256.0, artifacts=None, seed=13).data
    assert fitted.detect(other).quality.shape[1] == 16


def test_standardised_features_block_by_block_are_the_whole_array(glitched):
    from neurolint.assess.anomaly_features import StandardisedFeatures, anomaly_features
    from neurolint.assess.features import window_features

    wf = window_features(glitched[0], window=1.0, hop=0.5)
    whole = anomaly_features(wf)
    lazy = StandardisedFeatures(wf)
    assert lazy.shape == whole.shape
    blocks = np.concatenate([lazy.block(a, a + 13) for a in range(0, wf.n_windows, 13)])
    np.testing.assert_array_equal(blocks, whole)
    rows = whole.reshape(-1, whole.shape[-1])
    np.testing.assert_array_equal(lazy.rows(100, 1000), rows[100:1000])
    index = np.sort(np.random.default_rng(0).choice(len(rows), 300, replace=False))
    np.testing.assert_array_equal(lazy.take(index, rows=7 * 16), rows[index])
    np.testing.assert_array_equal(lazy.at([5, 5, 90], [0, 3, 2]), whole[[5, 5, 90], [0, 3, 2]])


def test_scoring_never_holds_every_standardised_channel_window(peak_bytes):
    # The standardised features are 68 bytes a channel-window (an hour of 64 channels is
    # 31 MB); made a block at a time as they are scored, what memory grows by with the
    # recording's length is the scores alone, well under that.
    from neurolint.assess.features import window_features

    ts = simulate_eeg(64, 1500.0, 256.0, artifacts=None, seed=13).data
    AnomalyDetector().detect(ts.time_slice(0, 20))  # imports (torch) outside the measure
    peaks, rows = [], []
    for seconds in (600.0, 1500.0):  # both several scoring blocks long
        part = ts.time_slice(0, seconds)
        wf = window_features(part, window=1.0, hop=0.5)
        _, peak = peak_bytes(lambda part=part, wf=wf: AnomalyDetector().detect(part, features=wf))
        peaks.append(peak)
        rows.append(wf.n_windows * ts.n_channels)
    per_row = (peaks[1] - peaks[0]) / (rows[1] - rows[0])
    assert per_row < 0.75 * 17 * 4


def test_the_fit_sample_gathered_with_the_medians_is_the_same_rows(glitched):
    from neurolint.assess.anomaly_features import StandardisedFeatures, anomaly_features
    from neurolint.assess.features import window_features

    wf = window_features(glitched[0], window=1.0, hop=0.5)
    rows = anomaly_features(wf).reshape(-1, 17)
    index = np.sort(np.random.default_rng(1).choice(len(rows), 500, replace=False))
    lazy = StandardisedFeatures(wf, sample=index)
    np.testing.assert_array_equal(lazy.take(index), rows[index])
    np.testing.assert_array_equal(lazy.take(index[:10]), rows[index[:10]])  # made anew
