"""An unknown pixel or voxel size stays unknown through writers; a known one survives."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl


@pytest.mark.parametrize("ext", ["tif", "h5", "nwb"])
def test_unknown_pixel_size_is_not_invented(tmp_path, ext):
    movie = nl.Movie(np.ones((4, 5, 6), np.float32), 10.0)
    assert movie.pixel_size is None
    back = nl.read(nl.write(movie, tmp_path / f"m.{ext}"))
    assert back.pixel_size is None
    assert nl.io.describe(back)["pixel_size_um"] is None


@pytest.mark.parametrize("ext", ["tif", "h5", "nwb"])
def test_known_pixel_size_survives(tmp_path, ext):
    movie = nl.Movie(np.ones((4, 5, 6), np.float32), 10.0, pixel_size=(0.5, 0.75))
    back = nl.read(nl.write(movie, tmp_path / f"m.{ext}"))
    np.testing.assert_allclose(back.pixel_size, (0.5, 0.75), rtol=1e-6)


def test_unknown_voxel_size_stays_unknown_in_hdf5(tmp_path):
    vs = nl.VolumeSeries(np.ones((3, 2, 2, 2), np.float32), 2.0)
    assert nl.read(nl.write(vs, tmp_path / "v.h5")).voxel_size is None


def test_spacing_must_be_positive():
    with pytest.raises(nl.NeurolintError, match="positive spacing"):
        nl.Movie(np.ones((2, 2, 2)), 1.0, pixel_size=(0.0, 1.0))
