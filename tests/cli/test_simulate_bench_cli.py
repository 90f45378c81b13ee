"""``neurolint simulate`` and ``neurolint bench``: files written, tables printed, bad input."""

from __future__ import annotations

import json

import pytest

from neurolint.cli.main import main


def test_simulate_eeg_writes_data_clean_and_truth(tmp_path, capsys):
    out = tmp_path / "sub-01_eeg.fif"
    code = main(
        [
            "simulate",
            "eeg",
            "--seed",
            "2",
            "--duration",
            "20",
            "--n-channels",
            "16",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Events:" in text and "Bad channels:" in text
    for name in (
        "sub-01_eeg.fif",
        "sub-01_eeg_clean.fif",
        "sub-01_truth.json",
        "sub-01_events.tsv",
        "sub-01_channels.tsv",
    ):
        assert (tmp_path / name).is_file()
    truth = json.loads((tmp_path / "sub-01_truth.json").read_text())
    assert truth["params"]["seed"] == 2 and truth["params"]["n_channels"] == 16


def test_simulate_refuses_to_overwrite_and_names_the_flag(tmp_path, capsys):
    args = ["simulate", "eeg", "--duration", "10", "--n-channels", "4", "--out", str(tmp_path)]
    assert main(args) == 0
    assert (tmp_path / "sim-eeg-seed0.fif").is_file()
    capsys.readouterr()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "sneeze"], "Unknown simulator"),
        (["simulate", "eeg", "--source", "x.set"], "takes no source"),
        (["simulate", "eeg", "-p", "alpha"], "KEY=VALUE"),
        (["simulate", "eeg", "--sampling-rate", "20"], "at least 100 Hz"),
        (["simulate", "semisynthetic"], "--source"),
        (["bench", "nope"], "neurolint bench list"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path / "o")] if args[0] == "bench" else args) == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("neurolint: error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err


def test_bench_list(capsys):
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert "detect" in out and "simulate" in out


def test_bench_detect_quick_writes_a_table(tmp_path, capsys):
    assert main(["bench", "detect", "--quick", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "detect_quick.md").read_text()
    for method in ("mne.annotate_amplitude", "mne.annotate_muscle_zscore", "pyprep.NoisyChannels"):
        assert f"| {method} | peer |" in table
    data = json.loads((tmp_path / "detect_quick.json").read_text())
    rows = {r["method"]: r for r in data["rows"]}
    assert rows["pyprep.NoisyChannels"]["error"] is None
    assert rows["pyprep.NoisyChannels"]["metrics"]["ch_R"] is not None
    assert all(r["wall_s"] is not None for r in data["rows"])
    assert main(["bench", "detect", "--quick", "--out", str(tmp_path)]) == 2


def test_bench_simulate_quick_times_every_simulator(tmp_path):
    assert main(["bench", "simulate", "--quick", "--out", str(tmp_path)]) == 0
    rows = {
        r["method"]: r for r in json.loads((tmp_path / "simulate_quick.json").read_text())["rows"]
    }
    for name in ("eeg", "ephys", "spikes", "calcium", "fmri", "lfp"):
        assert rows[name]["error"] is None, rows[name]["error"]
        assert rows[name]["metrics"]["x_realtime"] > 0
    assert rows["spikeinterface.generate_ground_truth_recording"]["kind"] == "peer"
