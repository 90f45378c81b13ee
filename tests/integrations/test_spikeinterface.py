"""TimeSeries <-> SpikeInterface recordings."""

from __future__ import annotations

import gc
import pickle

import numpy as np
import pytest

si = pytest.importorskip("spikeinterface.core")

import neurolint as nl  # noqa: E402
from neurolint.core import ChannelInfo, TimeSeries  # noqa: E402
from neurolint.core.errors import ParameterError  # noqa: E402
from neurolint.integrations.spikeinterface import (  # noqa: E402
    RecordingArray,
    TimeSeriesRecording,
    from_spikeinterface,
    to_spikeinterface,
)

# SpikeInterface's write_binary opens its output files in a worker context and never
# closes them (spikeinterface 0.105, time_series_tools._init_binary_worker).
SI_UNCLOSED_FILES = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


@pytest.fixture
def gt_recording():
    """A 6-channel ground-truth recording with gains (int16-free, float32 in uV) and a probe."""
    rec, _ = si.generate_ground_truth_recording(
        durations=[0.5], sampling_frequency=20000.0, num_channels=6, num_units=3, seed=2
    )
    return rec


# -- SpikeInterface -> TimeSeries ----------------------------------------------------------
def test_from_spikeinterface_is_lazy_and_reads_what_get_traces_gives(gt_recording):
    rec = gt_recording
    ts = from_spikeinterface(rec)
    assert isinstance(ts._data, RecordingArray)
    assert ts.shape == (6, rec.get_num_samples()) and ts.sampling_rate == 20000.0
    assert ts.ch_names == [str(c) for c in rec.channel_ids]
    assert ts.channels.types == ("ephys",) * 6 and ts.modality == "ephys"
    assert ts.channels.units == ("uV",) * 6
    expected = rec.get_traces(start_frame=100, end_frame=400, return_in_uV=True).T
    np.testing.assert_allclose(ts.get_data(100, 400), expected, rtol=1e-6)
    picked = rec.channel_ids[[4, 1]]
    expected = rec.get_traces(start_frame=7, end_frame=30, channel_ids=picked, return_in_uV=True)
    np.testing.assert_allclose(ts.get_data(7, 30, channels=[4, 1]), expected.T, rtol=1e-6)


def test_probe_positions_become_metres(gt_recording):
    ts = from_spikeinterface(gt_recording)
    loc = gt_recording.get_channel_locations()
    assert ts.channels.positions.shape == (6, 3)
    np.testing.assert_allclose(ts.channels.positions[:, :2], loc * 1e-6)
    np.testing.assert_array_equal(ts.channels.positions[:, 2], 0)


def test_integer_recording_without_gains_is_unscaled():
    traces = np.arange(300, dtype=np.int16).reshape(100, 3)
    rec = si.NumpyRecording([traces], 1000.0, channel_ids=[10, 11, 12])
    ts = from_spikeinterface(rec)
    assert ts.channels.units == ("a.u.",) * 3 and ts.stored_dtype == np.int16
    assert ts.ch_names == ["10", "11", "12"] and ts.channels.positions is None
    np.testing.assert_array_equal(ts.get_data(), traces.T)


def test_integer_recording_with_gains_is_scaled_to_microvolts():
    traces = np.arange(300, dtype=np.int16).reshape(100, 3)
    rec = si.NumpyRecording([traces], 1000.0)
    rec.set_channel_gains([0.5, 2.0, 1.0])
    rec.set_channel_offsets([0.0, 0.0, -10.0])
    ts = from_spikeinterface(rec)
    assert ts.channels.units == ("uV",) * 3 and ts.stored_dtype == np.int16
    np.testing.assert_allclose(ts.get_data(), rec.get_traces(return_in_uV=True).T)


def test_segments(gt_recording):
    rec = si.generate_recording(num_channels=3, durations=[0.1, 0.2], seed=0)
    ts = from_spikeinterface(rec, segment_index=1)
    assert ts.meta["n_segments"] == 2 and ts.n_samples == rec.get_num_samples(1)
    np.testing.assert_array_equal(ts.get_data(), rec.get_traces(segment_index=1).T)
    back = to_spikeinterface(ts)
    assert back.get_num_segments() == 1
    np.testing.assert_array_equal(back.get_traces(), rec.get_traces(segment_index=1))
    with pytest.raises(ParameterError, match="segment_index=2"):
        from_spikeinterface(rec, segment_index=2)


def test_views_map_back_to_the_same_recording_sliced(gt_recording):
    rec = gt_recording
    ts = from_spikeinterface(rec)
    assert to_spikeinterface(ts) is rec
    view = ts.pick([5, 0, 2]).frame_slice(1000, 3000)
    back = view.to_spikeinterface()
    assert list(back.channel_ids) == view.ch_names
    assert back.get_num_samples() == 2000
    np.testing.assert_allclose(back.get_traces(return_in_uV=True).T, view.get_data(), rtol=1e-6)
    # A slice of the original, not a copy: the chain ends at the same recording object.
    parent = back
    while parent.get_parent() is not None:
        parent = parent.get_parent()
    assert parent is rec


def test_series_backed_by_a_recording_pickles(gt_recording):
    view = from_spikeinterface(gt_recording).pick([1, 3]).frame_slice(50, 500)
    back = pickle.loads(pickle.dumps(view))
    np.testing.assert_array_equal(back.get_data(), view.get_data())
    assert back.ch_names == view.ch_names


# -- TimeSeries -> SpikeInterface ----------------------------------------------------------
def test_round_trip_numpy_series_through_spikeinterface(small_ts):
    rec = to_spikeinterface(small_ts)
    assert isinstance(rec, TimeSeriesRecording)
    assert list(rec.channel_ids) == small_ts.ch_names
    assert rec.get_sampling_frequency() == small_ts.sampling_rate
    # Volts become microvolts with gain 1, so SpikeInterface's scaled traces are microvolts.
    np.testing.assert_array_equal(rec.get_channel_gains(), 1.0)
    np.testing.assert_allclose(rec.get_traces(return_in_uV=True).T * 1e-6, small_ts.get_data(),
                               rtol=1e-6)  # fmt: skip
    back = from_spikeinterface(rec)
    assert back.ch_names == small_ts.ch_names and back.channels.units == ("uV",) * 4
    np.testing.assert_allclose(back.get_data() * 1e-6, small_ts.get_data(), rtol=1e-6)
    sub = rec.get_traces(start_frame=10, end_frame=20, channel_ids=["ECG", "Cz"])
    np.testing.assert_allclose(sub.T * 1e-6, small_ts.get_data(10, 20, ["ECG", "Cz"]), rtol=1e-6)


def test_positions_attach_a_probe_in_micrometres(small_ts):
    ts = small_ts.pick(["Fp1", "Cz"])
    rec = to_spikeinterface(ts)
    assert rec.has_probe()
    np.testing.assert_allclose(rec.get_channel_locations(axes="xyz"), ts.channels.positions * 1e6)
    back = from_spikeinterface(rec)
    np.testing.assert_allclose(back.channels.positions, ts.channels.positions)
    assert not to_spikeinterface(small_ts).has_probe()  # NaN positions: no probe


def test_arbitrary_units_stay_unscaled():
    data = np.arange(40, dtype=np.float32).reshape(2, 20)
    ts = TimeSeries(data, 100.0, ChannelInfo(["a", "b"], "misc", ["a.u.", "uV"]))
    rec = to_spikeinterface(ts)
    assert not rec.has_scaleable_traces()
    assert list(rec.get_property("physical_unit")) == ["a.u.", "uV"]
    np.testing.assert_array_equal(rec.get_traces().T, data)
    back = from_spikeinterface(rec)
    assert back.channels.units == ("a.u.", "uV")
    np.testing.assert_array_equal(back.get_data(), data)


def test_custom_recording_pickles_and_views_work(small_ts):
    view = small_ts.pick(["ECG", "Fp1"]).frame_slice(100, 300)
    rec = to_spikeinterface(view)
    back = pickle.loads(pickle.dumps(rec))
    assert isinstance(back, TimeSeriesRecording)
    np.testing.assert_array_equal(back.get_traces(), rec.get_traces())
    np.testing.assert_allclose(rec.get_traces().T * 1e-6, view.get_data(), rtol=1e-6)
    # An in-memory series is not dumped to provenance files (it would copy the data) ...
    assert not rec.check_serializability("pickle")
    # ... but can go to SpikeInterface's worker processes.
    assert rec.check_serializability("memory")


@SI_UNCLOSED_FILES
def test_save_and_load_a_file_backed_series(tmp_path, small_ts):
    ts = nl.read(nl.write(small_ts, tmp_path / "x.raw", format="binary")).pick([0, 1, 3])
    rec = to_spikeinterface(ts)
    assert rec.check_serializability("pickle")
    saved = rec.save(folder=tmp_path / "si", progress_bar=False)
    gc.collect()
    loaded = si.load(tmp_path / "si")
    assert list(loaded.channel_ids) == ts.ch_names
    np.testing.assert_allclose(loaded.get_traces(return_in_uV=True).T * 1e-6, ts.get_data(),
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(saved.get_traces(), rec.get_traces())
    # The provenance is the series itself (a path), and reloads into the same recording.
    provenance = si.load(tmp_path / "si" / "provenance.pkl", base_folder=tmp_path / "si")
    assert isinstance(provenance, TimeSeriesRecording)
    np.testing.assert_array_equal(provenance.get_traces(), rec.get_traces())


@SI_UNCLOSED_FILES
def test_spikeinterface_worker_processes_read_the_series(tmp_path, small_ts):
    # "spawn" pickles the recording into fresh processes: the series must travel as a path.
    ts = nl.read(nl.write(small_ts, tmp_path / "x.raw", format="binary"))
    rec = to_spikeinterface(ts)
    saved = rec.save(
        folder=tmp_path / "si", n_jobs=2, chunk_size=100, mp_context="spawn", progress_bar=False
    )
    gc.collect()
    np.testing.assert_array_equal(saved.get_traces(), rec.get_traces())


def _labelled(rec):
    """``rec`` with what a lab adds: a named probe wired in reverse, channel groups and a
    brain area per channel."""
    from probeinterface import generate_linear_probe

    probe = generate_linear_probe(num_elec=rec.get_num_channels(), ypitch=20)
    probe.set_device_channel_indices(np.arange(rec.get_num_channels())[::-1])
    probe.annotate(name="myprobe", manufacturer="acme")
    rec = rec.set_probe(probe) or rec  # in place from SpikeInterface 0.105, a copy before
    rec.set_channel_groups([0, 0, 0, 1, 1, 1])
    rec.set_property("brain_area", np.array(["CA1"] * 3 + ["CA3"] * 3))
    return rec


def test_a_corrected_copy_hands_back_the_probe_groups_and_properties(gt_recording):
    rec = _labelled(gt_recording)
    ts = from_spikeinterface(rec)
    copy = TimeSeries(ts.get_data(), ts.sampling_rate, ts.channels, meta=dict(ts.meta))
    names = ts.ch_names[1:5]
    out = copy.pick(names).to_spikeinterface()
    want = rec.select_channels(rec.channel_ids[1:5])
    assert isinstance(out, TimeSeriesRecording)
    assert list(out.get_property("brain_area")) == ["CA1", "CA1", "CA3", "CA3"]
    assert list(out.get_channel_groups()) == [0, 0, 1, 1]
    np.testing.assert_allclose(out.get_channel_locations(), want.get_channel_locations())
    assert out.get_probe().annotations["manufacturer"] == "acme"
    np.testing.assert_allclose(
        out.get_traces(return_in_uV=True), want.get_traces(return_in_uV=True), rtol=1e-6
    )


def test_a_copy_whose_positions_changed_gets_a_probe_of_its_own(gt_recording):
    rec = _labelled(gt_recording)
    ts = from_spikeinterface(rec)
    moved = ts.channels.positions + 1e-5
    info = ChannelInfo(ts.ch_names, ts.channels.types, ts.channels.units, moved)
    copy = TimeSeries(ts.get_data(), ts.sampling_rate, info, meta=dict(ts.meta))
    out = copy.to_spikeinterface()
    np.testing.assert_allclose(out.get_channel_locations()[:, :2], moved[:, :2] * 1e6, atol=1e-6)
    assert "brain_area" not in out.get_property_keys()
