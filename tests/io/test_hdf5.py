"""HDF5 datasets as time series, movies and volume series."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

import neurolint
from neurolint.core import Movie, TimeSeries, VolumeSeries
from neurolint.core.errors import DataValueError, OutputExistsError, ParameterError, ShapeError


@pytest.fixture
def mixed_file(tmp_path):
    """A file with several datasets and no neurolint attributes."""
    path = tmp_path / "mixed.h5"
    with h5py.File(path, "w") as h5:
        h5["a"] = np.arange(300, dtype=np.int16).reshape(3, 100)
        h5["b"] = np.zeros((4, 5, 5))
        h5["labels"] = np.array([b"x", b"y"])
        h5.create_group("g")
        h5["g/c"] = np.arange(300, dtype=np.float64).reshape(100, 3)
        h5["g/c"].attrs["fs"] = 100.0
    return path


def test_time_series_round_trip_keeps_metadata(tmp_path, small_ts):
    path = neurolint.write(small_ts, str(tmp_path / "rec.h5") + ":/group/eeg")
    back = neurolint.read(f"{path}:/group/eeg")
    assert isinstance(back, TimeSeries)
    np.testing.assert_array_equal(back.get_data(), small_ts.get_data())
    assert back.sampling_rate == 250.0
    assert back.channels == small_ts.channels
    assert back.channels.types == ("eeg", "eeg", "eog", "ecg")
    assert back.channels.units == ("V",) * 4
    assert back.modality == "eeg"
    assert back.meta == {"format": "hdf5", "dataset": "/group/eeg"}
    with h5py.File(path) as h5:
        ds = h5["/group/eeg"]
        assert ds.dtype == np.float32
        assert ds.chunks is not None
        assert ds.attrs["layout"] == "channels_first"


def test_default_dataset_and_views(tmp_path, small_ts):
    path = neurolint.write(small_ts.pick(["Cz", "ECG"]).frame_slice(100, 300), tmp_path / "r.hdf5")
    with h5py.File(path) as h5:
        assert list(h5) == ["data"]
    back = neurolint.read(path)
    assert back.ch_names == ["Cz", "ECG"]
    np.testing.assert_array_equal(back.get_data(), small_ts.get_data(100, 300, ["Cz", "ECG"]))


def test_movie_and_volumes_round_trip(tmp_path, rng):
    frames = rng.standard_normal((9, 4, 5)).astype(np.float32)
    movie = Movie(frames, 7.5, pixel_size=(0.5, 0.25))
    back = neurolint.read(neurolint.write(movie, tmp_path / "m.h5", chunk_duration=0.5))
    assert isinstance(back, Movie)
    np.testing.assert_array_equal(back.get_data(), frames)
    assert back.frame_rate == 7.5
    assert back.pixel_size == (0.5, 0.25)

    volumes = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    vs = VolumeSeries(volumes, 2.5, voxel_size=(2, 3, 4), affine=affine)
    back = neurolint.read(neurolint.write(vs, tmp_path / "v.h5", compression="gzip"))
    assert isinstance(back, VolumeSeries)
    np.testing.assert_array_equal(back.get_data(), volumes)
    assert back.tr == 2.5
    assert back.voxel_size == (2.0, 3.0, 4.0)
    np.testing.assert_array_equal(back.affine, affine)


def test_pickle_is_small_and_reopens(tmp_path, small_ts):
    back = neurolint.read(neurolint.write(small_ts, tmp_path / "r.h5"))
    back.get_data(0, 10)  # open the dataset first: the handle must not travel
    blob = pickle.dumps(back)
    assert len(blob) < 3000
    np.testing.assert_array_equal(pickle.loads(blob).get_data(20, 80), small_ts.get_data(20, 80))


def test_refuses_to_overwrite(tmp_path, small_ts):
    path = neurolint.write(small_ts, tmp_path / "r.h5")
    with pytest.raises(OutputExistsError):
        neurolint.write(small_ts, path)
    neurolint.write(small_ts.frame_slice(0, 10), path, overwrite=True)
    assert neurolint.read(path).n_samples == 10


def test_ambiguous_file_lists_datasets(mixed_file):
    with pytest.raises(ParameterError, match=r"/a \(3, 100\).*/g/c.*mixed\.h5:/"):
        neurolint.read(mixed_file)


def test_missing_dataset_lists_datasets(mixed_file):
    with pytest.raises(ParameterError, match=r"/nope does not exist.*/a \(3, 100\).*/labels"):
        neurolint.read(f"{mixed_file}:/nope")
    with pytest.raises(ParameterError, match="is a group"):
        neurolint.read(f"{mixed_file}:/g")


def test_file_without_datasets(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as h5:
        h5.create_group("nothing")
    with pytest.raises(ParameterError, match="no dataset"):
        neurolint.read(path)


def test_rate_from_attributes_or_options(mixed_file):
    ts = neurolint.read(f"{mixed_file}:g/c")  # "fs" attribute; relative name works
    assert ts.sampling_rate == 100.0
    assert ts.shape == (3, 100)  # more rows than columns: samples first
    np.testing.assert_array_equal(ts.get_data(), np.arange(300).reshape(100, 3).T)
    with pytest.raises(ParameterError, match="sampling_rate="):
        neurolint.read(f"{mixed_file}:/a")
    ts = neurolint.read(f"{mixed_file}:/a", sampling_rate=50, channel_names=["x", "y", "z"])
    assert ts.shape == (3, 100)
    assert ts.ch_names == ["x", "y", "z"]
    assert ts.stored_dtype == np.int16
    ts = neurolint.read(f"{mixed_file}:/a", sampling_rate=50, channel_names="x, y,z")
    assert ts.ch_names == ["x", "y", "z"]
    ts = neurolint.read(f"{mixed_file}:/a", sampling_rate=50, layout="samples_first")
    assert ts.shape == (100, 3)
    with pytest.raises(ParameterError, match="frame_rate="):
        neurolint.read(f"{mixed_file}:/b")
    movie = neurolint.read(f"{mixed_file}:/b", frame_rate=3)
    assert isinstance(movie, Movie)
    assert movie.shape == (4, 5, 5)


def test_wrong_rate_option_for_the_shape(mixed_file):
    with pytest.raises(ParameterError, match="sampling_rate="):
        neurolint.read(f"{mixed_file}:/a", tr=2.0)
    with pytest.raises(ParameterError, match="frame_rate="):
        neurolint.read(f"{mixed_file}:/b", tr=2.0)


def test_attributes_written_by_others(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        ds = h5.create_dataset("x", data=np.zeros((2, 10), np.float32))
        ds.attrs["sfreq"] = 1000
        ds.attrs["channel_names"] = [b"A1", b"A2"]
        ds.attrs["channel_types"] = "ephys"
        ds.attrs["units"] = "uV"
        ds.attrs["layout"] = "channels_first"
        vol = h5.create_dataset("v", data=np.zeros((3, 2, 2, 2), np.int16))
        vol.attrs["tr"] = 2.0
    ts = neurolint.read(f"{path}:/x")
    assert ts.ch_names == ["A1", "A2"]
    assert ts.channels.types == ("ephys", "ephys")
    assert ts.channels.units == ("uV", "uV")
    assert ts.sampling_rate == 1000.0
    assert neurolint.read(f"{path}:/v").tr == 2.0


def test_bad_datasets(mixed_file, tmp_path):
    with pytest.raises(DataValueError, match="real numbers"):
        neurolint.read(f"{mixed_file}:/labels")
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as h5:
        h5["one"] = np.zeros(10)
        h5["five"] = np.zeros((1, 2, 3, 4, 5))
        h5["names"] = np.zeros((2, 10))
        h5["names"].attrs["channel_names"] = ["a", "b", "c"]
        h5["names"].attrs["sampling_rate"] = 10.0
    with pytest.raises(ShapeError):
        neurolint.read(f"{path}:/one", sampling_rate=1)
    with pytest.raises(ShapeError):
        neurolint.read(f"{path}:/five")
    with pytest.raises(ShapeError, match="3 channel names for 2"):
        neurolint.read(f"{path}:/names")


def test_not_an_hdf5_file(tmp_path):
    (tmp_path / "bad.h5").write_bytes(b"plain text")
    with pytest.raises(neurolint.NeurolintError):
        neurolint.read(tmp_path / "bad.h5")
