"""TimeSeries: lazy views that read only what is asked and pickle as paths."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from neurolint.core import ChannelInfo, TimeSeries
from neurolint.core.arrays import BinaryFileArray
from neurolint.core.errors import EmptyRecordingError, ParameterError, ShapeError


class CountingArray:
    """A backing store that records every read."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.reads = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.array[key]


def test_get_data_returns_float32_channels_first_for_both_layouts(rng):
    data = rng.integers(-100, 100, size=(1000, 3)).astype(np.int16)
    a = TimeSeries(data, 100.0, layout="samples_first")
    b = TimeSeries(data.T.copy(), 100.0, layout="channels_first")
    for ts in (a, b):
        out = ts.get_data(10, 20, channels=[2, 0])
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, data[10:20, [2, 0]].T)
        assert ts.shape == (3, 1000)


def test_get_data_reads_only_the_requested_block(rng):
    store = CountingArray(rng.standard_normal((8, 10_000)).astype(np.float32))
    ts = TimeSeries(store, 1000.0)
    ts.get_data(500, 600, channels=["ch003"])
    (key,) = store.reads
    assert key[1] == slice(500, 600)
    assert np.arange(8)[key[0]].tolist() == [3]


def test_views_compose_and_do_not_read(rng):
    data = rng.standard_normal((6, 2000)).astype(np.float32)
    store = CountingArray(data)
    ts = TimeSeries(store, 500.0, [f"c{i}" for i in range(6)])
    view = ts.pick(["c4", "c1", "c5"]).time_slice(1.0, 3.0).frame_slice(100, 300).pick(["c5", "c4"])
    assert store.reads == []
    assert view.ch_names == ["c5", "c4"]
    assert view.n_samples == 200
    np.testing.assert_array_equal(view.get_data(), data[[5, 4], 600:800])
    # The parent is untouched by taking views.
    assert ts.n_samples == 2000 and ts.n_channels == 6


def test_gain_and_offset_give_physical_values():
    raw = np.array([[1, 2], [3, 4]], dtype=np.int16)
    ts = TimeSeries(raw, 10.0, gain=[0.5, 2.0], offset=[1.0, 0.0])
    np.testing.assert_allclose(ts.get_data(), [[1.5, 2.0], [6.0, 8.0]])
    np.testing.assert_allclose(ts.pick([1]).get_data(), [[6.0, 8.0]])


def test_get_data_never_returns_the_backing_array(rng):
    data = rng.standard_normal((2, 50)).astype(np.float32)
    ts = TimeSeries(data, 10.0)
    out = ts.get_data()
    out[:] = 0
    assert np.any(data != 0), "writing into get_data's result must not change the input"


def test_unordered_channel_reads_work_on_stores_that_need_sorted_indices(tmp_path, rng):
    h5py = pytest.importorskip("h5py")
    data = rng.standard_normal((5, 300)).astype(np.float32)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["d"] = data
    with h5py.File(tmp_path / "x.h5", "r") as f:
        ts = TimeSeries(f["d"], 100.0)
        np.testing.assert_array_equal(ts.get_data(channels=[3, 1, 4]), data[[3, 1, 4]])


def test_pickle_of_file_backed_series_carries_no_samples(tmp_path, rng):
    data = rng.integers(-1000, 1000, size=(100_000, 8)).astype(np.int16)
    data.tofile(tmp_path / "x.bin")
    ts = TimeSeries(
        BinaryFileArray(tmp_path / "x.bin", "<i2", data.shape), 1000.0, layout="samples_first"
    )
    payload = pickle.dumps(ts.pick([2, 5]).frame_slice(10, 90_000))
    assert len(payload) < 5_000
    back = pickle.loads(payload)
    np.testing.assert_array_equal(back.get_data(0, 10), data[10:20, [2, 5]].T)


def test_pickle_of_memmap_sends_a_path(tmp_path, rng):
    mm = np.lib.format.open_memmap(
        tmp_path / "m.npy", mode="w+", dtype=np.float32, shape=(4, 50_000)
    )
    mm[:] = rng.standard_normal(mm.shape)
    mm.flush()
    ro = np.load(tmp_path / "m.npy", mmap_mode="r")
    ts = TimeSeries(ro, 100.0)
    payload = pickle.dumps(ts)
    assert len(payload) < 5_000
    np.testing.assert_array_equal(pickle.loads(payload).get_data(5, 9), ro[:, 5:9])


def test_bad_shapes_and_ranges_are_clear_errors(rng):
    with pytest.raises(ShapeError, match="2-D"):
        TimeSeries(np.zeros(10), 100.0)
    with pytest.raises(EmptyRecordingError):
        TimeSeries(np.zeros((3, 0)), 100.0)
    with pytest.raises(EmptyRecordingError):
        TimeSeries(np.zeros((0, 10)), 100.0)
    with pytest.raises(ShapeError, match="channel names"):
        TimeSeries(np.zeros((3, 10)), 100.0, ["a", "b"])
    with pytest.raises(ParameterError, match="sampling rate"):
        TimeSeries(np.zeros((3, 10)), 0.0)
    ts = TimeSeries(np.zeros((3, 10)), 100.0)
    with pytest.raises(ParameterError, match="outside"):
        ts.get_data(5, 20)
    with pytest.raises(ParameterError, match="No channel named"):
        ts.pick(["nope"])
    with pytest.raises(ShapeError, match="twice"):
        ts.pick([0, 0])


def test_modality_follows_the_majority_channel_type(small_ts):
    assert small_ts.modality == "eeg"
    ephys = TimeSeries(np.zeros((4, 10)), 30000.0, ChannelInfo(list("abcd"), "ephys"))
    assert ephys.modality == "ephys"
    assert small_ts.pick(["EOG1", "ECG"]).modality == "timeseries"


def test_channel_info_subset_keeps_positions_and_units(small_ts):
    sub = small_ts.pick(["Cz", "Fp1"]).channels
    assert sub.names == ("Cz", "Fp1")
    assert sub.units == ("V", "V")
    np.testing.assert_allclose(sub.positions[0], [0.0, 0.0, 0.1])


def test_channel_info_round_trips_through_json_form(small_ts):
    info = small_ts.channels
    assert ChannelInfo.from_dict(info.to_dict()) == info


def test_channel_info_rejects_unknown_types_and_duplicate_names():
    with pytest.raises(ParameterError, match="Unknown channel type"):
        ChannelInfo(["a"], ["eeeg"])
    with pytest.raises(ParameterError, match="more than once"):
        ChannelInfo(["a", "a"])
    with pytest.raises(ShapeError, match="positions"):
        ChannelInfo(["a", "b"], positions=[[0, 0, 0]])


def test_units_are_normalised_but_unknown_spellings_are_kept():
    info = ChannelInfo(["a", "b", "c", "d"], units=["µV", "microvolts", "volts", "furlongs"])
    assert info.units == ("uV", "uV", "V", "furlongs")


def test_non_contiguous_reads_give_the_same_values_faster_layout(rng):
    data = rng.integers(-500, 500, size=(3000, 16)).astype(np.int16)
    ts = TimeSeries(data, 1000.0, layout="samples_first", gain=0.5)
    view = ts.pick([3, 1, 2])
    fast = view.get_data(5, 2500, contiguous=False)
    slow = view.get_data(5, 2500)
    assert slow.flags.c_contiguous
    assert fast.shape == slow.shape and fast.dtype == np.float32
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(slow, data[5:2500, [3, 1, 2]].T * 0.5)


def test_large_interleaved_blocks_transpose_exactly(rng):
    # Big enough to take the tiled, threaded path.
    data = rng.integers(-2000, 2000, size=(7001, 200)).astype(np.int16)
    ts = TimeSeries(data, 1000.0, layout="samples_first")
    np.testing.assert_array_equal(ts.get_data(), data.T.astype(np.float32))


def test_a_view_reads_infinite_samples_as_missing_and_leaves_the_store_alone():
    x = np.array([[1.0, np.inf, 3.0], [-np.inf, np.nan, 6.0]], dtype=np.float32)
    ts = TimeSeries(x, 10.0)
    view = ts.inf_as_missing()
    assert view.inf_as_missing() is view  # one view, so caches keyed on it are shared
    np.testing.assert_array_equal(view.get_data(), [[1.0, np.nan, 3.0], [np.nan, np.nan, 6.0]])
    np.testing.assert_array_equal(view.pick([1]).get_data(0, 1), [[np.nan]])
    assert np.isinf(ts.get_data()).sum() == 2 and np.isinf(x).sum() == 2  # as recorded
    counts = TimeSeries(np.arange(6, dtype=np.int16).reshape(2, 3), 10.0)
    assert counts.inf_as_missing() is counts  # integers hold no infinities


def test_the_missing_view_is_made_once_and_not_handed_to_other_views():
    ts = TimeSeries(np.ones((3, 20), np.float32), 10.0)
    view = ts.inf_as_missing()
    assert ts.inf_as_missing() is view
    picked = ts.pick([0, 1])
    assert picked.inf_as_missing() is not view and picked.inf_as_missing().n_channels == 2
    assert pickle.loads(pickle.dumps(ts)).inf_as_missing().shape == (3, 20)
