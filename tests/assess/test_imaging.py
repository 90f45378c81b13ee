"""MovieDetector: motion, gaps, spikes, steps, saturation and bleaching in imaging movies."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.assess.base import Detection
from neurolint.assess.imaging import MovieDetector
from neurolint.core.errors import (
    DataValueError,
    EmptyRecordingError,
    NeurolintError,
    ParameterError,
    ShapeError,
)
from neurolint.core.findings import FINDING_KINDS
from neurolint.core.imaging import Movie, VolumeSeries
from neurolint.simulate import simulate_calcium

RATE = 30.0


@pytest.fixture(scope="module")
def moving():
    """A 48 x 48 movie with rigid motion and logged jumps (training seed)."""
    return simulate_calcium((48, 48), n_frames=600, motion=3.0, seed=1)


@pytest.fixture(scope="module")
def still():
    """The same kind of movie without motion."""
    return simulate_calcium((48, 48), n_frames=400, seed=2)


def _frames(events, kind, feature=None):
    """Sorted start frames of the events of one kind (and feature)."""
    return sorted(
        round(e.onset * RATE)
        for e in events
        if e.kind == kind and (feature is None or e.extras["feature"] == feature)
    )


def test_clean_still_movie_has_no_findings(still):
    det = MovieDetector().detect(still.data)
    assert isinstance(det, Detection) and det.detector == "imaging"
    assert det.events == []
    assert np.nanmax(np.abs(det.traces["motion"])) < 0.3


def test_motion_trace_follows_the_true_shifts(moving):
    det = MovieDetector().detect(moving.data)
    truth = moving.truth.arrays["shifts"]
    err = det.traces["motion"] - truth
    err -= np.median(err, axis=0)  # the reference's own position is arbitrary
    assert np.sqrt((err**2).sum(axis=1).mean()) < 0.15


def test_motion_events_are_the_true_jumps(moving):
    det = MovieDetector().detect(moving.data)
    true = sorted(e.extras["frame"] for e in moving.truth.events_of("motion"))
    assert len(true) >= 2
    assert _frames(det.events, "motion") == true
    for e in det.events:
        assert e.detector == "imaging"
        assert e.extras["feature"] == "jump_px"
        assert e.extras["value"] > e.extras["threshold"] == 1.0


def test_injected_blank_nan_repeated_frames_and_spikes_are_found(moving):
    data = moving.data.to_numpy()
    data[100] = 0.0  # blank
    data[200:203] = np.nan  # dropped, read as NaN
    data[300] = data[299]  # dropped, filled by repetition
    data[400] *= 1.3  # brighter frame
    data[500] *= 0.75  # dimmer frame
    det = MovieDetector().detect(Movie(data, RATE))
    gaps = {e.extras["feature"]: e for e in det.events if e.kind == "gap"}
    assert set(gaps) == {"frame_range", "nonfinite_fraction", "repeated_frame"}
    assert round(gaps["frame_range"].onset * RATE) == 100
    nan_gap = gaps["nonfinite_fraction"]
    assert round(nan_gap.onset * RATE) == 200 and round(nan_gap.duration * RATE) == 3
    assert round(gaps["repeated_frame"].onset * RATE) == 300
    assert _frames(det.events, "intensity_spike") == [400, 500]
    # Motion stays measured around the gaps, and gap frames have no shift and no quality.
    assert np.isnan(det.traces["motion"][200:203]).all()
    assert det.traces["frame_quality"][[100, 200, 300]].max() == 0.0
    true = sorted(e.extras["frame"] for e in moving.truth.events_of("motion"))
    assert _frames(det.events, "motion") == true


def test_brightness_step_is_found_where_it_happens(still):
    data = still.data.to_numpy()
    data[250:] *= 0.8
    det = MovieDetector().detect(Movie(data, RATE))
    assert _frames(det.events, "intensity_spike", "brightness_step") == [250]
    step = next(e for e in det.events if e.extras["feature"] == "brightness_step")
    assert step.extras["relative_step"] == pytest.approx(-0.2, abs=0.03)


def test_saturated_frames_of_integer_data_are_found(still):
    counts = np.round(still.data.to_numpy() * 1000).astype(np.uint16)
    clip = np.percentile(counts, 99.8)
    counts = np.minimum(counts, clip).astype(np.uint16)  # the detector clips the brightest
    det = MovieDetector().detect(Movie(counts, RATE))
    at_clip = (counts == clip).mean(axis=(1, 2))
    flagged = np.zeros(len(counts), dtype=bool)
    for e in det.events:
        assert e.kind == "saturation"
        assert e.extras["saturation_value"] == clip
        a, b = e.extras["frames"]
        flagged[a:b] = True
    assert flagged.any()
    np.testing.assert_array_equal(flagged, at_clip > 0.001)


def test_severe_bleaching_is_reported(still):
    sim = simulate_calcium((32, 32), n_frames=300, n_cells=6, bleaching=0.7, seed=3)
    det = MovieDetector().detect(sim.data)
    assert det.traces["bleaching"] == pytest.approx(0.7, abs=0.08)
    (event,) = [e for e in det.events if e.kind == "anomaly"]
    assert event.extras["feature"] == "bleaching"
    mild = MovieDetector().detect(still.data)  # 10 % lost
    assert not [e for e in mild.events if e.kind == "anomaly"]


def test_traces_have_documented_shapes_and_ranges(moving):
    n, h, w = moving.data.shape
    det = MovieDetector().detect(moving.data)
    t = det.traces
    assert t["motion"].shape == (n, 2)
    assert t["frame_quality"].shape == (n,)
    assert t["frame_quality"].min() >= 0.0 and t["frame_quality"].max() <= 1.0
    assert t["frame_mean"].shape == (n,)
    assert t["snr_map"].shape == (h, w) and np.isfinite(t["snr_map"]).all()
    # Brighter pixels have more photons, hence a higher shot-noise SNR.
    mean_img = moving.data.to_numpy().mean(axis=0)
    assert np.corrcoef(mean_img.ravel(), t["snr_map"].ravel())[0, 1] > 0.8
    assert isinstance(t["bleaching"], float)
    assert all(e.kind in FINDING_KINDS for e in det.events)


def test_blocks_do_not_change_the_result(moving):
    whole = MovieDetector().detect(moving.data)
    blocks = MovieDetector(block_size=37).detect(moving.data)
    np.testing.assert_allclose(blocks.traces["motion"], whole.traces["motion"], atol=1e-6)
    np.testing.assert_allclose(blocks.traces["snr_map"], whole.traces["snr_map"], rtol=1e-5)
    assert [e.onset for e in blocks.events] == [e.onset for e in whole.events]


def test_fit_keeps_a_reference_and_detect_leaves_input_alone(moving):
    data = moving.data.to_numpy()
    copy = data.copy()
    detector = MovieDetector().fit(Movie(data, RATE))
    assert detector.reference_.shape == (48, 48)
    detector.detect(Movie(data, RATE))
    np.testing.assert_array_equal(data, copy)
    with pytest.raises(ShapeError, match="fit it on this movie"):
        detector.detect(Movie(np.ones((5, 16, 16), np.float32), RATE))


def test_a_single_frame_works():
    frame = np.random.default_rng(0).random((1, 16, 16)).astype(np.float32)
    det = MovieDetector().detect(Movie(frame, RATE))
    assert det.events == [] and det.traces["motion"].shape == (1, 2)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: Movie(np.full((10, 16, 16), np.nan, np.float32), RATE), DataValueError),
        (lambda: Movie(np.zeros((10, 16, 16), np.float32), RATE), DataValueError),
        (lambda: Movie(np.zeros((0, 16, 16), np.float32), RATE), EmptyRecordingError),
        (lambda: Movie(np.zeros((10, 16), np.float32), RATE), ShapeError),
        (lambda: np.zeros((10, 16, 16), np.float32), ShapeError),
        (lambda: VolumeSeries(np.zeros((4, 8, 8, 8), np.float32), 2.0), ShapeError),
    ],
    ids=["nan-only", "all-zero", "zero-frames", "2-D", "bare-array", "volumes"],
)
def test_bad_input_gives_a_clear_error(make, error):
    with pytest.raises(error) as info:
        MovieDetector().detect(make())
    assert isinstance(info.value, NeurolintError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "params",
    [{"motion_threshold": -1}, {"spike_window": 2}, {"saturation_fraction": 2.0}, {"n_jobs": 0}],
)
def test_bad_parameters_are_rejected(still, params):
    with pytest.raises(ParameterError):
        MovieDetector(**params).detect(still.data)
