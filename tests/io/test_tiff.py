"""TIFF movies: lazy reading (memory-mapped or page by page), metadata, writing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import tifffile

import neurolint
from neurolint.core import Movie
from neurolint.core.errors import (
    CorruptFileError,
    OutputExistsError,
    ParameterError,
    ShapeError,
)
from neurolint.io import tiff as tiff_io


@pytest.fixture
def movie(rng) -> Movie:
    frames = rng.standard_normal((20, 6, 7)).astype(np.float32)
    return Movie(frames, 30.0, pixel_size=(0.3, 1.17))


@pytest.fixture
def zlib_tiff(tmp_path, rng):
    """A compressed (hence not memory-mappable) int16 multipage TIFF without a rate."""
    frames = rng.integers(-1000, 1000, size=(12, 5, 6), dtype=np.int16)
    path = tmp_path / "zlib.tif"
    tifffile.imwrite(path, frames, compression="zlib")
    return path, frames


def test_round_trip_keeps_values_rate_and_pixel_size(tmp_path, movie):
    path = neurolint.write(movie, tmp_path / "m.tif")
    back = neurolint.read(path)
    assert isinstance(back, Movie)
    assert back.shape == movie.shape
    assert back.stored_dtype == np.float32
    np.testing.assert_array_equal(back.get_data(), movie.get_data())
    assert back.frame_rate == pytest.approx(30.0, rel=1e-12)
    assert back.pixel_size == pytest.approx((0.3, 1.17), rel=1e-6)
    assert back.meta["format"] == "tiff"
    assert back.meta["memmap"]


def test_written_file_is_an_imagej_hyperstack(tmp_path, movie):
    path = neurolint.write(movie, tmp_path / "m.tif")
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        assert tif.series[0].axes == "TYX"
        meta = tif.imagej_metadata
    assert meta["frames"] == 20
    assert meta["finterval"] == pytest.approx(1 / 30)
    assert meta["unit"] == "um"


def test_write_a_view_and_refuse_to_overwrite(tmp_path, movie):
    path = neurolint.write(movie.frame_slice(3, 11), tmp_path / "part.tiff")
    np.testing.assert_array_equal(neurolint.read(path).get_data(), movie.get_data(3, 11))
    with pytest.raises(OutputExistsError):
        neurolint.write(movie, path)
    neurolint.write(movie, path, overwrite=True, chunk_duration="100ms")
    assert neurolint.read(path).n_frames == 20


def test_bigtiff_path_keeps_rate_and_pixel_size(tmp_path, movie, monkeypatch):
    # Writing 4 GiB in a test is not an option: lower the threshold instead.
    monkeypatch.setattr(tiff_io, "BIGTIFF_BYTES", 16)
    path = neurolint.write(movie, tmp_path / "big.tif")
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff
        assert not tif.is_imagej
    back = neurolint.read(path)
    np.testing.assert_array_equal(back.get_data(), movie.get_data())
    assert back.frame_rate == 30.0
    assert back.pixel_size == (0.3, 1.17)


def test_pickle_is_small_and_reopens(tmp_path, movie):
    back = neurolint.read(neurolint.write(movie, tmp_path / "m.tif"))
    back.get_data(0, 2)  # open the memory map first: it must not travel
    blob = pickle.dumps(back)
    assert len(blob) < 2000
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.get_data(5, 9), movie.get_data(5, 9))


def test_compressed_tiff_reads_only_the_frames_asked(zlib_tiff, monkeypatch):
    path, frames = zlib_tiff
    movie = neurolint.read(path, frame_rate=10)
    assert not movie.meta["memmap"]
    assert movie.stored_dtype == np.int16
    requested = []
    original = tifffile.TiffFile.asarray

    def spy(self, key=None, **kwargs):
        requested.append(list(key))
        return original(self, key=key, **kwargs)

    monkeypatch.setattr(tifffile.TiffFile, "asarray", spy)
    np.testing.assert_array_equal(movie.get_data(3, 7), frames[3:7])
    assert requested == [[3, 4, 5, 6]]
    np.testing.assert_array_equal(movie.frame_slice(8).get_data(), frames[8:])


def test_compressed_store_indexing(zlib_tiff):
    path, frames = zlib_tiff
    store = tiff_io.TiffFrames(str(path), 0, frames.shape, frames.dtype)
    try:
        np.testing.assert_array_equal(store[2], frames[2])
        np.testing.assert_array_equal(store[-1], frames[-1])
        np.testing.assert_array_equal(store[1:9:3], frames[1:9:3])
        np.testing.assert_array_equal(store[2:4, 1:3, :], frames[2:4, 1:3, :])
        np.testing.assert_array_equal(store[..., 0], frames[..., 0])
        assert store[5:5].shape == (0, 5, 6)
        with pytest.raises(IndexError):
            store[12]
        with pytest.raises(ShapeError):
            store[[1, 2]]
        again = pickle.loads(pickle.dumps(store))
        np.testing.assert_array_equal(again[4:6], frames[4:6])
        again.close()
    finally:
        store.close()


def test_compressed_movie_pickles_as_path(zlib_tiff):
    path, frames = zlib_tiff
    movie = neurolint.read(path, frame_rate=10)
    movie.get_data(0, 1)
    again = pickle.loads(pickle.dumps(movie))
    assert len(pickle.dumps(movie)) < 2000
    np.testing.assert_array_equal(again.get_data(10, 12), frames[10:12])


def test_missing_rate_is_a_clear_error(zlib_tiff):
    path, _ = zlib_tiff
    with pytest.raises(ParameterError, match=r"frame_rate=.*--option frame_rate="):
        neurolint.read(path)


def test_single_image_is_one_frame(tmp_path):
    image = np.arange(12, dtype=np.uint16).reshape(3, 4)
    tifffile.imwrite(tmp_path / "one.tif", image)
    movie = neurolint.read(tmp_path / "one.tif", frame_rate=1)
    assert movie.shape == (1, 3, 4)
    np.testing.assert_array_equal(movie.get_data()[0], image)


def test_imagej_metadata_rate_units_and_pixel_size(tmp_path):
    frames = np.zeros((4, 3, 3), dtype=np.uint16)
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        frames,
        imagej=True,
        resolution=(2.0, 4.0),  # pixels per µm, X then Y
        metadata={"axes": "TYX", "finterval": 50.0, "tunit": "ms", "unit": "micron"},
    )
    movie = neurolint.read(path)
    assert movie.frame_rate == pytest.approx(20.0)
    assert movie.pixel_size == pytest.approx((0.25, 0.5))
    tifffile.imwrite(path, frames, imagej=True, metadata={"axes": "TYX", "fps": 12.5})
    assert neurolint.read(path).frame_rate == 12.5
    # The option wins over the file.
    assert neurolint.read(path, frame_rate=3, pixel_size="0.5, 0.6").pixel_size == (0.5, 0.6)
    assert neurolint.read(path, frame_rate=3).frame_rate == 3.0


def test_ome_time_increment_and_physical_size(tmp_path):
    frames = np.zeros((5, 4, 6), dtype=np.uint8)
    path = tmp_path / "x.ome.tif"
    metadata = {
        "axes": "TYX",
        "TimeIncrement": 0.25,
        "PhysicalSizeX": 0.5,
        "PhysicalSizeY": 600.0,
        "PhysicalSizeYUnit": "nm",
    }
    tifffile.imwrite(path, frames, ome=True, metadata=metadata)
    movie = neurolint.read(path)
    assert movie.frame_rate == pytest.approx(4.0)
    assert movie.pixel_size == pytest.approx((0.6, 0.5))


def test_rgb_and_hyperstacks_beyond_3d_are_refused(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((2, 4, 4, 3), np.uint8), photometric="rgb")
    with pytest.raises(ShapeError, match="grayscale"):
        neurolint.read(tmp_path / "rgb.tif", frame_rate=1)
    tifffile.imwrite(
        tmp_path / "tz.tif", np.zeros((2, 3, 4, 4), np.uint16), imagej=True,
        metadata={"axes": "TZYX"},
    )  # fmt: skip
    with pytest.raises(ShapeError, match="TZYX"):
        neurolint.read(tmp_path / "tz.tif", frame_rate=1)


def test_truncated_file_is_reported(tmp_path, movie):
    path = neurolint.write(movie, tmp_path / "m.tif")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut into the frames, not just the IFDs
    with pytest.raises(CorruptFileError, match="truncated"):
        neurolint.read(path)


def test_not_a_tiff(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(CorruptFileError):
        neurolint.read(tmp_path / "bad.tif", frame_rate=1)


def test_bad_options(zlib_tiff):
    path, _ = zlib_tiff
    with pytest.raises(ParameterError):
        neurolint.read(path, frame_rate=0)
    with pytest.raises(ParameterError):
        neurolint.read(path, frame_rate=1, pixel_size=(1, 2, 3))


def test_real_two_photon_movie(shared_data):
    path = shared_data / "imaging" / "mouse_2p_64x64x500.tif"
    with pytest.raises(ParameterError, match="frame_rate="):
        neurolint.read(path)
    movie = neurolint.read(path, frame_rate=8)
    assert movie.shape == (500, 64, 64)
    assert movie.stored_dtype == np.int16
    assert movie.frame_rate == 8.0
    assert movie.duration == pytest.approx(62.5)
    assert movie.meta["memmap"]
    expected = tifffile.imread(path, key=[0, 250, 499])
    got = np.stack([movie.get_data(i, i + 1)[0] for i in (0, 250, 499)])
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    assert len(pickle.dumps(movie)) < 2000
