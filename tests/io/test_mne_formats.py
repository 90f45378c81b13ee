"""Formats read through MNE, FIF/EDF/BDF writers, and the MNE adapter."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.core import ChannelInfo, TimeSeries
from neurolint.core.errors import CorruptFileError, UnitsError
from neurolint.integrations.mne import MNERawArray


@pytest.fixture
def mixed_ts(rng):
    data = (rng.standard_normal((6, 1000)) * 2e-5).astype(np.float32)
    data[4] *= 1e6  # the lfp channel is in microvolts
    info = ChannelInfo(
        ["Fp1", "Cz", "EOG1", "ECG", "LFP1", "Trig"],
        ["eeg", "eeg", "eog", "ecg", "lfp", "misc"],
        ["V", "V", "V", "V", "uV", "a.u."],
        [[-0.03, 0.08, 0.0], [0.0, 0.0, 0.1]] + [[np.nan] * 3] * 4,
    )
    return TimeSeries(data, 250.0, info)


def _in_volts(ts):
    scale = np.array([1e-6 if u == "uV" else 1.0 for u in ts.channels.units], dtype=np.float32)
    return ts.get_data() * scale[:, None]


def test_fif_round_trip_keeps_names_types_units_positions(tmp_path, mixed_ts):
    back = nl.read(nl.write(mixed_ts, tmp_path / "x_raw.fif"))
    assert back.ch_names == mixed_ts.ch_names
    assert back.channels.types == mixed_ts.channels.types
    assert back.channels.units == ("V", "V", "V", "V", "V", "a.u.")
    np.testing.assert_allclose(back.channels.positions[:2], mixed_ts.channels.positions[:2])
    np.testing.assert_allclose(back.get_data(), _in_volts(mixed_ts), rtol=1e-6, atol=1e-12)
    assert back.sampling_rate == 250.0 and back.meta["format"] == "fif"


class _Counted:
    """A backing store that remembers the longest read it served."""

    def __init__(self, data):
        self.data, self.shape, self.dtype, self.ndim, self.longest = (
            data,
            data.shape,
            data.dtype,
            2,
            0,
        )

    def __getitem__(self, key):
        rows, cols = key
        start, stop, _ = cols.indices(self.shape[1])
        self.longest = max(self.longest, stop - start)
        return self.data[rows, start:stop]


def test_fif_writer_streams_a_lazy_series_buffer_by_buffer(tmp_path, rng):
    # A lazily corrected hour must not be loaded whole to be written.
    data = (rng.standard_normal((4, 60_000)) * 1e-5).astype(np.float32)
    store = _Counted(data)
    ts = TimeSeries(store, 250.0, ["Fz", "Cz", "Pz", "Oz"])
    back = nl.read(nl.write(ts, tmp_path / "s_raw.fif"))
    np.testing.assert_array_equal(back.get_data(), data)
    assert 0 < store.longest <= 2500  # MNE's buffers are seconds, not the recording


@pytest.mark.parametrize(("ext", "levels"), [("edf", 2**16), ("bdf", 2**24)])
def test_edf_bdf_round_trip_within_quantisation(tmp_path, mixed_ts, ext, levels):
    ts = mixed_ts.pick(["Fp1", "Cz", "EOG1", "ECG", "LFP1"])
    back = nl.read(nl.write(ts, tmp_path / f"x.{ext}"))
    assert back.ch_names == ts.ch_names
    # EDF+ has no lfp type: it comes back as misc, in volts.
    assert back.channels.types == ("eeg", "eeg", "eog", "ecg", "misc")
    expected = _in_volts(ts)
    step = (expected.max(axis=1) - expected.min(axis=1)) / (levels - 1)
    err = np.abs(back.get_data() - expected).max(axis=1)
    assert np.all(err <= step * 1.01 + 1e-12)


def _exported_by_mne(ts, path):
    import datetime as dt
    import warnings

    import mne
    from mne.export import export_raw

    raw = ts.to_mne()
    if not raw.preload:
        raw = raw.copy().load_data(verbose="error")
    if raw.first_samp:
        # MNE's exporter dates a cropped recording at its meas_date, not at its first
        # sample; ours dates it at the first sample. Make MNE's input start there.
        ann = raw.annotations
        moved = mne.io.RawArray(raw.get_data(), raw.info.copy(), verbose="error")
        moved.set_meas_date(raw.info["meas_date"] + dt.timedelta(seconds=raw.first_time))
        moved.set_annotations(
            mne.Annotations(
                ann.onset - raw.first_time, ann.duration, ann.description, ch_names=ann.ch_names
            )
        )
        raw = moved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MNE's padding and precision warnings
        export_raw(path, raw, physical_range="channelwise", add_ch_type=True, overwrite=True)
    return path.read_bytes()


@pytest.mark.parametrize("ext", ["edf", "bdf"])
def test_edf_bdf_writer_makes_mne_exporters_file_byte_for_byte(tmp_path, rng, ext):
    # (A view is compared with MNE's export of the same samples dated at its first sample.)
    mne = pytest.importorskip("mne")
    info = mne.create_info(["Fz", "Cz", "EOG1", "Trig"], 250.0, ["eeg", "eeg", "eog", "misc"])
    raw = mne.io.RawArray(rng.standard_normal((4, 2600)) * 1e-5, info, verbose="error")
    raw._data[1] = 3e-6  # flat
    raw.set_meas_date(1_700_000_000.25)
    raw.info["subject_info"] = {"his_id": "S1", "sex": 2, "first_name": "A", "hand": 1}
    raw.info["line_freq"] = 50.0
    raw.set_annotations(
        mne.Annotations(
            [1.0, 3.5], [0.5, 0.2], ["blink", "BAD_pop"], raw.info["meas_date"], [[], ["Cz"]]
        )
    )
    cases = {
        "annotated, padded to whole records": nl.from_mne(raw),
        "a view of it": nl.from_mne(raw).pick(["Cz", "Fz"]).frame_slice(100, 1100),
        "in memory, float32, other units": TimeSeries(
            (rng.standard_normal((3, 1000)) * 20).astype(np.float32),
            250.0,
            ChannelInfo(["C3", "C4", "LFP"], ["eeg", "eeg", "lfp"], ["uV", "uV", "mV"]),
        ),
        "non-integer rate": TimeSeries(rng.standard_normal((2, 1000)) * 1e-5, 100.5, ["A", "B"]),
    }
    for what, ts in cases.items():
        ours = nl.write(ts, tmp_path / f"ours.{ext}", overwrite=True).read_bytes()
        assert ours == _exported_by_mne(ts, tmp_path / f"mne.{ext}"), what
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mne.{ext}", f"ours.{ext}"]


def test_edf_writer_streams_a_lazy_series_block_by_block(tmp_path, rng, monkeypatch):
    from neurolint.io import edf

    monkeypatch.setattr(edf, "_BLOCK_VALUES", 4 * 2000)
    data = (rng.standard_normal((4, 60_000)) * 1e-5).astype(np.float32)
    store = _Counted(data)
    back = nl.read(nl.write(TimeSeries(store, 250.0, ["Fz", "Cz", "Pz", "Oz"]), tmp_path / "s.edf"))
    step = (data.max(axis=1) - data.min(axis=1)) / 65535
    assert np.all(np.abs(back.get_data() - data).max(axis=1) <= step)
    assert 0 < store.longest <= 2500  # blocks, not the recording


def test_lead_channels_typed_eeg_are_typed_by_name_except_in_fif(tmp_path, rng):
    names = ["Fp1", "VEOG", "heog_l", "EKG", "ECG2", "EMG1", "Cz"]
    rows = (rng.standard_normal((len(names), 2500)) * 1e-5).astype(np.float32)
    ts = TimeSeries(rows, 250.0, ChannelInfo(names, "eeg", "V"))
    back = nl.read(nl.write(ts, tmp_path / "x.edf"))
    assert back.channels.types == ("eeg", "eog", "eog", "ecg", "ecg", "emg", "eeg")
    assert back.meta["inferred_types"] == {
        "VEOG": "eog",
        "heog_l": "eog",
        "EKG": "ecg",
        "ECG2": "ecg",
        "EMG1": "emg",
    }
    assert nl.read(tmp_path / "x.edf", infer_types=False).channels.types == ("eeg",) * 7
    # FIF stores types: a channel its writer called eeg stays eeg, whatever its name.
    assert nl.read(nl.write(ts, tmp_path / "x_raw.fif")).channels.types == ("eeg",) * 7


def test_to_mne_of_an_mne_backed_view_is_lazy_and_exact(shared_data):
    ts = nl.read(shared_data / "eeg/formats/test.edf")
    view = ts.pick(["T3", "Fp1"]).frame_slice(256, 1280)
    raw = view.to_mne()
    assert not raw.preload
    assert raw.ch_names == ["T3", "Fp1"] and raw.n_times == 1024
    np.testing.assert_allclose(raw.get_data(), view.get_data(), rtol=1e-6)


def test_from_mne_wraps_without_loading(rng):
    mne = pytest.importorskip("mne")
    info = mne.create_info(["a", "b", "stim"], 100.0, ["eeg", "mag", "stim"])
    raw = mne.io.RawArray(rng.standard_normal((3, 500)), info, verbose="error")
    raw.info["bads"] = ["a"]
    ts = nl.from_mne(raw)
    assert isinstance(ts._data, MNERawArray)
    assert ts.channels.types == ("eeg", "meg", "misc")
    assert ts.channels.units == ("V", "T", "a.u.")
    assert ts.meta["bads"] == ["a"]
    np.testing.assert_allclose(ts.get_data(10, 20), raw.get_data(start=10, stop=20), rtol=1e-6)
    assert nl.to_mne(ts).info["bads"] == ["a"]


def test_to_mne_refuses_voltage_channels_without_units(rng):
    ts = TimeSeries(rng.standard_normal((2, 10)), 100.0, ChannelInfo(["a", "b"], "eeg", "a.u."))
    with pytest.raises(UnitsError, match="cannot be converted to volts"):
        ts.to_mne()


def test_truncated_edf_is_refused(tmp_path, shared_data):
    raw = (shared_data / "eeg/formats/test.edf").read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError, match="truncated"):
        nl.read(cut)
    (tmp_path / "tiny.edf").write_bytes(raw[:100])
    with pytest.raises(CorruptFileError):
        nl.read(tmp_path / "tiny.edf")
    (tmp_path / "garbage.fif").write_bytes(b"\x00" * 1000)
    with pytest.raises(CorruptFileError, match="Could not read"):
        nl.read(tmp_path / "garbage.fif")


def test_edf_refuses_nan_gaps_with_a_clear_message(tmp_path):
    from neurolint.core.errors import DataValueError
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(4, 10.0, 256.0, artifacts=["gap"], gap_fill="nan", seed=0)
    with pytest.raises(DataValueError, match="cannot store NaN"):
        nl.write(ts, tmp_path / "x.edf")
    assert not (tmp_path / "x.edf").exists()


def _lab_edf(path, rng):
    """An EDF+ file as an amplifier writes one: full patient and recording fields, and
    each signal's transducer and hardware filters."""
    import datetime as dt

    import edfio

    signals = [
        edfio.EdfSignal(
            rng.standard_normal(256 * 20) * 20.0,
            256,
            label=f"EEG {name}",
            transducer_type="AgAgCl cup",
            physical_dimension="uV",
            physical_range=(-500, 500),
            prefiltering="HP:0.5Hz LP:70Hz",
        )
        for name in ("Fz", "Cz", "Pz")
    ]
    edfio.Edf(
        signals,
        patient=edfio.Patient(
            code="MCH-0234567", sex="F", birthdate=dt.date(1951, 5, 2), name="Haagse_Harry",
            additional=["left-handed"],
        ),
        recording=edfio.Recording(
            startdate=dt.date(2002, 3, 2), hospital_administration_code="EMR99",
            investigator_technician_code="LK", equipment_code="AMP-1", additional=["ward_3"],
        ),
        starttime=dt.time(23, 59, 50),
    ).write(path)  # fmt: skip
    return path


def test_edf_from_edf_keeps_the_header_text_and_a_slice_starts_later(tmp_path, rng):
    import edfio

    from neurolint.core import TimeSeries

    src = edfio.read_edf(_lab_edf(tmp_path / "lab.edf", rng))
    ts = nl.read(tmp_path / "lab.edf")
    # A corrected copy: samples in memory, the source's metadata.
    copy = TimeSeries(ts.get_data(), ts.sampling_rate, ts.channels, meta=dict(ts.meta))
    copy.source = ts.source
    out = edfio.read_edf(nl.write(copy, tmp_path / "out.edf"))
    assert out.local_patient_identification == src.local_patient_identification
    assert out.local_recording_identification == src.local_recording_identification
    assert [(s.transducer_type, s.prefiltering) for s in out.signals] == [
        ("AgAgCl cup", "HP:0.5Hz LP:70Hz")
    ] * 3
    # 15 s in, past midnight: the start moves and the recording field (which holds the
    # old date) is written anew, with the new date.
    late = edfio.read_edf(nl.write(copy.time_slice(15.0), tmp_path / "late.edf"))
    assert (late.startdate.isoformat(), late.starttime.isoformat()) == ("2002-03-03", "00:00:05")
    assert late.local_patient_identification == src.local_patient_identification
