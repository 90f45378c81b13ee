"""Benchmark metrics: each one checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurolint.bench import metrics as m
from neurolint.core.errors import ParameterError, ShapeError
from neurolint.core.findings import ChannelStatus, Finding


def ev(onset: float, duration: float, kind: str = "blink", channels=()) -> Finding:
    return Finding(onset, duration, kind, tuple(channels))


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


def test_events_overlapping_60_percent_match_and_40_percent_do_not():
    true = [ev(0.0, 1.0)]
    assert m.match_events(true, [ev(0.4, 1.0)]).tp == 1  # 0.6 s of 1 s overlap
    miss = m.match_events(true, [ev(0.6, 1.0)])  # 0.4 s of 1 s overlap
    assert (miss.tp, miss.fp, miss.fn) == (0, 1, 1)
    # The threshold is relative to the shorter event: 0.3 s of a 0.5 s event is 60%.
    assert m.match_events([ev(0.0, 10.0)], [ev(9.7, 0.5)]).tp == 1
    assert m.match_events(true, [ev(0.6, 1.0)], min_overlap=0.4).tp == 1
    # Exactly 50% counts, although 0.7 - 0.4 is 0.29999999999999993 in floating point.
    assert m.match_events([ev(0.1, 0.6)], [ev(0.4, 0.6)]).tp == 1


def test_events_of_different_kinds_never_match_unless_asked():
    true, pred = [ev(0.0, 1.0, "blink")], [ev(0.0, 1.0, "muscle")]
    res = m.match_events(true, pred)
    assert (res.tp, res.fp, res.fn) == (0, 1, 1)
    assert m.match_events(true, pred, by_kind=False).tp == 1


def test_matching_is_one_to_one():
    # One long true event, three predictions inside it: one hit, two false positives.
    res = m.match_events([ev(0.0, 3.0)], [ev(0.0, 1.0), ev(1.0, 1.0), ev(2.0, 1.0)])
    assert (res.tp, res.fp, res.fn) == (1, 2, 0)
    assert len(res.pairs) == 1 and res.pairs[0][0] == 0
    # Two true events that one prediction covers: one hit, one miss.
    res = m.match_events([ev(0.0, 1.0), ev(1.0, 1.0)], [ev(0.0, 2.0)])
    assert (res.tp, res.fp, res.fn) == (1, 0, 1)


def test_matching_maximises_the_number_of_pairs():
    # Greedy-by-overlap would give pred 0 to true 1 (overlap 0.9 vs 0.6) and leave true 0
    # with nothing; the one-to-one optimum pairs t0-p0 and t1-p1.
    true = [ev(0.0, 1.0), ev(0.5, 1.0)]
    pred = [ev(0.4, 1.0), ev(1.0, 1.0)]
    res = m.match_events(true, pred)
    assert res.tp == 2 and res.pairs == [(0, 0), (1, 1)]
    assert res.unmatched_true == [] and res.unmatched_pred == []


def test_closest_partner_is_preferred_when_the_count_ties():
    res = m.match_events([ev(1.0, 1.0)], [ev(0.5, 1.0), ev(1.1, 1.0)])
    assert res.pairs == [(0, 1)] and res.unmatched_pred == [0]


def test_zero_duration_events_match_inside_the_interval_or_within_tolerance():
    assert m.match_events([ev(0.0, 1.0, "pop")], [ev(0.5, 0.0, "pop")]).tp == 1
    assert m.match_events([ev(0.0, 1.0, "pop")], [ev(1.2, 0.0, "pop")]).tp == 0
    assert m.match_events([ev(0.0, 1.0, "pop")], [ev(1.2, 0.0, "pop")], tolerance=0.25).tp == 1
    assert m.match_events([ev(2.0, 0.0, "pop")], [ev(2.0, 0.0, "pop")]).tp == 1
    assert m.match_events([ev(2.0, 0.0, "pop")], [ev(2.05, 0.0, "pop")]).tp == 0
    assert m.match_events([ev(2.0, 0.0, "pop")], [ev(2.05, 0.0, "pop")], tolerance=0.1).tp == 1


def test_touching_events_do_not_match():
    assert m.match_events([ev(0.0, 1.0)], [ev(1.0, 1.0)]).tp == 0


def test_channel_aware_matching_needs_a_shared_channel():
    true = [ev(0.0, 1.0, "muscle", ["T7"])]
    assert m.match_events(true, [ev(0.0, 1.0, "muscle", ["T8"])]).tp == 1
    assert m.match_events(true, [ev(0.0, 1.0, "muscle", ["T8"])], by_channel=True).tp == 0
    both = [ev(0.0, 1.0, "muscle", ["T8", "T7"])]
    assert m.match_events(true, both, by_channel=True).tp == 1
    # Empty channels mean every channel.
    assert m.match_events(true, [ev(0.0, 1.0, "muscle")], by_channel=True).tp == 1


def test_match_events_handles_empty_lists_and_many_events():
    assert m.match_events([], []).tp == 0
    res = m.match_events([ev(0.0, 1.0)], [])
    assert (res.tp, res.fp, res.fn) == (0, 0, 1) and math.isnan(res.precision)
    # 3000 events each side, predictions shifted by 10%: all match, quickly.
    onsets = np.arange(3000) * 2.0
    true = [ev(float(t), 1.0) for t in onsets]
    pred = [ev(float(t) + 0.1, 1.0) for t in onsets]
    res = m.match_events(true, pred)
    assert res.tp == 3000 and res.f1 == 1.0


def test_match_events_rejects_bad_parameters():
    with pytest.raises(ParameterError):
        m.match_events([], [], min_overlap=1.5)
    with pytest.raises(ParameterError):
        m.match_events([], [], tolerance=-1)
    with pytest.raises(ParameterError):
        m.match_events([(0.0, 1.0)], [])


def test_event_scores_per_kind_macro_and_micro():
    true = [ev(0, 1, "blink"), ev(2, 1, "blink"), ev(4, 1, "muscle")]
    pred = [ev(0, 1, "blink"), ev(6, 1, "blink"), ev(8, 1, "pop")]
    scores = m.event_scores(true, pred)
    blink = scores["blink"]
    assert (blink["tp"], blink["fp"], blink["fn"], blink["support"]) == (1, 1, 1, 2)
    assert blink["precision"] == 0.5 and blink["recall"] == 0.5 and blink["f1"] == 0.5
    muscle = scores["muscle"]
    assert math.isnan(muscle["precision"]) and muscle["recall"] == 0.0 and muscle["f1"] == 0.0
    pop = scores["pop"]  # predicted but never true: no support, left out of macro
    assert pop["support"] == 0 and pop["precision"] == 0.0 and math.isnan(pop["recall"])
    assert scores["macro"]["n_kinds"] == 2
    assert scores["macro"]["f1"] == pytest.approx(0.25)
    assert scores["macro"]["recall"] == pytest.approx(0.25)
    assert scores["macro"]["precision"] == pytest.approx(0.5)  # muscle's nan is skipped
    micro = scores["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 2, 2)
    assert micro["f1"] == pytest.approx(1 / 3)


def test_event_scores_gives_nan_for_kinds_absent_from_both():
    scores = m.event_scores([ev(0, 1, "blink")], [ev(0, 1, "blink")], kinds=["blink", "ecg"])
    assert scores["blink"]["f1"] == 1.0
    assert all(math.isnan(scores["ecg"][k]) for k in ("precision", "recall", "f1"))
    assert scores["macro"]["f1"] == 1.0 and scores["macro"]["n_kinds"] == 1
    assert set(scores) == {"blink", "ecg", "macro", "micro"}
    with pytest.raises(ParameterError):
        m.event_scores([], [], kinds=["not_a_kind"])


# --------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------


def test_channel_scores_by_hand():
    res = m.channel_scores(["A", "B", "C"], ["B", "C", "D", "E"], all_channels="ABCDEFGH")
    assert (res["tp"], res["fp"], res["fn"], res["tn"]) == (2, 2, 1, 3)
    assert res["precision"] == 0.5 and res["recall"] == pytest.approx(2 / 3)
    assert res["f1"] == pytest.approx(4 / 7)
    assert res["accuracy"] == pytest.approx(5 / 8) and res["specificity"] == pytest.approx(3 / 5)
    assert "accuracy" not in m.channel_scores(["A"], ["A"])


def test_channel_scores_take_channel_status_lists_and_flag_unknown_names():
    truth = [ChannelStatus("A", status="bad"), ChannelStatus("B"), ChannelStatus("C")]
    res = m.channel_scores(truth, ["A"])
    assert res["f1"] == 1.0 and res["fp"] == 0
    empty = m.channel_scores([], [])
    assert math.isnan(empty["f1"]) and math.isnan(empty["precision"])
    with pytest.raises(ParameterError):
        m.channel_scores(["Z"], [], all_channels=["A", "B"])


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------

SFREQ = 256.0


def _sines(freq=10.0, n_rows=3, seconds=4.0, amp=1.0):
    t = np.arange(int(seconds * SFREQ)) / SFREQ
    phases = np.linspace(0, np.pi, n_rows)[:, None]
    return amp * np.sin(2 * np.pi * freq * t + phases)


def test_rrmse_t_is_zero_for_identical_and_one_for_zeros():
    x = np.random.default_rng(0).standard_normal((4, 5, 200))
    assert m.rrmse_t(x, x) == 0.0
    assert m.rrmse_t(x, np.zeros_like(x)) == pytest.approx(1.0)
    per_row = m.rrmse_t(x, 1.5 * x, reduce=None)
    assert per_row.shape == (4, 5) and np.allclose(per_row, 0.5)


def test_rrmse_s_is_zero_for_identical_and_scales_with_amplitude():
    x = _sines() + np.random.default_rng(1).standard_normal((3, 1024)) * 0.1
    assert m.rrmse_s(x, x, SFREQ) == 0.0
    # PSD scales with amplitude squared: 2x → PSD x4 → relative error 3.
    assert m.rrmse_s(x, 2 * x, SFREQ, reduce=None) == pytest.approx(np.full(3, 3.0))
    assert m.rrmse_s(x, np.zeros_like(x), SFREQ) == pytest.approx(1.0)


def test_correlation_of_scaled_copy_is_one_and_of_negated_is_minus_one():
    x = np.random.default_rng(2).standard_normal((3, 300))
    assert m.correlation(x, 3 * x + 7) == pytest.approx(1.0)
    assert np.allclose(m.correlation(x, -x, reduce=None), -1.0)
    assert np.isnan(m.correlation(x[0], np.ones(300)))


def test_snr_db_uses_the_rms_ratio():
    s = _sines(amp=10.0)
    n = _sines(freq=37.0, amp=1.0)
    assert m.snr_db(s, n) == pytest.approx(10.0, abs=1e-6)  # amplitude ratio 10 → 10 dB
    assert np.allclose(m.snr_db(s, 10 * n, reduce=None), 0.0)


def test_snr_gain_of_halving_the_noise():
    clean = _sines()
    noise = np.random.default_rng(3).standard_normal(clean.shape)
    gain = m.snr_gain(clean, clean + noise, clean + noise / 10)
    assert gain == pytest.approx(10.0)  # 10·log10(RMS ratio 10)
    assert m.snr_gain(clean, clean + noise, clean + noise) == 0.0


def test_band_power_error_of_a_known_sinusoid():
    clean = _sines(freq=10.0)
    half = _sines(freq=10.0, amp=0.5)  # power x 0.25 → relative error 0.75
    err = m.band_power_error(clean, half, SFREQ, bands={"alpha": (8, 13)}, reduce=None)
    assert err["alpha"].shape == (3,) and np.allclose(err["alpha"], 0.75)
    # Adding a 40 Hz tone leaves alpha power as it was and changes gamma.
    noisy = clean + _sines(freq=40.0)
    err = m.band_power_error(clean, noisy, SFREQ)
    assert set(err) == {"delta", "theta", "alpha", "beta", "gamma"}
    assert err["alpha"] < 1e-6 and err["gamma"] > 1e3


def test_band_power_error_clips_bands_to_nyquist():
    x = _sines(freq=10.0) + 0.01 * np.random.default_rng(4).standard_normal((3, 1024))
    err = m.band_power_error(
        x, x, 100.0, bands={"alpha": (8, 13), "gamma": (30, 80), "hf": (60, 90)}
    )
    assert set(err) == {"alpha", "gamma"} and err["gamma"] == 0.0
    with pytest.raises(ParameterError):
        m.band_power_error(x[:, :16], x[:, :16], SFREQ, bands={"narrow": (1.0, 2.0)})
    with pytest.raises(ParameterError):
        m.band_power_error(x, x, SFREQ, bands={"bad": (8, 4)})


def test_signal_metrics_reject_mismatched_shapes_and_bad_options():
    x = np.zeros((2, 100))
    with pytest.raises(ShapeError):
        m.rrmse_t(x, np.zeros((2, 99)))
    with pytest.raises(ShapeError):
        m.correlation(np.zeros(1), np.zeros(1))
    with pytest.raises(ParameterError):
        m.rrmse_t(x, x, reduce="median")
    with pytest.raises(ParameterError):
        m.rrmse_s(x, x, sfreq=0)


# --------------------------------------------------------------------------------------
# Spikes
# --------------------------------------------------------------------------------------


def test_sorting_scores_perfect_and_half_missing():
    si = pytest.importorskip("spikeinterface.core")
    pytest.importorskip("numba")  # SpikeInterface's spike matching runs on numba
    fs = 30000.0
    rng = np.random.default_rng(5)
    trains = {u: np.sort(rng.choice(np.arange(1000, 300000), 200, replace=False)) for u in range(4)}
    gt = si.NumpySorting.from_unit_dict([trains], fs)
    perfect = m.sorting_scores(gt, si.NumpySorting.from_unit_dict([trains], fs))
    assert perfect["accuracy"] == 1.0 and perfect["recall"] == 1.0
    assert perfect["n_well_detected"] == 4 and perfect["n_false_positive"] == 0
    # Two units found perfectly, two missing: mean accuracy 0.5.
    half = m.sorting_scores(gt, si.NumpySorting.from_unit_dict([{0: trains[0], 1: trains[1]}], fs))
    assert half["accuracy"] == pytest.approx(0.5) and half["recall"] == pytest.approx(0.5)
    assert half["n_well_detected"] == 2 and half["n_gt_units"] == 4 and half["n_sorted_units"] == 2
    # Every unit found with half its spikes: accuracy 0.5, none well detected.
    halved = {u: t[::2] for u, t in trains.items()}
    res = m.sorting_scores(gt, si.NumpySorting.from_unit_dict([halved], fs))
    assert res["accuracy"] == pytest.approx(0.5) and res["precision"] == pytest.approx(1.0)
    assert res["n_well_detected"] == 0
    assert m.sorting_scores(gt, gt, exhaustive_gt=False)["n_false_positive"] is None


def test_spike_detection_scores_by_hand():
    true = [100, 200, 300, 400]
    pred = [102, 197, 305, 900, 901]
    res = m.spike_detection_scores(true, pred, tolerance_samples=3)
    assert (res["tp"], res["fp"], res["fn"]) == (2, 3, 2)
    assert res["precision"] == pytest.approx(0.4) and res["recall"] == 0.5
    assert res["f1"] == pytest.approx(4 / 9)


def test_spike_detection_matches_one_to_one_and_maximises_matches():
    # Two detections near one spike: one hit, one false positive.
    res = m.spike_detection_scores([100], [99, 101], 2)
    assert (res["tp"], res["fp"], res["fn"]) == (1, 1, 0)
    # Nearest-neighbour would pair 19 with 10 and lose 0; the optimum pairs both.
    res = m.spike_detection_scores([0, 19], [10, 29], 10)
    assert res["tp"] == 2
    # Unsorted input, exact matches, and a long regular train.
    assert m.spike_detection_scores([5, 1, 3], [3, 5, 1], 0)["f1"] == 1.0
    train = np.arange(0, 10_000_000, 97)
    assert m.spike_detection_scores(train, train + 2, 2)["tp"] == train.size


def test_spike_detection_edge_cases():
    assert math.isnan(m.spike_detection_scores([], [], 1)["f1"])
    assert m.spike_detection_scores([1, 2], [], 1)["recall"] == 0.0
    with pytest.raises(ParameterError):
        m.spike_detection_scores([1], [1], -1)
    with pytest.raises(ParameterError):
        m.spike_detection_scores([np.nan], [1], 1)


# --------------------------------------------------------------------------------------
# Speed
# --------------------------------------------------------------------------------------


def test_throughput_and_realtime_factor():
    assert m.throughput(3_000_000, 2.0) == 1_500_000.0
    assert m.realtime_factor(3600.0, 360.0) == 10.0
    with pytest.raises(ParameterError):
        m.throughput(10, 0.0)
    with pytest.raises(ParameterError):
        m.realtime_factor(-1.0, 1.0)


def test_latency_percentiles_in_milliseconds():
    lat = np.arange(1, 101) / 1000.0  # 1..100 ms
    res = m.latency_percentiles(lat)
    assert list(res) == ["p50", "p95", "p99"]
    assert res["p50"] == pytest.approx(50.5)
    assert res["p95"] == pytest.approx(95.05)
    assert res["p99"] == pytest.approx(99.01)
    assert m.latency_percentiles([0.002], q=(99.9,)) == {"p99.9": pytest.approx(2.0)}
    with pytest.raises(ParameterError):
        m.latency_percentiles([])
    with pytest.raises(ParameterError):
        m.latency_percentiles([0.1], q=(101,))


def test_tally_pools_counts_and_gives_rates():
    from neurolint.bench.metrics import Tally

    tally = Tally()
    tally.add(3, 1, 0)
    tally.add(1, 0, 4)
    assert (tally.tp, tally.fp, tally.fn) == (4, 1, 4)
    assert tally.prf == (0.8, 0.5, 8 / 13)
    assert all(np.isnan(v) for v in Tally().prf)
