"""NWB reading and writing: round trips, series choice, timestamps, pickling, streaming."""

from __future__ import annotations

import pickle
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

import neurolint
from neurolint.core import (
    ChannelInfo,
    DataValueError,
    Movie,
    OutputExistsError,
    ParameterError,
    ShapeError,
    TimeSeries,
)

pynwb = pytest.importorskip("pynwb")

from neurolint.io.nwb import read_nwb, write_nwb  # noqa: E402

START = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


# -- helpers: files written directly with pynwb ---------------------------------------------
def _nwbfile():
    return pynwb.NWBFile(
        session_description="test session", identifier=str(uuid.uuid4()), session_start_time=START
    )


def _electrodes(nwbfile, n, **columns):
    """Add ``n`` electrodes with extra ``columns`` (name -> list of values)."""
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(
        name="shank", description="shank", location="brain", device=device
    )
    for name in columns:
        nwbfile.add_electrode_column(name=name, description=name)
    for i in range(n):
        nwbfile.add_electrode(
            location="brain", group=group, **{k: v[i] for k, v in columns.items()}
        )
    return nwbfile.create_electrode_table_region(list(range(n)), "all")


def _save(nwbfile, path):
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def _timestamped_file(path, stamps):
    nwbfile = _nwbfile()
    region = _electrodes(nwbfile, 2)
    data = np.arange(2 * len(stamps), dtype=np.float32).reshape(-1, 2)
    nwbfile.add_acquisition(
        pynwb.ecephys.ElectricalSeries(
            name="ES", data=data, electrodes=region, timestamps=np.asarray(stamps)
        )
    )
    return _save(nwbfile, path)


@pytest.fixture
def mixed_units_ts(small_ts):
    """``small_ts`` with its second channel in microvolts (values scaled to match)."""
    data = small_ts.get_data()
    data[1] *= 1e6
    info = small_ts.channels
    return TimeSeries(
        data, 250.0, ChannelInfo(info.names, info.types, ["V", "uV", "V", "V"], info.positions)
    )


# -- round trips ----------------------------------------------------------------------------
def test_timeseries_round_trip(tmp_path, mixed_units_ts):
    out = tmp_path / "rec.nwb"
    write_nwb(mixed_units_ts, out, chunk_duration=0.3)
    back = neurolint.read(out)
    assert isinstance(back, TimeSeries)
    assert back.sampling_rate == 250.0
    assert back.ch_names == ["Fp1", "Cz", "EOG1", "ECG"]
    assert back.channels.types == ("eeg", "eeg", "eog", "ecg")
    # Stored in volts, so every channel reads back in volts, uV values scaled by 1e-6.
    assert back.channels.units == ("V",) * 4
    expected = mixed_units_ts.get_data().astype(np.float64)
    expected[1] *= 1e-6
    np.testing.assert_allclose(back.get_data(), expected, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        back.channels.positions, mixed_units_ts.channels.positions, rtol=1e-6, equal_nan=True
    )
    assert back.meta["format"] == "nwb"
    assert back.meta["series"] == "acquisition/ElectricalSeries"
    assert back.meta["session_description"]
    assert back.modality == "eeg"


def test_write_through_registry_keeps_meas_date(tmp_path, small_ts):
    small_ts.meta["meas_date"] = START.isoformat()
    small_ts.meta["session_description"] = "resting state"
    written = neurolint.write(small_ts, tmp_path / "x.nwb")
    assert written == tmp_path / "x.nwb"
    back = neurolint.read(written)
    assert datetime.fromisoformat(back.meta["meas_date"]) == START
    assert back.meta["session_description"] == "resting state"
    np.testing.assert_allclose(back.get_data(), small_ts.get_data(), rtol=1e-6)


def test_arbitrary_units_stored_as_is(tmp_path, rng):
    data = rng.standard_normal((2, 100)).astype(np.float32)
    ts = TimeSeries(data, 100.0, ChannelInfo(["a", "b"], "misc", ["uV", "a.u."]))
    write_nwb(ts, tmp_path / "au.nwb")
    back = read_nwb(tmp_path / "au.nwb")
    assert back.channels.units == ("V", "a.u.")
    np.testing.assert_allclose(back.get_data()[0], data[0] * 1e-6, rtol=1e-6)
    np.testing.assert_array_equal(back.get_data()[1], data[1])
    assert "b (a.u.)" in back.meta["description"]


def test_integer_series_keep_their_counts_where_they_still_fit(tmp_path):
    import h5py

    counts = np.random.default_rng(0).integers(-3000, 3000, (3, 500)).astype(np.int16)
    gain = [0.195, 0.2, 0.5]  # microvolts per count
    ts = TimeSeries(counts, 1000.0, ChannelInfo(["a", "b", "c"], "ephys", "uV"), gain=gain)
    write_nwb(ts, tmp_path / "ints.nwb")
    with h5py.File(tmp_path / "ints.nwb", "r") as f:
        series = f["acquisition/ElectricalSeries"]
        assert series["data"].dtype == np.int16
        np.testing.assert_array_equal(series["data"][:].T, counts)
        np.testing.assert_allclose(series["channel_conversion"][:], np.array(gain) * 1e-6)
    back = read_nwb(tmp_path / "ints.nwb")
    np.testing.assert_allclose(back.get_data(), ts.get_data() * 1e-6, rtol=1e-6)
    assert back.integer_storage.dtype == np.int16  # and so on, through fix() and back
    # A value past the int16 range at its gain: only that channel gets a new gain.
    x = ts.get_data()
    x[2, 10] = 1e6
    moved = TimeSeries(x, 1000.0, ts.channels, integer_storage=ts.integer_storage)
    write_nwb(moved, tmp_path / "moved.nwb")
    with h5py.File(tmp_path / "moved.nwb", "r") as f:
        data = f["acquisition/ElectricalSeries/data"][:].T
        conversion = f["acquisition/ElectricalSeries/channel_conversion"][:]
    np.testing.assert_array_equal(data[:2], counts[:2])
    np.testing.assert_allclose(conversion, [0.195e-6, 0.2e-6, 1e6 / 32767 * 1e-6], rtol=1e-6)
    back = read_nwb(tmp_path / "moved.nwb").get_data()
    assert np.abs(back[2] - x[2] * 1e-6).max() <= 0.5 * conversion[2] * (1 + 1e-5)
    # NaN cannot be an integer: float32.
    x[0, 3] = np.nan
    holed = TimeSeries(x, 1000.0, ts.channels, integer_storage=ts.integer_storage)
    write_nwb(holed, tmp_path / "holed.nwb")
    with h5py.File(tmp_path / "holed.nwb", "r") as f:
        assert f["acquisition/ElectricalSeries/data"].dtype == np.float32
    assert np.isnan(read_nwb(tmp_path / "holed.nwb").get_data()[0, 3])


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_movie_round_trip(tmp_path, rng, dtype):
    frames = rng.integers(0, 4000, (12, 9, 7)).astype(dtype)
    movie = Movie(frames, 15.0, pixel_size=(0.5, 0.75))
    neurolint.write(movie, tmp_path / "movie.nwb")
    back = neurolint.read(tmp_path / "movie.nwb")
    assert isinstance(back, Movie)
    assert back.shape == (12, 9, 7)
    assert back.frame_rate == 15.0
    assert back.pixel_size == pytest.approx((0.5, 0.75), rel=1e-6)
    # Integer frames keep their dtype on disk; others are stored as float32.
    assert back.stored_dtype == (np.uint16 if dtype is np.uint16 else np.float32)
    np.testing.assert_array_equal(back.get_data(), frames.astype(np.float32))
    assert back.meta["series"] == "acquisition/TwoPhotonSeries"


def test_write_streams_in_chunks(tmp_path, rng):
    ts = TimeSeries(rng.standard_normal((3, 1000)).astype(np.float32), 100.0)
    sizes = []
    original = ts.get_data

    def spy(start=None, stop=None, channels=None):
        block = original(start, stop, channels)
        sizes.append(block.shape[1])
        return block

    ts.get_data = spy
    write_nwb(ts, tmp_path / "s.nwb", chunk_duration=1.0)
    assert max(sizes) <= 100
    assert sum(sizes) == 1000
    ts.get_data = original
    np.testing.assert_array_equal(read_nwb(tmp_path / "s.nwb").get_data(), ts.get_data())


# -- reading files written by pynwb ---------------------------------------------------------
def test_conversion_channel_conversion_and_electrode_columns(tmp_path):
    nwbfile = _nwbfile()
    region = _electrodes(
        nwbfile, 3, channel_name=["A1", "A2", "A3"], type=["ecog", "bogus", "EEG"],
        x=[100.0, 200.0, np.nan], y=[0.0, 0.0, 0.0], z=[10.0, 10.0, 10.0],
    )  # fmt: skip
    raw = np.arange(30, dtype=np.int16).reshape(10, 3)
    nwbfile.add_acquisition(
        pynwb.ecephys.ElectricalSeries(
            name="ES", data=raw, electrodes=region, rate=1000.0, conversion=1e-6,
            channel_conversion=[1.0, 2.0, 0.5], offset=0.001,
        )
    )  # fmt: skip
    ts = read_nwb(_save(nwbfile, tmp_path / "conv.nwb"))
    assert ts.ch_names == ["A1", "A2", "A3"]
    assert ts.channels.types == ("ecog", "ephys", "eeg")
    assert ts.channels.units == ("V", "V", "V")
    assert ts.stored_dtype == np.int16
    expected = raw.T * 1e-6 * np.array([[1.0], [2.0], [0.5]]) + 0.001
    np.testing.assert_allclose(ts.get_data(), expected, rtol=1e-5)
    # micrometres in the file, metres in neurolint; a row with NaN stays unknown
    np.testing.assert_allclose(ts.channels.positions[:2], [[1e-4, 0, 1e-5], [2e-4, 0, 1e-5]])
    assert np.isnan(ts.channels.positions[2]).all()
    in_mm = read_nwb(tmp_path / "conv.nwb", position_unit="mm")
    np.testing.assert_allclose(in_mm.channels.positions[0], [0.1, 0, 0.01])


def test_names_fall_back_to_electrode_ids(tmp_path):
    nwbfile = _nwbfile()
    region = _electrodes(nwbfile, 2)
    nwbfile.add_acquisition(
        pynwb.ecephys.ElectricalSeries(
            name="ES", data=np.zeros((5, 2), np.float32), electrodes=region, rate=10.0
        )
    )
    ts = read_nwb(_save(nwbfile, tmp_path / "ids.nwb"))
    assert ts.ch_names == ["0", "1"]
    assert ts.channels.types == ("ephys", "ephys")


def test_two_electrical_series_need_series(tmp_path):
    nwbfile = _nwbfile()
    region = _electrodes(nwbfile, 2)
    for i, name in enumerate(("ES1", "ES2")):
        data = np.full((20, 2), i, dtype=np.float32)
        nwbfile.add_acquisition(
            pynwb.ecephys.ElectricalSeries(name=name, data=data, electrodes=region, rate=100.0)
        )
    path = _save(nwbfile, tmp_path / "two.nwb")
    with pytest.raises(ParameterError, match=r"acquisition/ES1, acquisition/ES2"):
        neurolint.read(path)
    assert read_nwb(path, series="ES2").get_data()[0, 0] == 1.0
    assert read_nwb(path, series="acquisition/ES1").get_data()[0, 0] == 0.0
    via_colon = neurolint.read(f"{path}:/acquisition/ES2")
    assert via_colon.meta["series"] == "acquisition/ES2"
    with pytest.raises(ParameterError, match="no series 'ES3'"):
        read_nwb(path, series="ES3")
    with pytest.raises(ParameterError, match="plane="):
        read_nwb(path, series="ES1", plane=0)


def test_single_generic_series_with_1d_data(tmp_path):
    nwbfile = _nwbfile()
    speed = np.linspace(0.0, 1.0, 50)
    nwbfile.add_acquisition(
        pynwb.TimeSeries(name="speed", data=speed, unit="m/s", rate=20.0, conversion=0.5)
    )
    ts = read_nwb(_save(nwbfile, tmp_path / "speed.nwb"))
    assert ts.shape == (1, 50)
    assert ts.channels.units == ("m/s",)
    assert ts.channels.types == ("misc",)
    np.testing.assert_allclose(ts.get_data()[0], speed * 0.5, rtol=1e-6)


def test_regular_timestamps_give_the_rate(tmp_path):
    rate = 512.0
    stamps = 10.0 + np.arange(200) / rate
    stamps[1:-1] += np.random.default_rng(1).uniform(-1e-5, 1e-5, 198) / rate  # tiny jitter
    ts = neurolint.read(_timestamped_file(tmp_path / "ts.nwb", stamps))
    assert ts.sampling_rate == pytest.approx(rate, rel=1e-9)
    assert ts.meta["starting_time"] == pytest.approx(10.0)
    assert ts.n_samples == 200


def test_irregular_timestamps_are_refused(tmp_path):
    stamps = np.cumsum(np.random.default_rng(2).uniform(0.5, 1.5, 100)) / 100.0
    path = _timestamped_file(tmp_path / "irregular.nwb", stamps)
    with pytest.raises(DataValueError, match="irregular timestamps are not supported"):
        neurolint.read(path)


def test_4d_two_photon_needs_a_plane(tmp_path):
    nwbfile = _nwbfile()
    device = nwbfile.create_device(name="scope")
    channel = pynwb.ophys.OpticalChannel(name="green", description="gcamp", emission_lambda=520.0)
    plane = nwbfile.create_imaging_plane(
        name="plane", optical_channel=channel, description="v1", device=device,
        excitation_lambda=920.0, indicator="GCaMP6s", location="V1", imaging_rate=5.0,
        grid_spacing=[2.0, 3.0, 10.0], grid_spacing_unit="micrometers",
    )  # fmt: skip
    frames = np.arange(6 * 4 * 5 * 3, dtype=np.uint16).reshape(6, 4, 5, 3)
    nwbfile.add_acquisition(
        pynwb.ophys.TwoPhotonSeries(
            name="TPS", data=frames, imaging_plane=plane, rate=5.0, unit="n/a",
            conversion=2.0, offset=1.0,
        )
    )  # fmt: skip
    path = _save(nwbfile, tmp_path / "vol.nwb")
    with pytest.raises(ShapeError, match="plane="):
        read_nwb(path)
    movie = read_nwb(path, plane=1)
    assert movie.shape == (6, 4, 5)
    assert movie.pixel_size == (2.0, 3.0)
    np.testing.assert_array_equal(movie.get_data(), frames[..., 1] * 2.0 + 1.0)
    with pytest.raises(ParameterError, match="out of range"):
        read_nwb(path, plane=3)


# -- pickling and overwriting ---------------------------------------------------------------
def test_pickle_sends_a_path_not_data(tmp_path, rng):
    data = rng.standard_normal((8, 32768)).astype(np.float32)  # 1 MiB
    write_nwb(TimeSeries(data, 1000.0), tmp_path / "big.nwb")
    ts = neurolint.read(tmp_path / "big.nwb")
    ts.get_data(0, 10)  # opens the file: the open handle must not travel either
    payload = pickle.dumps(ts)
    assert len(payload) < 20_000
    clone = pickle.loads(payload)
    np.testing.assert_array_equal(clone.get_data(), data)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(ts.pick([3, 1]))).get_data(), data[[3, 1]]
    )


def test_refuses_to_overwrite(tmp_path, small_ts):
    out = tmp_path / "x.nwb"
    write_nwb(small_ts, out)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError):
        write_nwb(small_ts, out)
    assert out.read_bytes() == before
    write_nwb(small_ts, out, overwrite=True)
    assert read_nwb(out).n_samples == small_ts.n_samples
    assert [p.name for p in tmp_path.iterdir()] == ["x.nwb"]  # no temporary file left behind
