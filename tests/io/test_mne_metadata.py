"""A series read through MNE and then changed (corrected, copied) is written back with
everything its ``Info`` held and on the recording's own sample clock."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.core import ChannelInfo, TimeSeries

mne = pytest.importorskip("mne")

FIRST = 1234


@pytest.fixture
def meg_eeg_fif(tmp_path, rng):
    """A FIF holding what neurolint has no field for: filters, line frequency, subject and
    device, fiducials and head shape, MEG coil orientations and head transform, a stim
    channel, a first sample that is not 0, and annotations."""
    sf, n = 500.0, 20000
    names = ["Fz", "Cz", "Pz", "C3", "C4", "MEG0111", "MEG0112", "STI 014"]
    info = mne.create_info(names, sf, ["eeg"] * 5 + ["mag", "grad", "stim"])
    pos = {n: (rng.random(3) - 0.5) * 0.1 for n in names[:5]}
    info.set_montage(
        mne.channels.make_dig_montage(
            ch_pos=pos,
            nasion=[0, 0.1, 0],
            lpa=[-0.08, 0, 0],
            rpa=[0.08, 0, 0],
            hsp=rng.normal(0, 0.05, (12, 3)),
            coord_frame="head",
        )
    )
    with info._unlock():
        info["highpass"], info["lowpass"], info["line_freq"] = 0.1, 100.0, 50.0
        info["subject_info"] = {"his_id": "sub01", "sex": 2, "birthday": dt.date(1990, 1, 2)}
        info["device_info"] = {"type": "testamp"}
        trans = np.eye(4)
        trans[:3, 3] = [0.01, 0.02, 0.03]
        info["dev_head_t"] = mne.transforms.Transform("meg", "head", trans)
        for ch in info["chs"][5:7]:
            ch["loc"][:] = np.arange(12) * 0.01 + 0.1
    scale = np.array([1e-5] * 5 + [1e-12, 1e-11, 1.0])[:, None]
    data = rng.standard_normal((8, n)) * scale
    data[7] = 0
    data[7, ::1000] = 5
    raw = mne.io.RawArray(data, info, first_samp=FIRST, verbose="error")
    raw.set_meas_date(dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc))
    # Without orig_time MNE counts onsets from the first sample: 5 s and 20 s into the data.
    raw.set_annotations(mne.Annotations([5.0, 20.0], [1.0, 0.0], ["BAD_x", "stim"]))
    path = tmp_path / "in_raw.fif"
    raw.save(path, verbose="error")
    return path


def _copy(ts: TimeSeries) -> TimeSeries:
    """The series' samples in memory with its metadata, as a correction hands them on."""
    return TimeSeries(ts.get_data(), ts.sampling_rate, ts.channels, meta=dict(ts.meta))


def _same_info(a, b) -> None:
    for key in ("highpass", "lowpass", "line_freq", "subject_info", "device_info", "meas_date"):
        assert a.info[key] == b.info[key], key
    np.testing.assert_allclose(a.info["dev_head_t"]["trans"], b.info["dev_head_t"]["trans"])
    assert len(a.info["dig"]) == len(b.info["dig"])
    for ca, cb in zip(a.info["chs"], b.info["chs"], strict=True):
        assert (ca["ch_name"], ca["kind"], ca["coil_type"]) == (
            cb["ch_name"],
            cb["kind"],
            cb["coil_type"],
        )
        np.testing.assert_allclose(ca["loc"], cb["loc"], equal_nan=True)


def test_a_copy_written_to_fif_keeps_the_info_clock_and_annotations(meg_eeg_fif, tmp_path):
    original = mne.io.read_raw(meg_eeg_fif, verbose="error")
    out = nl.write(_copy(nl.read(meg_eeg_fif)), tmp_path / "out_raw.fif")
    back = mne.io.read_raw(out, verbose="error")
    _same_info(original, back)
    assert back.first_samp == FIRST
    np.testing.assert_allclose(back.annotations.onset, original.annotations.onset)
    np.testing.assert_allclose(back.get_data(), original.get_data(), rtol=1e-6, atol=1e-20)


def test_a_slice_is_written_as_mnes_crop_of_the_original(meg_eeg_fif, tmp_path):
    original = mne.io.read_raw(meg_eeg_fif, verbose="error").crop(4.0, 30.0, include_tmax=False)
    view = _copy(nl.read(meg_eeg_fif).time_slice(4.0, 30.0))
    back = mne.io.read_raw(nl.write(view, tmp_path / "cut_raw.fif"), verbose="error")
    assert back.first_samp == original.first_samp == FIRST + 2000
    np.testing.assert_allclose(back.annotations.onset, original.annotations.onset)
    np.testing.assert_allclose(back.annotations.duration, original.annotations.duration)


def test_fix_keeps_the_info_of_its_input_in_output_and_residual(meg_eeg_fif, tmp_path, capsys):
    out, res = tmp_path / "fixed_raw.fif", tmp_path / "removed_raw.fif"
    args = ["fix", str(meg_eeg_fif), "-o", str(out), "--residual", str(res), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    original = mne.io.read_raw(meg_eeg_fif, verbose="error")
    for path in (out, res):
        back = mne.io.read_raw(path, verbose="error")
        _same_info(original, back)
        assert back.first_samp == FIRST
    fixed, removed = (mne.io.read_raw(p, verbose="error") for p in (out, res))
    np.testing.assert_allclose(
        fixed.get_data() + removed.get_data(), original.get_data(), rtol=1e-5, atol=1e-9
    )


def test_a_series_whose_channels_changed_gets_an_info_of_its_own(meg_eeg_fif, tmp_path):
    ts = nl.read(meg_eeg_fif).pick(["Fz", "Cz", "Pz"])
    moved = ts.channels.positions + 0.01
    changed = TimeSeries(
        ts.get_data(),
        ts.sampling_rate,
        ChannelInfo(ts.ch_names, ts.channels.types, ts.channels.units, moved),
        meta=dict(ts.meta),
    )
    back = nl.read(nl.write(changed, tmp_path / "moved_raw.fif"))
    np.testing.assert_allclose(back.channels.positions, moved, rtol=1e-6)
    assert back.meta["annotations"] == ts.meta["annotations"]


def test_the_sample_clock_survives_a_trip_through_nwb(meg_eeg_fif, tmp_path):
    ts = nl.read(meg_eeg_fif).pick(["Fz", "Cz", "Pz"]).time_slice(2.0, 30.0)
    via = nl.read(nl.write(_copy(ts), tmp_path / "via.nwb"))
    assert via.meta["starting_time"] == (FIRST + 1000) / 500.0
    back = mne.io.read_raw(nl.write(via, tmp_path / "back_raw.fif"), verbose="error")
    assert back.first_samp == FIRST + 1000
    assert [a["onset"] for a in via.meta["annotations"]] == [3.0, 18.0]
    np.testing.assert_allclose(back.annotations.onset - back.first_time, [3.0, 18.0])
