"""Rule-based detectors find each simulated artifact where the truth logs it."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.assess.neighbours import neighbours
from neurolint.assess.rules import DEFAULT_THRESHOLDS, RuleDetector
from neurolint.bench.metrics import match_events
from neurolint.core.channels import ChannelInfo
from neurolint.core.errors import ParameterError
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_eeg


def _found(kind: str, seed: int = 1, n: int = 32, duration: float = 40.0):
    sim = simulate_eeg(n, duration, 256.0, artifacts=[kind], seed=seed)
    det = RuleDetector().detect(sim.data)
    return sim, det


@pytest.mark.parametrize(
    "kind", ["blink", "saccade", "muscle", "pop", "movement", "gap", "saturation", "line_noise"]
)
def test_each_event_rule_finds_its_artifact(kind):
    sim, det = _found(kind)
    truth = sim.truth.events_of(kind)
    pred = [e for e in det.events if e.kind == kind]
    m = match_events(truth, pred)
    assert truth and m.recall >= 0.75 and m.precision >= 0.75
    # Channels of a matched event overlap the logged channels.
    for i, j in m.pairs:
        if truth[i].channels:
            assert set(pred[j].channels) & set(truth[i].channels)


@pytest.mark.parametrize("kind", ["flat", "noisy_channel", "bridged"])
def test_channel_faults_are_found_with_reason(kind):
    sim = simulate_eeg(32, 30.0, 256.0, artifacts=[kind], seed=2)
    det = RuleDetector().detect(sim.data)
    bad = {c.name: c for c in det.channels if c.is_bad}
    assert set(bad) == set(sim.truth.bad_channels)
    for c in bad.values():
        assert kind in c.reasons
        # Each reason is explained by a feature value next to its threshold.
        assert any(f"threshold_{k}" in c.scores for k in c.scores)


def test_clean_eeg_gives_no_bad_channels_and_few_events():
    sim = simulate_eeg(32, 60.0, 256.0, artifacts=None, seed=3)
    det = RuleDetector().detect(sim.data)
    assert not [c for c in det.channels if c.is_bad]
    assert len(det.events) <= 2
    assert det.quality.shape == (60, 32) and det.quality.min() >= 0 and det.quality.max() <= 1


def test_events_explain_themselves():
    _sim, det = _found("pop")
    assert det.detector == "rules" and det.events
    for e in det.events:
        assert e.detector == "rules"
        assert {"feature", "value", "threshold"} <= set(e.extras)
        assert 0.0 <= e.confidence <= 1.0


@pytest.mark.parametrize("fill", [np.nan, 0.0])
def test_gaps_have_exact_sample_boundaries(fill):
    sim = simulate_eeg(16, 20.0, 200.0, artifacts=None, seed=4)
    data = sim.data.to_numpy()
    data[:, 1234:1301] = fill
    ts = TimeSeries(data, 200.0, sim.data.channels)
    gaps = [e for e in RuleDetector().detect(ts).events if e.kind == "gap"]
    assert len(gaps) == 1
    assert gaps[0].onset == pytest.approx(1234 / 200.0)
    assert gaps[0].duration == pytest.approx(67 / 200.0)


def test_input_is_not_modified_and_fit_returns_self():
    sim = simulate_eeg(16, 20.0, 256.0, seed=5)
    before = sim.data.to_numpy().copy()
    det = RuleDetector(line_freq=50)
    assert det.fit(sim.data) is det and det.line_freq_ == 50.0
    det.detect(sim.data)
    np.testing.assert_array_equal(before, sim.data.to_numpy(), strict=True)


def test_bad_input_errors():
    sim = simulate_eeg(8, 5.0, 128.0, artifacts=None, seed=6)
    with pytest.raises(ParameterError, match="samples"):
        RuleDetector(window=0.05).detect(sim.data)
    with pytest.raises(ParameterError, match="threshold"):
        RuleDetector(thresholds={"nope": 1.0}).detect(sim.data)
    with pytest.raises(ParameterError, match="line_freq"):
        RuleDetector(line_freq=55).detect(sim.data)
    with pytest.raises(ParameterError, match="TimeSeries"):
        RuleDetector().detect(np.zeros((4, 100)))
    assert "blink_z" in DEFAULT_THRESHOLDS


def test_neighbours_by_position_and_by_index():
    pos = np.array([[0, 0, 0], [1, 0, 0], [3, 0, 0], [7, 0, 0]], float) * 0.01
    nb = neighbours(ChannelInfo(["a", "b", "c", "d"], positions=pos), k=2)
    assert nb.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    nb = neighbours(ChannelInfo(["a", "b", "c", "d", "e"]), k=2)
    assert nb.shape == (5, 2) and nb[2].tolist() in ([1, 3], [3, 1])
    assert neighbours(ChannelInfo(["a"]), k=3).shape == (1, 0)
    with pytest.raises(ParameterError):
        neighbours(ChannelInfo(["a", "b"]), k=0)
