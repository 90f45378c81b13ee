"""ECG rule: cardiac episodes found where the simulator put them, none on clean EEG."""

import numpy as np

from neurolint.assess.rules_ecg import ecg_rule
from neurolint.simulate import simulate_eeg


def _ecg_only(seed: int):
    return simulate_eeg(32, 120, 256.0, artifacts=["ecg"], rates={"ecg": 1.0}, seed=seed)


def test_ecg_episode_found_where_the_truth_says():
    sim = _ecg_only(103)
    found = ecg_rule(sim.data, np.arange(sim.data.n_channels), {})
    truth = sim.truth.events_of("ecg")
    assert found
    hit = [
        e for e in found if any(min(e.offset, t.offset) - max(e.onset, t.onset) > 0 for t in truth)
    ]
    assert hit
    f = hit[0]
    assert f.kind == "ecg" and f.detector == "rules"
    assert f.extras["feature"] == "beat_comb_z" and f.extras["value"] > f.extras["threshold"]
    assert 40 <= f.extras["bpm"] <= 110


def test_clean_eeg_gives_no_ecg():
    sim = simulate_eeg(32, 120, 256.0, artifacts=None, seed=5)
    assert ecg_rule(sim.data, np.arange(sim.data.n_channels), {}) == []


def test_no_channels_or_short_data_gives_nothing():
    sim = simulate_eeg(8, 5, 256.0, artifacts=None, seed=1)
    assert ecg_rule(sim.data, np.arange(0), {}) == []
    assert ecg_rule(sim.data, np.arange(8), {}) == []
