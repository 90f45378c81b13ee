"""QCResult hands results back as MNE annotations and bads, BIDS tables, a DataFrame, JSON."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.core.errors import OutputExistsError, ParameterError
from neurolint.core.findings import ChannelStatus, Finding, QCResult


@pytest.fixture
def qc():
    return QCResult(
        score=80.0,
        sampling_rate=256.0,
        duration=10.0,
        channels=[
            ChannelStatus("Fp1", "eeg"),
            ChannelStatus("<script>alert(1)</script>", "eeg", "bad", ("flat",), {"rms": 0.0}),
        ],
        events=[
            Finding(2.0, 0.5, "muscle", ("Fp1",), 0.7, "learned", {"model": "eeg-detector"}),
            Finding(
                1.0,
                0.3,
                "blink",
                (),
                0.9,
                "rules",
                {"feature": "frontal_z", "value": 9.0, "threshold": 5.0},
            ),
        ],
        source="/data/sub-01_task-rest_eeg.edf",
        meta={"units": ["V", "V"]},
        traces={"imaging": {"motion": np.zeros((3, 2), np.float32), "bleaching": 0.1}},
    )


def test_to_mne_gives_bad_annotations_with_channels_and_extras(qc):
    annotations, bads = qc.to_mne()
    assert list(annotations.description) == ["BAD_blink", "BAD_muscle"]
    assert annotations.ch_names[1] == ("Fp1",)
    assert annotations.extras[0] == {"confidence": 0.9, "detector": "rules"}
    assert bads == ["<script>alert(1)</script>"]


def test_to_bids_writes_events_and_channel_status(qc, tmp_path):
    events, channels = qc.to_bids(tmp_path)
    assert events.name == "sub-01_task-rest_events.tsv"
    rows = [line.split("\t") for line in channels.read_text().splitlines()]
    assert rows[0] == ["name", "type", "units", "status", "status_description"]
    assert rows[2] == ["<script>alert(1)</script>", "EEG", "V", "bad", "flat"]
    assert events.read_text().splitlines()[1].split("\t")[:3] == ["1", "0.3", "blink"]
    with pytest.raises(OutputExistsError):
        qc.to_bids(tmp_path)


def test_to_bids_keeps_the_datasets_own_channels_tsv_and_a_curators_bads(qc, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    qc.source = str(raw / "sub-01_task-rest_eeg.edf")
    qc.channels.append(ChannelStatus("Cz", "eeg"))
    qc.meta["units"].append("V")
    (raw / "sub-01_task-rest_channels.tsv").write_text(
        "name\ttype\tunits\tlow_cutoff\tdescription\tstatus\tstatus_description\n"
        "Fp1\tEEG\tµV\t0.1\tfrontal\tgood\tn/a\n"
        "<script>alert(1)</script>\tEEG\tµV\t0.1\tn/a\tbad\tloose\n"
        "Cz\tEEG\tµV\t0.1\tvertex\tbad\tbridged by gel\n"
        "STI\tTRIG\tn/a\tn/a\ttrigger\tn/a\tn/a\n",
        encoding="utf-8",
    )
    (tmp_path / "derivatives").mkdir()
    _, channels = qc.to_bids(tmp_path / "derivatives")
    rows = [line.split("\t") for line in channels.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        ["name", "type", "units", "low_cutoff", "description", "status", "status_description"],
        ["Fp1", "EEG", "µV", "0.1", "frontal", "good", "n/a"],
        ["<script>alert(1)</script>", "EEG", "µV", "0.1", "n/a", "bad", "loose; flat"],
        ["Cz", "EEG", "µV", "0.1", "vertex", "bad", "bridged by gel"],  # the curator's call
        ["STI", "TRIG", "n/a", "n/a", "trigger", "n/a", "n/a"],  # not judged
    ]


def test_to_dataframe_lists_events_in_time_order(qc):
    frame = qc.to_dataframe()
    assert list(frame["kind"]) == ["blink", "muscle"]
    assert list(frame.columns) == [
        "onset",
        "duration",
        "kind",
        "channels",
        "confidence",
        "detector",
    ]


def test_json_round_trip_keeps_traces(qc):
    back = QCResult.from_json(qc.to_json())
    assert back.traces["imaging"]["motion"].shape == (3, 2)
    assert back.traces["imaging"]["bleaching"] == 0.1
    assert back.events == qc.events and back.bad_channels == qc.bad_channels


def test_explain_a_rule_finding_gives_feature_value_threshold(qc):
    qc_sorted = QCResult.from_json(qc.to_json())
    index = next(i for i, e in enumerate(qc_sorted.events) if e.detector == "rules")
    why = qc_sorted.explain(index)
    assert (why["feature"], why["value"], why["threshold"]) == ("frontal_z", 9.0, 5.0)
    learned = next(i for i, e in enumerate(qc_sorted.events) if e.detector == "learned")
    assert qc_sorted.explain(learned)["attribution"] is None  # no data given
    with pytest.raises(ParameterError, match="out of range"):
        qc_sorted.explain(5)


def test_channels_tsv_names_magnetometers_and_gradiometers_apart(tmp_path):
    from neurolint.core import ChannelInfo
    from neurolint.io.bids import write_channels_tsv

    info = ChannelInfo(["MEG0111", "MEG0112"], "meg", ["T", "T/m"])
    path = write_channels_tsv(info, (), tmp_path / "x_channels.tsv")
    assert [r.split("\t")[1] for r in path.read_text().splitlines()[1:]] == [
        "MEGMAG",
        "MEGGRADPLANAR",
    ]


def test_a_channels_tsv_that_cannot_be_merged_gives_neurolints_own(qc, tmp_path, caplog):
    qc.source = str(tmp_path / "sub-01_task-rest_eeg.edf")
    (tmp_path / "sub-01_task-rest_channels.tsv").write_bytes(b"label\tkind\nFp1\t\xe9EG\n")
    (tmp_path / "out").mkdir()
    with caplog.at_level("WARNING", logger="neurolint"):
        _, channels = qc.to_bids(tmp_path / "out")
    assert "not merged" in caplog.text
    assert channels.read_text().splitlines()[0].split("\t")[0] == "name"
