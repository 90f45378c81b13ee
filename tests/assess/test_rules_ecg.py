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
    assert f.extras["feature"] == "ecg_probability" and f.extras["value"] >= f.extras["threshold"]
    assert f.extras["comb_z"] > f.extras["comb_z_threshold"]
    assert 40 <= f.extras["bpm"] <= 110


def test_clean_eeg_gives_no_ecg():
    sim = simulate_eeg(32, 120, 256.0, artifacts=None, seed=5)
    assert ecg_rule(sim.data, np.arange(sim.data.n_channels), {}) == []


def test_no_channels_or_short_data_gives_nothing():
    sim = simulate_eeg(8, 5, 256.0, artifacts=None, seed=1)
    assert ecg_rule(sim.data, np.arange(0), {}) == []
    assert ecg_rule(sim.data, np.arange(8), {}) == []


def test_onsets_are_in_seconds_at_rates_where_bins_are_not_20_ms():
    # At 256 Hz a 20 ms bin is 5 samples (19.5 ms): onsets counted in nominal bins drifted
    # 2.4% late, ~5 s by 200 s.
    rng = np.random.default_rng(0)
    sfreq, n = 256.0, 300 * 256
    data = (rng.standard_normal((16, n)) * 5e-6).astype(np.float32)
    t = np.arange(-16, 17) / sfreq
    qrs = np.exp(-0.5 * (t / 0.012) ** 2) - 0.2 * np.exp(-0.5 * ((t - 0.03) / 0.01) ** 2)
    beats = np.arange(200.0, 260.0, 0.8) + rng.normal(0, 0.005, 75)
    for b in beats:
        i = round(b * sfreq)
        data[:, i - 16 : i + 17] += (30e-6 * qrs).astype(np.float32)
    from neurolint.core.timeseries import TimeSeries

    ts = TimeSeries(data, sfreq, [f"E{i}" for i in range(16)])
    found = ecg_rule(ts, np.arange(16), {})
    assert len(found) == 1
    assert abs(found[0].onset - 200.0) < 2.0 and abs(found[0].offset - 260.0) < 2.0
    assert abs(found[0].extras["bpm"] - 75.0) < 3.0


def test_comb_width_and_bridging_are_thresholds_too():
    from neurolint.assess.rules import DEFAULT_THRESHOLDS

    assert {"ecg_teeth", "ecg_bridge_s"} <= set(DEFAULT_THRESHOLDS)
    sim = _ecg_only(103)
    chans = np.arange(sim.data.n_channels)
    default = ecg_rule(sim.data, chans, {})
    # Bridging only joins runs of comb activity, so without it there are as many or more.
    split = ecg_rule(sim.data, chans, {"ecg_bridge_s": 0.0, "ecg_min_s": 0.0})
    assert len(split) >= len(default) >= 1
    # A wider comb averages more beats: its z-scores differ from the 11-tooth default.
    wide = ecg_rule(sim.data, chans, {"ecg_teeth": 8})
    assert [e.extras["value"] for e in wide] != [e.extras["value"] for e in default]


def test_acceptance_grows_with_comb_height_and_length():
    from neurolint.assess.rules_ecg import accept_probability

    assert accept_probability(5.0, 4.2, 8.0) < accept_probability(6.0, 4.2, 8.0)
    assert accept_probability(5.0, 4.2, 8.0) < accept_probability(5.0, 4.2, 30.0)
    assert 0.0 < accept_probability(4.1, 4.0, 6.0) < 0.45 < accept_probability(8.0, 7.0, 40.0)


def test_candidates_below_the_acceptance_are_dropped():
    sim = _ecg_only(103)
    chans = np.arange(sim.data.n_channels)
    every = ecg_rule(sim.data, chans, {"ecg_p": 0.0})
    kept = ecg_rule(sim.data, chans, {})
    assert len(kept) <= len(every)
    assert all(e.extras["value"] >= 0.45 for e in kept)
    assert all(0.5 <= e.confidence <= 1.0 for e in kept)


def _with_lead(seed: int, artifacts=("ecg",)):
    return simulate_eeg(
        32, 120, 256.0, artifacts=list(artifacts), rates={"ecg": 1.0}, ecg_lead=True, seed=seed
    )


def test_heartbeats_are_read_off_an_ecg_lead():
    from neurolint.assess.rules_ecg import heartbeats

    sim = _with_lead(103)
    lead = sim.data.ch_names.index("ECG")
    found = heartbeats(sim.data, lead)
    true = sim.truth.arrays["ecg_lead_peaks"]
    # Every beat, each within 10 ms, none invented.
    gap = np.abs(found[:, None] - true[None]).min(axis=1)
    assert len(found) == len(true) and gap.max() <= 0.01 * sim.data.sampling_rate
    # An EEG channel is no ECG: MNE finds no plausible heart rate there, or none at all.
    noise = simulate_eeg(4, 60, 256.0, artifacts=None, seed=1).data
    assert heartbeats(noise, 0) is None


def test_with_a_lead_the_episode_is_read_at_the_beats():
    sim = _with_lead(103)
    beats = sim.truth.arrays["ecg_lead_peaks"]
    eeg = np.arange(sim.data.n_channels - 1)
    found = ecg_rule(sim.data, eeg, {}, beats=beats)
    truth = sim.truth.events_of("ecg")
    hit = [
        e for e in found if any(min(e.offset, t.offset) - max(e.onset, t.onset) > 0 for t in truth)
    ]
    assert hit and len(hit) == len(found)
    f = hit[0]
    assert f.extras["feature"] == "beat_locked_z" and f.extras["value"] > f.extras["threshold"]
    assert 40 <= f.extras["bpm"] <= 110


def test_a_lead_on_clean_eeg_gives_no_ecg_episode():
    # The heart beats throughout on the lead; its field never reaches this EEG.
    for seed in (5, 6, 7):
        sim = _with_lead(seed, artifacts=())
        eeg = np.arange(sim.data.n_channels - 1)
        beats = sim.truth.arrays["ecg_lead_peaks"]
        assert len(beats) > 80
        assert ecg_rule(sim.data, eeg, {}, beats=beats) == []


def test_check_uses_an_ecg_lead_by_itself():
    from neurolint import check

    sim = _with_lead(103)
    result = check(sim.data, detectors="rules")
    ecg = [e for e in result.events if e.kind == "ecg"]
    assert ecg and all(e.extras["feature"] == "beat_locked_z" for e in ecg)
    assert "ECG" not in {c for e in result.events for c in e.channels}


def test_heartbeats_are_found_chunk_by_chunk_without_doubles_at_the_seams():
    from neurolint.assess.rules_ecg import heartbeats

    sim = _with_lead(104)
    lead = sim.data.ch_names.index("ECG")
    true = sim.truth.arrays["ecg_lead_peaks"]
    sfreq = sim.data.sampling_rate
    for chunk_s in (25.0, 1000.0):  # five chunks, or one
        found = heartbeats(sim.data, lead, chunk_s=chunk_s)
        gap = np.abs(found[:, None] - true[None]).min(axis=1)
        assert len(found) == len(true) and gap.max() <= 0.01 * sfreq
        assert np.diff(found).min() > 0.3 * sfreq  # no beat found twice
