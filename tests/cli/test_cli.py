"""The command line: info, demo, formats; bad input exits 2 with one line and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "neurolint", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_the_verbs():
    out = run("--help")
    assert out.returncode == 0
    for verb in ("info", "demo", "formats"):
        assert verb in out.stdout


def test_info_json_describes_a_recording(tmp_path, small_ts, capsys):
    path = nl.write(small_ts, tmp_path / "x.fif")
    assert main(["info", str(path), "--json"]) == 0
    desc = json.loads(capsys.readouterr().out)
    assert desc["modality"] == "eeg"
    assert desc["shape"] == [4, 500]
    assert desc["sampling_rate"] == 250.0
    assert desc["duration"] == pytest.approx(2.0)
    assert [c["name"] for c in desc["channels"]] == small_ts.ch_names
    assert [c["type"] for c in desc["channels"]] == ["eeg", "eeg", "eog", "ecg"]
    assert desc["size_on_disk"] == path.stat().st_size
    assert desc["dtype"] == "float32"


def test_info_lists_the_files_bad_channels_and_annotations(tmp_path, small_ts, capsys):
    small_ts.meta["bads"] = ["Cz"]
    small_ts.meta["annotations"] = [
        {"onset": t, "duration": 0.0, "description": d, "ch_names": []}
        for t, d in ((0.1, "stim/1"), (0.5, "stim/2"), (0.9, "stim/1"))
    ]
    path = nl.write(small_ts, tmp_path / "x_raw.fif")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "bad channels:  Cz (as marked in the file)" in out
    assert "annotations:   3: stim/1 (2), stim/2 (1)" in out


def test_info_text_and_reader_options(tmp_path, capsys):
    np.arange(40, dtype=np.int16).tofile(tmp_path / "x.dat")
    code = main(["info", str(tmp_path / "x.dat"), "-o", "dtype=int16", "-o", "n_channels=4",
                 "-o", "sampling_rate=1000"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "4 x 10" in out and "1000 Hz" in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "missing.edf", "not found"),
        (lambda d: (d / "x.foo").write_text("x") and d / "x.foo", "Unknown file type"),
        (lambda d: (d / "cut.edf").write_bytes(b"0" * 300) and d / "cut.edf", ""),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, setup, message):
    path = setup(tmp_path)
    out = run("info", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurolint: error:")
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_debug_shows_the_traceback(tmp_path):
    out = run("--debug", "info", str(tmp_path / "missing.edf"))
    assert out.returncode == 2
    assert "Traceback" in out.stderr


def test_usage_errors_exit_2():
    assert run("info").returncode == 2
    assert run("no-such-verb").returncode == 2


def test_demo_checks_fixes_reports_and_scores_against_the_truth(tmp_path):
    folder = tmp_path / "demo"
    out = run("demo", "--out", str(folder), "--duration", "30")
    assert out.returncode == 0, out.stderr
    for name in ("demo_raw.fif", "demo_qc.json", "demo_corrected.fif", "demo_report.html"):
        assert (folder / name).is_file()
    assert "precision" in out.stdout and "recall" in out.stdout and "bad channels" in out.stdout
    assert str((folder / "demo_report.html").resolve()) in out.stdout
    again = run("demo", "--out", str(folder), "--duration", "30")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert run("demo", "--out", str(folder), "--duration", "30", "--overwrite").returncode == 0


def test_formats_lists_readers_and_writers(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert "edf" in out and "read/write" in out and "spikeglx" in out
