"""BrainVision output: what MNE reads back, markers with channels, streaming, no clobbering."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.core import ChannelInfo, OutputExistsError, TimeSeries

mne = pytest.importorskip("mne")

SF = 256.0
MARKS = [
    {"onset": 1.0, "duration": 1 / SF, "description": "Stimulus/S  1", "ch_names": []},
    {"onset": 2.5, "duration": 0.5, "description": "BAD_pop, big", "ch_names": ["Cz", "Fz"]},
    {"onset": 4.0, "duration": 1.0, "description": "eyes closed", "ch_names": []},
]


@pytest.fixture
def ts(rng):
    data = (rng.standard_normal((4, 2560)) * 1e-5).astype(np.float32)
    data[3] = np.repeat([0.0, 1.0], 1280)  # a trigger channel, in its own unit
    data[0, 100:110] = np.nan  # a gap stays a gap
    info = ChannelInfo(["Fz", "Cz", "EOG1", "Trig"], ["eeg", "eeg", "eog", "misc"],
                       ["V", "V", "V", "a.u."])  # fmt: skip
    meta = {"meas_date": "2024-03-01T12:00:00+00:00", "annotations": MARKS}
    return TimeSeries(data, SF, info, meta=meta)


def test_mne_reads_the_samples_units_date_and_markers(ts, tmp_path):
    path = nl.write(ts, tmp_path / "x.vhdr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.eeg", "x.vhdr", "x.vmrk"]
    raw = mne.io.read_raw_brainvision(path, verbose="error")
    np.testing.assert_allclose(raw.get_data(), ts.get_data(), rtol=1e-6, equal_nan=True)
    assert raw.ch_names == ts.ch_names and raw.info["sfreq"] == SF
    assert raw._orig_units == {"Fz": "µV", "Cz": "µV", "EOG1": "µV", "Trig": "n/a"}
    assert raw.info["meas_date"].isoformat() == "2024-03-01T12:00:00+00:00"
    assert list(raw.annotations.description) == [
        "Stimulus/S  1",
        "Comment/BAD_pop, big",  # one marker per channel; MNE ignores the channel
        "Comment/BAD_pop, big",
        "Comment/eyes closed",
    ]


def test_neurolint_reads_its_own_file_back_as_it_was(ts, tmp_path):
    back = nl.read(nl.write(ts, tmp_path / "x.vhdr"))
    assert back.meta["format"] == "brainvision"
    assert back.meta["annotations"] == MARKS
    assert back.channels.types == ("eeg", "eeg", "eog", "misc")  # EOG1 by its name
    assert back.channels.units == ("V", "V", "V", "a.u.")
    np.testing.assert_allclose(back.get_data(), ts.get_data(), rtol=1e-6, equal_nan=True)


def test_a_slice_is_dated_at_its_first_sample_with_markers_on_its_clock(ts, tmp_path):
    back = nl.read(nl.write(ts.time_slice(2.0, 8.0), tmp_path / "x.vhdr"))
    assert back.meta["meas_date"].startswith("2024-03-01T12:00:02")
    assert [(a["onset"], a["description"]) for a in back.meta["annotations"]] == [
        (0.5, "BAD_pop, big"),
        (2.0, "eyes closed"),
    ]


def test_a_third_partys_markers_with_channel_numbers_keep_their_channels(ts, tmp_path):
    path = nl.write(ts, tmp_path / "x.vhdr")
    for name in ("x.vhdr", "x.vmrk"):  # as a recorder wrote them: not ours
        file = tmp_path / name
        file.write_text(file.read_text(encoding="utf-8").replace("; Written by neurolint\n", ""))
    got = nl.read(path).meta["annotations"]
    assert [(a["description"], a["ch_names"]) for a in got] == [
        ("Stimulus/S  1", []),
        ("Comment/BAD_pop, big", ["Cz", "Fz"]),
        ("Comment/eyes closed", []),
    ]


def test_the_writer_streams_and_refuses_any_existing_companion(ts, tmp_path, read_lengths):
    nl.write(ts, tmp_path / "x.vhdr", chunk_duration=2.0)
    assert max(read_lengths) <= 2 * SF  # two seconds at a time, never the whole recording
    (tmp_path / "y.eeg").write_bytes(b"someone else's")
    with pytest.raises(OutputExistsError, match=r"y\.eeg"):
        nl.write(ts, tmp_path / "y.vhdr")
    assert not (tmp_path / "y.vhdr").exists() and not (tmp_path / "y.vmrk").exists()


def test_fix_writes_brainvision_and_refuses_a_companion_before_any_work(ts, tmp_path, capsys):
    src = nl.write(ts, tmp_path / "in.vhdr")
    assert main(["fix", str(src), "-o", str(tmp_path / "out.vhdr"), "--no-progress"]) == 0
    assert nl.read(tmp_path / "out.vhdr").meta["annotations"] == MARKS
    (tmp_path / "again.vmrk").write_text("")
    assert main(["fix", str(src), "-o", str(tmp_path / "again.vhdr"), "--no-progress"]) == 2
    assert "again.vmrk already exists" in capsys.readouterr().err
    assert not (tmp_path / "again_correction.json").exists()


def test_fix_never_writes_over_a_file_of_the_input_even_with_overwrite(ts, tmp_path, capsys):
    src = nl.write(ts, tmp_path / "rec.vhdr")  # its samples are rec.eeg
    before = (tmp_path / "rec.eeg").read_bytes()
    # rec.vhdr's data file is the companion another name would write: refused.
    args = ["fix", str(src), "-o", str(tmp_path / "rec.vhdr"), "--overwrite", "--no-progress"]
    assert main(args) == 2
    header = tmp_path / "other.vhdr"
    header.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")  # names rec.eeg
    args = ["fix", str(header), "-o", str(tmp_path / "rec.vhdr"), "--overwrite", "--no-progress"]
    assert main(args) == 2
    assert "is part of the input (rec.vmrk)" in capsys.readouterr().err  # named by other
    assert (tmp_path / "rec.eeg").read_bytes() == before
