"""The ``detect`` task: scoring is right for perfect, empty and generic detectors."""

from __future__ import annotations

import math

import pytest

from neurolint.bench.baselines.eeg_detect import Detections
from neurolint.bench.tasks.detect import DetectMethod, evaluate, suite
from neurolint.core.findings import Finding


@pytest.fixture(scope="module")
def sims():
    return suite(quick=True, seed=0)


def _oracle(sims, kinds):
    by_id = {id(s.data): s.truth for s in sims}

    def detect(ts):
        truth = by_id[id(ts)]
        return Detections(truth.events_of(kinds), truth.bad_channels)

    return detect


def test_suite_uses_held_out_seeds(sims):
    assert all(s.truth.params["seed"] >= 10_000 for s in sims)


def test_a_perfect_detector_scores_one(sims):
    kinds = ("blink", "muscle", "pop", "gap")
    method = DetectMethod("oracle", _oracle(sims, kinds), "ours", (*kinds, "flat"), True)
    scores = evaluate(method, sims, [method.detect(s.data) for s in sims])
    assert scores["ch_R"] == 1.0  # every bad channel found (flat ones among them)
    assert scores["ev_P"] == scores["ev_R"] == scores["macro_F1"] == 1.0
    assert all(scores[f"F1_{k}"] == 1.0 for k in kinds)
    assert scores["time_P"] == pytest.approx(1.0, abs=0.01)  # grid rounding at the edges


def test_one_event_over_each_recording_matches_but_shows_in_time_precision(sims):
    def everywhere(ts):
        return Detections([Finding(0.0, ts.duration, "blink")], [])

    method = DetectMethod("everywhere", everywhere, "ours", ("blink",), True)
    scores = evaluate(method, sims, [everywhere(s.data) for s in sims])
    assert scores["F1_blink"] > 0  # the matching rule credits one blink per recording
    assert scores["time_P"] < 0.2


def test_silence_scores_zero_recall(sims):
    method = DetectMethod("mute", lambda ts: Detections([], []), "ours", ("blink", "flat"), True)
    scores = evaluate(method, sims, [method.detect(s.data) for s in sims])
    assert scores["ev_R"] == 0.0 and scores["ch_R"] == 0.0
    assert math.isnan(scores["ev_P"])
    assert scores["F1_blink"] == 0.0


def test_generic_detectors_are_scored_kind_agnostically(sims):
    def relabel(ts):
        truth = next(s.truth for s in sims if s.data is ts)
        events = [Finding(e.onset, e.duration, "anomaly") for e in truth.events_of(("pop", "gap"))]
        return Detections(events, [])

    method = DetectMethod("generic", relabel, "peer", ("pop", "gap"), False)
    scores = evaluate(method, sims, [relabel(s.data) for s in sims])
    assert scores["ev_P"] == scores["ev_R"] == 1.0
    assert "macro_F1" not in scores and "F1_pop" not in scores


def test_pieces_of_one_artifact_are_merged_before_scoring():
    from neurolint.bench.tasks.detect import merge_close

    pieces = [
        Finding(10.0, 0.02, "anomaly", ("Fz",)),
        Finding(10.1, 0.5, "anomaly", ("Cz",)),
        Finding(10.7, 0.02, "anomaly", ("Fz",)),
        Finding(10.7, 0.1, "blink"),
        Finding(12.0, 0.1, "anomaly"),
    ]
    merged = merge_close(pieces)
    assert [(e.kind, e.onset, round(e.duration, 6), e.channels) for e in merged] == [
        ("anomaly", 10.0, 0.72, ("Fz", "Cz")),
        ("blink", 10.7, 0.1, ()),
        ("anomaly", 12.0, 0.1, ()),
    ]


def test_kind_sources_name_known_detectors_and_kinds():
    from neurolint.assess.pipeline import DETECTORS, KIND_SOURCES
    from neurolint.bench.tasks.detect import TIMED_KINDS

    assert set(KIND_SOURCES) <= set(TIMED_KINDS)
    assert all(set(v) <= set(DETECTORS) for v in KIND_SOURCES.values())


def test_time_overlap_counts_flagged_seconds_inside_true_events():
    from neurolint.bench.tasks.detect import time_overlap

    truth = [Finding(10.0, 5.0, "ecg")]
    assert time_overlap(truth, [Finding(11.0, 2.0, "ecg")], 60.0) == pytest.approx((2.0, 2.0))
    # One event over the whole recording: 60 s flagged, 5 of them inside the episode.
    assert time_overlap(truth, [Finding(0.0, 60.0, "ecg")], 60.0) == pytest.approx((60.0, 5.0))
    assert time_overlap(truth, [], 60.0) == (0.0, 0.0)


def test_tune_ecg_fits_the_acceptance_on_training_seeds_only():
    from neurolint.bench.tasks.detect_tuning import tune_ecg

    with pytest.raises(ValueError, match="training seeds"):
        tune_ecg([9000])
    out = tune_ecg(range(200, 206))
    assert len(out["accept"]) == 4 and out["candidates"] > 0
    assert 0.3 <= out["ecg_p"] <= 0.7 and set(out["f1"]) >= {0.3, 0.7}


def test_choose_sources_names_a_detector_set_for_every_kind():
    from neurolint.bench.tasks.detect import TIMED_KINDS
    from neurolint.bench.tasks.detect_tuning import choose_sources

    chosen = choose_sources([9000])
    assert set(chosen) == set(TIMED_KINDS)
    options = {("rules",), ("learned",), ("rules", "learned")}
    assert all(v in options for v in chosen.values())
    assert "learned" not in chosen["ecg"]  # the learned detector does not report ECG
