"""neurolint fix: writes the corrected file and its log, never touches or overwrites."""

import json

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.simulate import simulate_eeg


def test_fix_writes_output_log_and_residual(tmp_path, capsys):
    sim = simulate_eeg(
        16,
        30,
        256.0,
        artifacts=["gap", "line_noise"],
        rates={"gap": 4.0, "line_noise": 4.0},
        seed=4,
    )
    src = tmp_path / "rec_eeg.fif"
    nl.write(sim.data, src)
    before = src.read_bytes()
    out, res = tmp_path / "clean.fif", tmp_path / "removed.fif"
    assert main(["fix", str(src), "-o", str(out), "--residual", str(res), "--no-progress"]) == 0
    assert src.read_bytes() == before
    log = json.loads((tmp_path / "clean_correction.json").read_text())
    assert [s["name"] for s in log["steps"]] == [
        "gaps",
        "channels",
        "line_noise",
        "movement",
        "artifacts",
    ]
    fixed, removed = nl.read(out), nl.read(res)
    assert np.isfinite(fixed.get_data()).all()
    x = sim.data.get_data()
    ok = np.isfinite(x)
    np.testing.assert_allclose(
        (fixed.get_data() + removed.get_data())[ok], x[ok], atol=1e-3 * np.abs(x[ok]).max()
    )
    assert "Wrote" in capsys.readouterr().out


def test_fix_refuses_existing_outputs_and_the_input(tmp_path, capsys):
    sim = simulate_eeg(8, 10, 256.0, artifacts=None, seed=1)
    src = tmp_path / "rec.fif"
    nl.write(sim.data, src)
    out = tmp_path / "out.fif"
    out.write_text("keep me")
    assert main(["fix", str(src), "-o", str(out)]) == 2
    assert out.read_text() == "keep me"
    assert main(["fix", str(src), "-o", str(src), "--overwrite"]) == 2
    assert main(["fix", str(src), "-o", str(tmp_path / "x.fif"), "--steps", "magic"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "never overwrites its input" in err
    assert "Traceback" not in err


def test_fix_refuses_an_existing_binary_sidecar_before_any_work(tmp_path, capsys, monkeypatch):
    sim = simulate_eeg(8, 10, 256.0, artifacts=None, seed=1)
    src = tmp_path / "rec.fif"
    nl.write(sim.data, src)
    (tmp_path / "out.json").write_text("keep me")  # out.raw's sidecar
    ran = []
    monkeypatch.setattr("neurolint.assess.check", lambda *a, **k: ran.append(1))
    assert main(["fix", str(src), "-o", str(tmp_path / "out.raw")]) == 2
    assert not ran and not (tmp_path / "out.raw").exists()
    assert (tmp_path / "out.json").read_text() == "keep me"
    assert "out.json already exists" in capsys.readouterr().err


def test_fix_runs_its_check_on_the_cores_asked_for(tmp_path, capsys, monkeypatch):
    sim = simulate_eeg(8, 10, 256.0, artifacts=None, seed=1)
    src = tmp_path / "rec.fif"
    nl.write(sim.data, src)
    asked = []
    check = nl.check
    monkeypatch.setattr(
        "neurolint.assess.check", lambda *a, **k: asked.append(k["n_jobs"]) or check(*a, **k)
    )
    assert main(["fix", str(src), "-o", str(tmp_path / "a.fif"), "--jobs", "-1"]) == 0
    assert main(["fix", str(src), "-o", str(tmp_path / "b.fif")]) == 0
    assert asked == [-1, 1]
    assert main(["fix", str(src), "-o", str(tmp_path / "c.fif"), "--jobs", "0"]) == 2
    assert asked == [-1, 1] and not (tmp_path / "c.fif").exists()
    assert "n_jobs=0" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["out.edf", "out.bin", "out.nwb"])
def test_fix_writes_each_output_format_readable_back(tmp_path, name):
    sim = simulate_eeg(8, 12, 256.0, artifacts=["line_noise"], seed=3)
    src = tmp_path / "rec.fif"
    nl.write(sim.data, src)
    out = tmp_path / name
    assert main(["fix", str(src), "-o", str(out), "--no-progress", "--steps", "line"]) == 0
    back = nl.read(out)
    assert back.ch_names == sim.data.ch_names and back.sampling_rate == 256.0
    assert back.n_samples == sim.data.n_samples
    ref = nl.fix(sim.data, steps=["line"])[0].get_data()
    # EDF stores 16-bit integers scaled to each channel's range: compare within that step.
    tol = 2e-3 if name.endswith(".edf") else 1e-5
    np.testing.assert_allclose(back.get_data(), ref, atol=tol * np.abs(ref).max())


def test_fix_cleans_the_artifact_kinds_asked_for(tmp_path, capsys):
    sim = simulate_eeg(16, 30, 256.0, artifacts=["blink"], rates={"blink": 10.0}, seed=5)
    src = tmp_path / "rec_eeg.fif"
    nl.write(sim.data, src)
    args = ["fix", str(src), "--steps", "artifacts", "--no-progress"]
    assert main([*args, "-o", str(tmp_path / "a.fif")]) == 0
    log = json.loads((tmp_path / "a_correction.json").read_text())
    assert log["steps"][0]["parameters"]["kinds"] == ["blink", "saccade", "muscle", "movement"]
    assert main([*args, "-o", str(tmp_path / "b.fif"), "--artifact-kinds", "muscle,ecg"]) == 0
    log = json.loads((tmp_path / "b_correction.json").read_text())
    assert log["steps"][0]["parameters"]["kinds"] == ["muscle", "ecg"]
    assert log["steps"][0]["parameters"]["not_covered"].get("blink", 0) >= 1
    # A kind the remover does not clean: a one-line error and exit status 2.
    assert main([*args, "-o", str(tmp_path / "c.fif"), "--artifact-kinds", "pop"]) == 2
    assert "not trained for" in capsys.readouterr().err
    assert not (tmp_path / "c.fif").exists()


def test_the_movement_step_alone_gets_an_assessment(tmp_path):
    sim = simulate_eeg(16, 60, 256.0, artifacts=["movement"], rates={"movement": 6.0}, seed=6)
    src = tmp_path / "rec_eeg.fif"
    nl.write(sim.data, src)
    out = tmp_path / "m.fif"
    assert main(["fix", str(src), "-o", str(out), "--steps", "movement", "--no-progress"]) == 0
    step = json.loads((tmp_path / "m_correction.json").read_text())["steps"][0]
    assert step["name"] == "movement" and step["skipped"] is None and step["regions"]


def test_an_integer_probe_with_nothing_to_fix_comes_back_byte_for_byte(tmp_path):
    from neurolint.simulate import simulate_ephys

    rec = simulate_ephys("linear32", 3.0, artifacts=None, seed=2).data
    src = nl.write(rec, tmp_path / "probe.raw", dtype="int16")
    out = tmp_path / "fixed.raw"
    assert main(["fix", str(src), "-o", str(out), "--no-progress"]) == 0
    log = json.loads((tmp_path / "fixed_correction.json").read_text())
    assert all(s["skipped"] for s in log["steps"])
    assert out.read_bytes() == src.read_bytes()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["gain"] == json.loads(src.with_suffix(".json").read_text())["gain"]


def test_fix_of_a_movie_says_to_check_it_instead(tmp_path, capsys):
    import numpy as np
    import tifffile

    src = tmp_path / "movie.tif"
    tifffile.imwrite(src, np.arange(20 * 64, dtype=np.uint16).reshape(20, 8, 8))
    args = ["fix", str(src), "-o", str(tmp_path / "out.fif"), "--option", "frame_rate=10"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "an imaging movie" in err and "neurolint check" in err
    assert not (tmp_path / "out.fif").exists()


def test_fix_passes_reader_options_to_a_headerless_binary(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    (rng.standard_normal((2560, 4)) * 200).astype(np.int16).tofile(tmp_path / "x.dat")
    opts = ["--option", "dtype=int16", "--option", "n_channels=4", "--option", "sampling_rate=256"]
    out = tmp_path / "out.fif"
    assert main(["fix", str(tmp_path / "x.dat"), "-o", str(out), "--steps", "gaps", *opts]) == 0
    src = nl.read(tmp_path / "x.dat", dtype="int16", n_channels=4, sampling_rate=256)
    np.testing.assert_allclose(nl.read(out).get_data(), src.get_data(), rtol=1e-6)


def test_fix_refuses_units_its_output_cannot_hold_before_any_work(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    eeg = nl.ChannelInfo(["a", "b", "c"], types="eeg", units="a.u.")  # as test.xdf reads
    ts = nl.TimeSeries(rng.standard_normal((3, 2560)).astype(np.float32), 256.0, eeg)
    src = tmp_path / "au.h5"
    nl.write(ts, src)
    for ext in ("edf", "fif"):
        assert main(["fix", str(src), "-o", str(tmp_path / f"out.{ext}")]) == 2
        err = capsys.readouterr()
        assert err.out == ""  # no step ran: refused before the check
        assert err.err.count("\n") == 1 and "(.raw), NWB (.nwb) or HDF5 (.h5)" in err.err
    assert main(["fix", str(src), "-o", str(tmp_path / "out.nwb"), "--steps", "gaps"]) == 0
