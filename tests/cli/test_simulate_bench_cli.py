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


@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("ephys", ["--duration", "0.5", "-p", "probe=tetrode"]),
        ("spikes", ["--duration", "2"]),
        ("calcium", ["-p", "n_frames=20", "-p", "shape=[32,32]", "-p", "n_cells=4"]),
        ("fmri", ["-p", "n_volumes=12", "-p", "shape=[16,16,10]", "-p", "n_regions=1"]),
        ("lfp", ["--duration", "5", "-p", "gap_durations=[0.2]"]),
    ],
)
def test_every_simulator_writes_readable_data_and_truth(kind, args, tmp_path):
    import neurolint as nl
    from neurolint.simulate import GroundTruth
    from neurolint.simulate.registry import get_simulator

    assert main(["simulate", kind, "--seed", "1", "--out", str(tmp_path), *args]) == 0
    data = tmp_path / f"sim-{kind}-seed1{get_simulator(kind).extension}"
    series = nl.read(data)
    assert series.n_times > 0
    truth = GroundTruth.load(tmp_path / f"sim-{kind}-seed1_truth.json")
    assert truth.simulator == kind and truth.params["seed"] == 1


def test_semisynthetic_from_a_real_recording(shared_data, tmp_path):
    source = shared_data / "eeg" / "eeglab_data.set"
    out = tmp_path / "mix.h5"
    assert main(["simulate", "semisynthetic", "--source", str(source), "--out", str(out)]) == 0
    from neurolint.simulate import EpochDataset

    dataset = EpochDataset.load(out)
    assert dataset.train.noisy.shape[1] == 512 and len(dataset.test.noisy) > 0
