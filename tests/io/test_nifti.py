"""NIfTI volume series: lazy reading through nibabel, writing volume chunk by chunk."""

from __future__ import annotations

import pickle

import nibabel as nib
import numpy as np
import pytest

import neurolint
from neurolint.core import VolumeSeries
from neurolint.core.errors import CorruptFileError, OutputExistsError, ParameterError, ShapeError
from neurolint.io.nifti import WithTimeAxis


@pytest.fixture
def volumes(rng) -> VolumeSeries:
    data = rng.standard_normal((7, 3, 4, 5)).astype(np.float32)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 1.5]
    return VolumeSeries(data, 2.5, voxel_size=(2.0, 3.0, 4.0), affine=affine)


def _save(tmp_path, data, name="x.nii", units=("mm", "sec"), zooms=None, slope_inter=None):
    img = nib.Nifti1Image(data, np.eye(4))
    if zooms is not None:
        img.header.set_zooms(zooms)
    img.header.set_xyzt_units(*units)
    if slope_inter is not None:
        img.header.set_slope_inter(*slope_inter)
    path = tmp_path / name
    nib.save(img, path)
    return path


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_round_trip(tmp_path, volumes, suffix):
    path = neurolint.write(volumes, tmp_path / f"bold{suffix}", chunk_duration="5s")
    back = neurolint.read(path)
    assert isinstance(back, VolumeSeries)
    assert back.shape == (7, 3, 4, 5)
    np.testing.assert_array_equal(back.get_data(), volumes.get_data())
    assert back.tr == 2.5
    assert back.voxel_size == (2.0, 3.0, 4.0)
    np.testing.assert_array_equal(back.affine, volumes.affine)
    assert back.meta["format"] == "nifti"
    img = nib.load(path)
    assert img.shape == (3, 4, 5, 7)
    assert img.get_data_dtype() == np.float32
    assert img.header.get_xyzt_units() == ("mm", "sec")
    if suffix == ".nii.gz":
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really gzip-compressed


def test_write_view_and_overwrite(tmp_path, volumes):
    path = neurolint.write(volumes.frame_slice(2, 5), tmp_path / "part.nii")
    np.testing.assert_array_equal(neurolint.read(path).get_data(), volumes.get_data(2, 5))
    with pytest.raises(OutputExistsError):
        neurolint.write(volumes, path)
    neurolint.write(volumes, path, overwrite=True)
    assert neurolint.read(path).n_volumes == 7


def test_pickle_is_small_and_reopens(tmp_path, volumes):
    back = neurolint.read(neurolint.write(volumes, tmp_path / "b.nii.gz"))
    back.get_data(0, 1)  # open the proxy first: it must not travel
    blob = pickle.dumps(back)
    assert len(blob) < 3000
    np.testing.assert_array_equal(pickle.loads(blob).get_data(3, 6), volumes.get_data(3, 6))


def test_tr_units_and_option(tmp_path):
    data = np.arange(2 * 2 * 2 * 3, dtype=np.int16).reshape(2, 2, 2, 3)
    path = _save(tmp_path, data, units=("micron", "msec"), zooms=(1000, 2000, 500, 1500))
    vs = neurolint.read(path)
    assert vs.tr == pytest.approx(1.5)
    assert vs.voxel_size == pytest.approx((1.0, 2.0, 0.5))
    assert vs.stored_dtype == np.int16
    np.testing.assert_array_equal(vs.get_data(1, 2)[0], data[..., 1])
    assert neurolint.read(path, tr=2.0).tr == 2.0


def test_missing_tr_asks_for_it(tmp_path):
    data = np.zeros((2, 2, 2, 3), dtype=np.float32)
    path = _save(tmp_path, data, zooms=(1, 1, 1, 0))
    with pytest.raises(ParameterError, match=r"tr=.*--option tr="):
        neurolint.read(path)
    assert neurolint.read(path, tr=3).tr == 3.0
    path = _save(tmp_path, data, name="hz.nii", units=("mm", "hz"), zooms=(1, 1, 1, 5))
    with pytest.raises(ParameterError, match="tr="):
        neurolint.read(path)


def test_three_d_image_is_one_volume(tmp_path):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    path = _save(tmp_path, data)
    with pytest.raises(ParameterError, match="tr="):
        neurolint.read(path)
    vs = neurolint.read(path, tr=2)
    assert vs.shape == (1, 2, 3, 4)
    np.testing.assert_array_equal(vs.get_data()[0], data)
    assert len(pickle.dumps(vs)) < 3000


def test_scaled_data_are_read_in_physical_values(tmp_path):
    data = np.arange(8, dtype=np.int16).reshape(2, 2, 2, 1)
    path = _save(tmp_path, data, zooms=(1, 1, 1, 2), slope_inter=(0.5, 10.0))
    vs = neurolint.read(path)
    assert vs.stored_dtype.kind == "f"
    np.testing.assert_allclose(vs.get_data()[0], data[..., 0] * 0.5 + 10.0)


def test_with_time_axis_indexing():
    base = np.arange(24).reshape(2, 3, 4)
    wrapped = WithTimeAxis(base)
    assert wrapped.shape == (2, 3, 4, 1)
    np.testing.assert_array_equal(wrapped[..., 0:1], base[..., None])
    np.testing.assert_array_equal(wrapped[1, :, 2], base[1, :, 2][..., None])
    np.testing.assert_array_equal(wrapped[:, :, :, 0], base)
    assert wrapped[..., 1:1].shape == (2, 3, 4, 0)


def test_bad_files(tmp_path):
    path = _save(tmp_path, np.zeros((2, 2), dtype=np.float32), name="flat.nii")
    with pytest.raises(ShapeError):
        neurolint.read(path, tr=1)
    (tmp_path / "junk.nii").write_bytes(b"\0" * 10)
    with pytest.raises(CorruptFileError):
        neurolint.read(tmp_path / "junk.nii")


def test_real_fmri_files(shared_data):
    paths = sorted((shared_data / "fmri").glob("*.nii.gz"))
    assert paths
    for path in paths:
        vs = neurolint.read(path)
        img = nib.load(path)
        assert vs.shape == (img.shape[3], *img.shape[:3])
        # Every header here states the TR in seconds (the README says 2.5 s).
        assert img.header.get_xyzt_units()[1] == "sec"
        assert vs.tr == pytest.approx(2.5)
        assert vs.voxel_size == pytest.approx(img.header.get_zooms()[:3])
        np.testing.assert_array_equal(vs.affine, img.affine)
        last = np.asarray(img.dataobj[..., -1], dtype=np.float32)
        np.testing.assert_array_equal(vs.get_data(vs.n_volumes - 1)[0], last)
        if path.name.startswith("haxby_sub001"):
            assert vs.shape == (121, 6, 10, 10)
        else:
            assert vs.shape == (1452, 40, 20, 1)
    assert len(pickle.dumps(vs)) < 3000
