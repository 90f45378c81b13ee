"""A recording's own annotations travel with it: read, sliced, corrected and written back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.core import ChannelInfo, TimeSeries

MARKS = [
    {"onset": 5.0, "duration": 2.0, "description": "BAD_manual", "ch_names": []},
    {"onset": 20.5, "duration": 0.0, "description": "stim/1", "ch_names": []},
    {"onset": 30.0, "duration": 1.0, "description": "BAD_pop", "ch_names": ["C3"]},
]


@pytest.fixture
def marked(rng):
    data = (rng.standard_normal((4, 256 * 40)) * 1e-5).astype(np.float32)
    info = ChannelInfo(["Fz", "Cz", "C3", "C4"], "eeg", "V")
    meta = {"annotations": MARKS, "meas_date": "2024-03-01T12:00:00+00:00", "bads": ["C4"]}
    return TimeSeries(data, 256.0, info, meta=meta)


def test_a_time_slice_moves_cuts_and_drops_annotations_as_mnes_crop_does(marked):
    view = marked.time_slice(6.0, 30.5)
    assert view.meta["annotations"] == [
        {"onset": 0.0, "duration": 1.0, "description": "BAD_manual", "ch_names": []},
        {"onset": 14.5, "duration": 0.0, "description": "stim/1", "ch_names": []},
        {"onset": 24.0, "duration": 0.5, "description": "BAD_pop", "ch_names": ["C3"]},
    ]
    assert view.time_slice(15.0).meta["annotations"] == [
        {"onset": 9.0, "duration": 0.5, "description": "BAD_pop", "ch_names": ["C3"]}
    ]
    assert marked.meta["annotations"] == MARKS  # the series sliced is unchanged


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf", "x.bdf", "x.nwb", "x.raw"])
def test_every_writer_that_can_hold_annotations_gives_them_back(tmp_path, marked, name):
    back = nl.read(nl.write(marked, tmp_path / name))
    assert back.meta["annotations"] == MARKS
    assert dt.datetime.fromisoformat(back.meta["meas_date"]) == dt.datetime(
        2024, 3, 1, 12, tzinfo=dt.timezone.utc
    )


def test_annotations_of_channels_left_out_are_not_written(tmp_path, marked):
    back = nl.read(nl.write(marked.pick(["Fz", "Cz"]), tmp_path / "x_raw.fif"))
    assert [a["description"] for a in back.meta["annotations"]] == ["BAD_manual", "stim/1"]


def test_an_mne_raw_hands_its_annotations_over_and_gets_them_back(marked):
    mne = pytest.importorskip("mne")
    raw = marked.to_mne()
    assert list(raw.annotations.description) == ["BAD_manual", "stim/1", "BAD_pop"]
    assert raw.annotations.ch_names[2] == ("C3",)
    raw.crop(10.0, None)
    # With a start date MNE counts onsets from it: 3 s into the cropped raw, and 1 s
    # before it (outside the data, so not kept).
    raw.annotations.append([raw.first_time + 3.0, raw.first_time - 1.0], 0.5, "BAD_late")
    assert isinstance(raw.annotations, mne.Annotations)
    got = nl.from_mne(raw).meta["annotations"]
    assert [(a["onset"], a["description"]) for a in got] == [
        (3.0, "BAD_late"),
        (10.5, "stim/1"),
        (20.0, "BAD_pop"),
    ]


def test_fix_keeps_the_inputs_annotations_bads_and_start_date(tmp_path, marked, capsys):
    src = nl.write(marked, tmp_path / "in_raw.fif")
    for out in ("out_raw.fif", "out.edf"):
        assert main(["fix", str(src), "-o", str(tmp_path / out)]) == 0
        back = nl.read(tmp_path / out)
        assert back.meta["annotations"] == MARKS, out
        assert back.meta["meas_date"].startswith("2024-03-01T12:00:00"), out
    assert nl.read(tmp_path / "out_raw.fif").meta["bads"] == ["C4"]
    capsys.readouterr()


def test_a_foreign_sidecar_with_malformed_annotations_is_refused(tmp_path, marked):
    path = nl.write(marked, tmp_path / "x.raw")
    side = path.with_suffix(".json")
    side.write_text(side.read_text().replace('"onset"', '"start"'))
    with pytest.raises(nl.NeurolintError, match="malformed bads, meas_date or annotations"):
        nl.read(path)


def test_nwb_and_binary_hold_annotations_none_of_which_names_a_channel(tmp_path, marked):
    marked.meta["annotations"] = MARKS[:2]
    for name in ("x.nwb", "x.raw"):
        assert nl.read(nl.write(marked, tmp_path / name)).meta["annotations"] == MARKS[:2]


def test_a_sidecar_whose_bads_are_not_a_list_is_refused(tmp_path, marked):
    path = nl.write(marked, tmp_path / "x.raw")
    side = path.with_suffix(".json")
    side.write_text(side.read_text().replace('"bads": [\n    "C4"\n  ]', '"bads": "C4"'))
    assert '"bads": "C4"' in side.read_text()
    with pytest.raises(nl.NeurolintError, match="malformed bads"):
        nl.read(path)
