"""--report on check and fix, and 'neurolint report' rebuilding a report from saved results."""

import neurolint as nl
from neurolint.cli.main import main
from neurolint.simulate import simulate_eeg


def _recording(tmp_path):
    sim = simulate_eeg(8, 12, 256.0, seed=2)
    src = tmp_path / "rec_eeg.fif"
    nl.write(sim.data, src)
    return src


def test_check_and_fix_write_reports_that_name_their_command(tmp_path, capsys):
    src = _recording(tmp_path)
    one, two = tmp_path / "check.html", tmp_path / "fix.html"
    assert main(["check", str(src), "--out", str(tmp_path), "--report", str(one)]) == 0
    assert main(["fix", str(src), "-o", str(tmp_path / "out.fif"), "--report", str(two)]) == 0
    page = one.read_text()
    assert f"neurolint check {src} --out {tmp_path} --report {one}" in page
    assert "rec_eeg.fif" in page and '<section id="spectra">' in page
    assert '<section id="correction">' in two.read_text()


def test_report_rebuilds_from_saved_results_and_refuses_to_overwrite(tmp_path, capsys):
    src = _recording(tmp_path)
    out = tmp_path / "out.fif"
    assert main(["check", str(src), "--out", str(tmp_path)]) == 0
    assert main(["fix", str(src), "-o", str(out), "--qc", str(tmp_path / "rec_qc.json")]) == 0
    args = ["report", str(tmp_path / "rec_qc.json"), "--data", str(src), "--corrected", str(out)]
    args += ["--log", str(tmp_path / "out_correction.json")]
    assert main(args) == 0
    page = (tmp_path / "rec_report.html").read_text()
    assert '<section id="examples">' in page and '<section id="correction">' in page
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing_qc.json")]) == 2


def test_a_report_of_an_unreadable_qc_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "x_qc.json"
    bad.write_text("{not json")
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_report_reads_a_movie_without_a_frame_rate_at_the_rate_it_was_checked_at(
    tmp_path, capsys
):
    import numpy as np
    import tifffile

    frames = np.random.default_rng(0).integers(0, 200, (40, 16, 16)).astype(np.uint16)
    src = tmp_path / "movie.tif"
    tifffile.imwrite(src, frames)  # no frame rate in the file
    assert main(["check", str(src), "--out", str(tmp_path), "--option", "frame_rate=10"]) == 0
    qc = tmp_path / "movie_qc.json"
    assert main(["report", str(qc), "--data", str(src)]) == 0
    assert "movie.tif" in (tmp_path / "movie_report.html").read_text()
    # A rate given on the command line is used as given.
    args = ["report", str(qc), "--data", str(src), "--option", "frame_rate=10"]
    assert main([*args, "-o", str(tmp_path / "again.html")]) == 0
