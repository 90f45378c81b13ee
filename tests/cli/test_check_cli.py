"""``neurolint check``: summary, QC files, refusal to overwrite, bad input."""

from __future__ import annotations

import json

import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.simulate import simulate_eeg


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    data, truth = simulate_eeg(16, 30.0, 256.0, artifacts=["blink", "flat", "gap"], seed=3)
    return nl.write(data, folder / "sub-01_eeg.fif"), truth


def test_check_prints_a_summary_and_writes_qc_files(recording, tmp_path, capsys):
    path, truth = recording
    assert main(["check", str(path), "--out", str(tmp_path), "--detectors", "rules"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Score: ")
    for name in truth.bad_channels:
        assert name in text
    qc = json.loads((tmp_path / "sub-01_qc.json").read_text())
    assert qc["schema_version"].startswith("1.")
    assert {"score", "sampling_rate", "duration", "channels", "events"} <= set(qc)
    assert {c["name"] for c in qc["channels"] if c["status"] == "bad"} == set(truth.bad_channels)
    assert any(e["kind"] == "gap" for e in qc["events"])
    assert (tmp_path / "sub-01_events.tsv").is_file()
    assert (tmp_path / "sub-01_channels.tsv").is_file()
    assert main(["check", str(path), "--out", str(tmp_path), "--detectors", "rules"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_check_json_output(recording, tmp_path, capsys):
    path, _ = recording
    args = ["check", str(path), "--out", str(tmp_path), "--json", "--detectors", "rules"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["duration"] == pytest.approx(30.0)


def test_check_on_every_core_finds_what_one_core_finds(recording, tmp_path, capsys):
    path, _ = recording
    for jobs, folder in (("1", tmp_path / "one"), ("-1", tmp_path / "all")):
        assert main(["check", str(path), "--out", str(folder), "--jobs", jobs]) == 0
    one, every = (json.loads((tmp_path / f / "sub-01_qc.json").read_text()) for f in ("one", "all"))
    assert one["events"] == every["events"] and one["channels"] == every["channels"]
    capsys.readouterr()
    assert main(["check", str(path), "--out", str(tmp_path / "zero"), "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "n_jobs" in err and "Traceback" not in err
    assert not (tmp_path / "zero").exists()


def test_check_of_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.edf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurolint: error:") and "Traceback" not in err


def test_models_lists_the_shipped_detector(capsys):
    assert main(["models"]) == 0
    assert "eeg-detector" in capsys.readouterr().out


def test_finetuning_needs_data_and_labels(tmp_path, capsys):
    assert (
        main(["train", "detector", "--labels", str(tmp_path / "x.tsv"), "--out", str(tmp_path)])
        == 2
    )
    assert "--data" in capsys.readouterr().err


def test_a_recording_below_the_learned_detectors_rate_is_checked_without_it(tmp_path, capsys):
    """64 Hz EEG: the default check runs the rules and the anomaly models, and says (in the
    summary and the JSON's meta) that the learned detector did not run and why; asking for
    the learned detector by name is still refused with what to do."""
    from scipy.signal import resample_poly

    data, _ = simulate_eeg(8, 40.0, 256.0, artifacts=["blink", "flat"], seed=2)
    slow = resample_poly(data.get_data(), 1, 4, axis=1).astype("float32")
    path = nl.write(nl.TimeSeries(slow, 64.0, data.channels), tmp_path / "sub-02_eeg.fif")
    assert main(["check", str(path), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Not run: learned (sampling_rate=64 Hz is below the learned detector's minimum" in text
    qc = json.loads((tmp_path / "sub-02_qc.json").read_text())
    assert qc["meta"]["detectors"] == ["rules", "anomaly"]
    assert set(qc["meta"]["not_run"]) == {"learned"}
    assert main(["check", str(path), "--out", str(tmp_path / "b"), "--detectors", "learned"]) == 2
    assert "resample the recording or use the rule-based detectors" in capsys.readouterr().err


def test_the_files_own_bad_marks_are_shown_beside_the_verdicts(tmp_path, capsys):
    data, truth = simulate_eeg(16, 30.0, 256.0, artifacts=["flat"], seed=3)
    found = truth.bad_channels[0]
    clean = next(n for n in data.ch_names if n not in truth.bad_channels)
    data.meta["bads"] = [found, clean]  # a curator's marks, one the check agrees with
    path = nl.write(data, tmp_path / "sub-03_eeg.fif")
    assert main(["check", str(path), "--out", str(tmp_path), "--detectors", "rules"]) == 0
    text = capsys.readouterr().out
    assert f"Marked bad in the file: {found} (found bad too), {clean} (not found bad)" in text
    qc = json.loads((tmp_path / "sub-03_qc.json").read_text())
    assert qc["meta"]["file_bads"] == [found, clean]
    verdicts = {c["name"]: c["status"] for c in qc["channels"]}
    assert verdicts[clean] == "good"  # the verdicts stay the detectors' own
