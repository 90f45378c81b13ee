"""Raw binary with sidecars, and .npy: lazy reads, chunked writes, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurolint as nl
from neurolint.core import ChannelInfo, TimeSeries
from neurolint.core.errors import OutputExistsError, ShapeError, SidecarError


def _write_raw(tmp_path, data, **sidecar):
    path = tmp_path / "rec.raw"
    data.tofile(path)
    if sidecar:
        (tmp_path / "rec.json").write_text(json.dumps(sidecar))
    return path


def test_binary_with_sidecar_reads_interleaved_samples(tmp_path, rng):
    data = rng.integers(-3000, 3000, size=(1500, 4)).astype(np.int16)
    path = _write_raw(tmp_path, data, sample_rate=15000.0, shape=[-1, 4], dtype="int16")
    ts = nl.read(path)
    assert ts.shape == (4, 1500) and ts.sampling_rate == 15000.0
    np.testing.assert_array_equal(ts.get_data(100, 200), data[100:200].T)


def test_binary_options_without_sidecar(tmp_path, rng):
    data = rng.standard_normal((3, 800)).astype(np.float32)
    path = tmp_path / "x.dat"
    data.tofile(path)
    ts = nl.read(path, dtype="float32", n_channels=3, sampling_rate=200, layout="channels_first")
    np.testing.assert_array_equal(ts.get_data(), data)


def test_binary_round_trip_keeps_metadata_and_values(tmp_path, small_ts):
    out = nl.write(small_ts, tmp_path / "out.bin")
    side = json.loads((tmp_path / "out.json").read_text())
    assert side["channel_names"] == small_ts.ch_names
    back = nl.read(out)
    assert back.channels == small_ts.channels
    assert back.sampling_rate == small_ts.sampling_rate
    np.testing.assert_array_equal(back.get_data(), small_ts.get_data())


def test_integer_binary_keeps_values_through_a_gain(tmp_path, small_ts):
    nl.write(small_ts, tmp_path / "out.bin", dtype="int16")
    back = nl.read(tmp_path / "out.bin")
    assert back.stored_dtype == np.int16
    err = np.abs(back.get_data() - small_ts.get_data()).max(axis=1)
    assert np.all(err <= np.abs(small_ts.get_data()).max(axis=1) / 30000)


def test_integer_series_is_written_back_as_the_same_integers(tmp_path, rng):
    data = rng.integers(-3000, 3000, size=(1500, 4)).astype(np.int16)
    path = _write_raw(
        tmp_path,
        data,
        sample_rate=1000.0,
        shape=[-1, 4],
        dtype="int16",
        gain=0.195,
        gain_offset=[0.0, 1.5, -2.0, 0.0],
    )
    ts = nl.read(path)
    storage = ts.integer_storage
    assert storage.dtype == np.int16 and storage.gain.tolist() == [0.195] * 4
    assert ts.pick([2, 0]).integer_storage.offset.tolist() == [-2.0, 0.0]
    # A float copy of the values remembers where they came from only when told.
    out = nl.write(TimeSeries(ts.get_data(), 1000.0, integer_storage=storage), tmp_path / "o.raw")
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["dtype"] == "<i2" and side["gain"] == [0.195] * 4
    assert side["gain_offset"] == [0.0, 1.5, -2.0, 0.0]
    np.testing.assert_array_equal(np.fromfile(out, np.int16).reshape(-1, 4), data)
    plain = nl.write(TimeSeries(ts.get_data(), 1000.0), tmp_path / "p.raw")
    assert json.loads(plain.with_suffix(".json").read_text())["dtype"] == "<f4"


def test_integer_storage_that_no_longer_fits_gets_a_new_gain(tmp_path, rng):
    data = rng.integers(-3000, 3000, size=(1500, 2)).astype(np.int16)
    path = _write_raw(tmp_path, data, sample_rate=1000.0, shape=[-1, 2], dtype="int16")
    ts = nl.read(path)
    x = ts.get_data()
    x[1, 700] = 1e6  # beyond int16 at gain 1
    out = nl.write(TimeSeries(x, 1000.0, integer_storage=ts.integer_storage), tmp_path / "o.raw")
    side = json.loads(out.with_suffix(".json").read_text())
    # Only the channel that left the range is rescaled; the other keeps its integers.
    assert side["gain"] == [1.0, pytest.approx(1e6 / 32767)] and "gain_offset" not in side
    written = np.fromfile(out, np.int16).reshape(-1, 2)
    np.testing.assert_array_equal(written[:, 0], data[:, 0])
    back = nl.read(out).get_data()
    assert np.abs(back[1] - x[1]).max() <= side["gain"][1] / 2 + 1e-3


def test_a_sample_a_fraction_of_a_step_past_the_rail_is_clipped_not_rescaled(tmp_path, rng):
    """A correction that nudges a saturated sample just past the integer range keeps the
    stored gain (the error stays within one step); further past it, the channel is
    rescaled."""
    data = rng.integers(-3000, 3000, size=(1500, 2)).astype(np.int16)
    data[700] = 32767  # saturated on both channels
    path = _write_raw(tmp_path, data, sample_rate=1000.0, shape=[-1, 2], dtype="int16")
    ts = nl.read(path)
    x = ts.get_data()
    x[0, 700] += 0.8  # rounds to 32768: one step past
    x[1, 700] += 1.6
    out = nl.write(TimeSeries(x, 1000.0, integer_storage=ts.integer_storage), tmp_path / "o.raw")
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["gain"][0] == 1.0 and side["gain"][1] == pytest.approx(32768.6 / 32767)
    written = np.fromfile(out, np.int16).reshape(-1, 2)
    np.testing.assert_array_equal(written[:, 0], data[:, 0])


def test_size_not_a_multiple_of_the_frame_is_refused(tmp_path):
    path = _write_raw(
        tmp_path, np.zeros(1001, np.int16), sample_rate=1000, shape=[-1, 4], dtype="int16"
    )
    with pytest.raises(ShapeError, match="not a multiple of 4 channels"):
        nl.read(path)


def test_sidecar_contradicting_the_file_or_options_is_refused(tmp_path):
    path = _write_raw(
        tmp_path,
        np.zeros(4000, np.int16),
        sample_rate=1000,
        shape=[-1, 4],
        dtype="int16",
        n_samples=2000,
    )
    with pytest.raises(SidecarError, match="says 2000 samples"):
        nl.read(path)
    (tmp_path / "rec.json").write_text(
        json.dumps({"sample_rate": 1000, "shape": [-1, 4], "dtype": "int16"})
    )
    with pytest.raises(SidecarError, match="contradicts"):
        nl.read(path, n_channels=8)
    (tmp_path / "rec.json").write_text(
        json.dumps(
            {"sample_rate": 1000, "shape": [-1, 4], "dtype": "int16", "channel_names": ["a"]}
        )
    )
    with pytest.raises(SidecarError, match="names 1 channels for 4"):
        nl.read(path)
    (tmp_path / "rec.json").write_text("{not json")
    with pytest.raises(SidecarError, match="not valid JSON"):
        nl.read(path)


def test_binary_without_any_description_says_what_to_give(tmp_path):
    path = tmp_path / "mystery.dat"
    np.zeros(10, np.int16).tofile(path)
    with pytest.raises(SidecarError, match="sidecar"):
        nl.read(path, dtype="int16")


def test_npy_round_trip_and_layouts(tmp_path, rng):
    data = rng.standard_normal((5, 300)).astype(np.float32)
    np.save(tmp_path / "a.npy", data)
    ts = nl.read(tmp_path / "a.npy", sampling_rate=100)
    np.testing.assert_array_equal(ts.get_data(), data)
    np.save(tmp_path / "b.npy", data.T.copy())
    tsb = nl.read(tmp_path / "b.npy", sampling_rate=100, layout="samples_first")
    np.testing.assert_array_equal(tsb.get_data(), data)
    nl.write(tsb.pick([4, 0]), tmp_path / "c.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), data[[4, 0]])


def test_npy_needs_a_rate_and_rejects_truncation(tmp_path, rng):
    np.save(tmp_path / "a.npy", rng.standard_normal((2, 1000)))
    with pytest.raises(ShapeError, match="sampling_rate"):
        nl.read(tmp_path / "a.npy")
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(nl.NeurolintError, match="truncated"):
        nl.read(tmp_path / "cut.npy", sampling_rate=10)


def test_writers_refuse_to_overwrite_and_leave_no_temporary_files(tmp_path, small_ts):
    target = tmp_path / "x.npy"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="overwrite"):
        nl.write(small_ts, target)
    assert target.read_bytes() == b"precious"
    nl.write(small_ts, target, overwrite=True)
    assert np.load(target).shape == small_ts.shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_a_failing_writer_leaves_nothing_behind(tmp_path):
    bad = TimeSeries(np.array([[np.nan, 1.0]], dtype=np.float32), 10.0, ChannelInfo(["a"]))
    with pytest.raises(nl.NeurolintError, match="NaN"):
        nl.write(bad, tmp_path / "x.bin", dtype="int16")
    assert list(tmp_path.iterdir()) == []
