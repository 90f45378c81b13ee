"""Movie and VolumeSeries: lazy frame series with rates and spatial resolution."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from neurolint.core import Movie, VolumeSeries
from neurolint.core.errors import EmptyRecordingError, ParameterError, ShapeError


def test_movie_reads_frame_ranges_as_float32(rng):
    frames = rng.integers(0, 4000, size=(50, 8, 6)).astype(np.uint16)
    movie = Movie(frames, 30.0, pixel_size=(0.5, 0.5))
    out = movie.get_data(10, 12)
    assert out.dtype == np.float32 and out.shape == (2, 8, 6)
    np.testing.assert_array_equal(out, frames[10:12])
    assert movie.duration == pytest.approx(50 / 30)
    assert movie.frame_slice(5, 15).time_slice(0.1).shape == (7, 8, 6)


def test_volume_series_accepts_time_last_like_nifti(rng):
    vols = rng.standard_normal((4, 5, 3, 20)).astype(np.float32)
    vs = VolumeSeries(vols, tr=2.0, time_axis=-1, voxel_size=(3.0, 3.0, 3.5))
    assert vs.shape == (20, 4, 5, 3)
    np.testing.assert_array_equal(vs.get_data(2, 4), np.moveaxis(vols[..., 2:4], -1, 0))
    assert vs.tr == 2.0 and vs.sampling_rate == 0.5
    assert vs.duration == pytest.approx(40.0)
    back = pickle.loads(pickle.dumps(vs.frame_slice(3, 6)))
    np.testing.assert_array_equal(back.get_data(), np.moveaxis(vols[..., 3:6], -1, 0))


def test_imaging_shapes_are_checked():
    with pytest.raises(ShapeError):
        Movie(np.zeros((4, 4)), 10.0)
    with pytest.raises(ShapeError):
        VolumeSeries(np.zeros((4, 4, 4)), 2.0)
    with pytest.raises(EmptyRecordingError):
        Movie(np.zeros((0, 4, 4)), 10.0)
    with pytest.raises(ParameterError):
        VolumeSeries(np.zeros((2, 2, 2, 2)), 0.0)
