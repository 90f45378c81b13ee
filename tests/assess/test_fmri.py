"""FmriDetector: intensity spikes, slice dropouts, head motion, gaps and tSNR in fMRI runs."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.assess.base import Detection
from neurolint.assess.fmri import FmriDetector
from neurolint.core.errors import (
    DataValueError,
    EmptyRecordingError,
    NeurolintError,
    ParameterError,
    ShapeError,
)
from neurolint.core.findings import FINDING_KINDS
from neurolint.core.imaging import Movie, VolumeSeries
from neurolint.simulate import simulate_fmri

TR = 2.0


@pytest.fixture(scope="module")
def spiky():
    """Volume and slice spikes and head-motion jumps (training seed)."""
    return simulate_fmri((32, 32, 24), n_volumes=60, spikes=4, motion=1.0, seed=21)


@pytest.fixture(scope="module")
def clean():
    return simulate_fmri((32, 32, 24), n_volumes=40, seed=5)


@pytest.fixture(scope="module")
def spiky_detection(spiky):
    return FmriDetector().detect(spiky.data)


def _volumes(events, kind):
    return sorted(round(e.onset / TR) for e in events if e.kind == kind)


def test_clean_run_has_no_findings(clean):
    det = FmriDetector().detect(clean.data)
    assert isinstance(det, Detection) and det.detector == "fmri"
    assert det.events == []
    assert det.traces["fd"].max() < 0.5


def test_spikes_are_found_in_the_true_volumes_and_slices(spiky, spiky_detection):
    true = spiky.truth.events_of("intensity_spike")
    found = [e for e in spiky_detection.events if e.kind == "intensity_spike"]
    assert sorted((e.extras["volume"], e.extras["slice"]) for e in true) == sorted(
        (e.extras["volume"], e.extras["slice"]) for e in found
    )
    assert {e.extras["scope"] for e in found} == {"slice", "volume"}
    for e in found:
        assert e.detector == "fmri" and e.duration == pytest.approx(TR)
        assert abs(e.extras["value"]) > e.extras["threshold"]


def test_motion_events_are_the_true_jumps(spiky, spiky_detection):
    true = sorted(e.extras["volume"] for e in spiky.truth.events_of("motion"))
    assert len(true) >= 1
    assert _volumes(spiky_detection.events, "motion") == true
    for e in spiky_detection.events:
        if e.kind == "motion":
            assert e.extras["feature"] == "framewise_displacement"
            assert e.extras["units"] == "mm" and e.extras["value"] > 0.5


def test_motion_traces_follow_the_true_parameters(spiky, spiky_detection):
    est = np.c_[spiky_detection.traces["translation"], spiky_detection.traces["rotation"]]
    err = est - spiky.truth.arrays["motion_params"]
    err -= np.median(err, axis=0)  # the reference's own position is arbitrary
    assert np.sqrt((err[:, :3] ** 2).mean()) < 0.05  # mm
    assert np.degrees(np.sqrt((err[:, 3:] ** 2).mean())) < 0.15
    fd_err = spiky_detection.traces["fd"] - spiky.truth.arrays["framewise_displacement"]
    assert np.sqrt((fd_err**2).mean()) < 0.15


def test_a_single_slice_run_is_judged_in_plane(clean):
    # One slice (as some fast or partial acquisitions store it): no gradient through the
    # slab, so motion across it is not measured (0) while in-plane shifts still are.
    from scipy.ndimage import shift

    vol = clean.data
    data = np.asarray(vol.get_data(), dtype=np.float32)[..., 12:13].copy()
    moved = np.zeros(len(data), bool)
    moved[25:] = True
    data[25:] = shift(data[25:], (0, 1.5, 0, 0), order=1, mode="nearest")
    one = VolumeSeries(data, vol.tr, voxel_size=(3.0, 3.0, 3.0))
    det = FmriDetector().fit(one).detect(one)
    trans, rot = det.traces["translation"], det.traces["rotation"]
    assert np.all(trans[:, 2] == 0) and np.all(rot[:, :2] == 0)
    jump = np.median(trans[moved, 0]) - np.median(trans[~moved, 0])
    assert abs(jump) == pytest.approx(4.5, rel=0.1)  # 1.5 voxels of 3 mm
    assert _volumes(det.events, "motion") == [25]


def test_tsnr_matches_the_simulated_tsnr(spiky, spiky_detection, clean):
    assert spiky_detection.traces["tsnr_median"] == pytest.approx(
        spiky.truth.extras["tsnr"], rel=0.02
    )
    det = FmriDetector().detect(clean.data)
    assert det.traces["tsnr_median"] == pytest.approx(clean.truth.extras["tsnr"], rel=0.02)
    mask = det.traces["mask"]
    overlap = (mask & clean.truth.arrays["mask"]).sum() / clean.truth.arrays["mask"].sum()
    assert overlap > 0.9
    assert (det.traces["tsnr_map"][~mask] == 0).all()


def test_slice_dropout_and_missing_volumes_are_found(clean):
    data = clean.data.to_numpy()
    data[12, :, :, 11] = 0.0  # one slice lost
    data[20] = np.nan  # a volume lost
    data[30] = 0.0  # a blank volume
    det = FmriDetector().detect(VolumeSeries(data, TR, voxel_size=clean.data.voxel_size))
    (drop,) = [e for e in det.events if e.kind == "intensity_spike"]
    assert drop.extras["volume"] == 12 and drop.extras["slice"] == 11
    assert drop.extras["scope"] == "slice"
    assert drop.extras["relative_change"] == pytest.approx(-1.0, abs=0.05)
    assert _volumes(det.events, "gap") == [20, 30]
    assert [e.kind for e in det.events if e.kind not in ("gap", "intensity_spike")] == []
    assert np.isnan(det.traces["translation"][[20, 30]]).all()


def test_a_spike_that_keeps_the_mean_is_found_by_dvars(clean):
    data = clean.data.to_numpy()
    stripes = 50.0 * np.sin(2 * np.pi * 0.37 * np.arange(data.shape[1]))  # 5 % of the brain
    data[25] += stripes[:, None, None].astype(np.float32)
    det = FmriDetector().detect(VolumeSeries(data, TR, voxel_size=clean.data.voxel_size))
    (spike,) = det.events
    assert spike.kind == "intensity_spike" and spike.extras["volume"] == 25
    assert spike.extras["feature"] == "dvars_z" and spike.extras["value"] > 6.0
    assert det.traces["dvars_z"].argmax() in (25, 26)


def test_traces_have_documented_shapes(spiky, spiky_detection):
    n, *xyz = spiky.data.shape
    t = spiky_detection.traces
    for key in ("dvars", "dvars_z", "fd", "global_mean"):
        assert t[key].shape == (n,), key
    assert t["translation"].shape == (n, 3) and t["rotation"].shape == (n, 3)
    assert t["tsnr_map"].shape == tuple(xyz) and t["mask"].shape == tuple(xyz)
    assert t["slice_means"].shape == (n, xyz[2])
    assert isinstance(t["tsnr_median"], float)
    assert t["dvars"][0] == 0.0 and t["fd"][0] == 0.0
    assert all(e.kind in FINDING_KINDS for e in spiky_detection.events)


def test_blocks_do_not_change_the_result(spiky, spiky_detection):
    blocks = FmriDetector(block_size=7).detect(spiky.data)
    for key in ("dvars", "fd", "translation", "tsnr_map"):
        np.testing.assert_allclose(
            blocks.traces[key], spiky_detection.traces[key], rtol=1e-4, atol=1e-4
        )
    assert [e.onset for e in blocks.events] == [e.onset for e in spiky_detection.events]


def test_fit_keeps_reference_and_input_is_not_modified(clean):
    data = clean.data.to_numpy()
    copy = data.copy()
    vol = VolumeSeries(data, TR)  # no voxel size: FD in voxels
    detector = FmriDetector().fit(vol)
    assert detector.reference_.shape == data.shape[1:] and detector.mask_.any()
    det = detector.detect(vol)
    assert det.traces["units"] == "voxels"
    np.testing.assert_array_equal(data, copy)
    with pytest.raises(ShapeError, match="fit it on this run"):
        detector.detect(VolumeSeries(np.ones((5, 8, 8, 8), np.float32), TR))


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: VolumeSeries(np.full((6, 8, 8, 8), np.nan, np.float32), TR), DataValueError),
        (lambda: VolumeSeries(np.zeros((6, 8, 8, 8), np.float32), TR), DataValueError),
        (lambda: VolumeSeries(np.ones((2, 8, 8, 8), np.float32), TR), ShapeError),
        (lambda: VolumeSeries(np.zeros((0, 8, 8, 8), np.float32), TR), EmptyRecordingError),
        (lambda: VolumeSeries(np.zeros((6, 8, 8), np.float32), TR), ShapeError),
        (lambda: Movie(np.ones((6, 8, 8), np.float32), 30.0), ShapeError),
    ],
    ids=["nan-only", "all-zero", "two-volumes", "zero-volumes", "3-D", "movie"],
)
def test_bad_input_gives_a_clear_error(make, error):
    with pytest.raises(error) as info:
        FmriDetector().detect(make())
    assert isinstance(info.value, NeurolintError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "params", [{"fd_threshold": 0}, {"detrend_order": -1}, {"gap_nan_fraction": 1.5}]
)
def test_bad_parameters_are_rejected(clean, params):
    with pytest.raises(ParameterError):
        FmriDetector(**params).detect(clean.data)
