"""The HTML report: self-contained, escaped, complete, and never written over a file."""

import re

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.channels import ChannelInfo
from neurolint.core.errors import OutputExistsError, ParameterError
from neurolint.core.findings import QCResult
from neurolint.core.timeseries import TimeSeries
from neurolint.reporting import build_report
from neurolint.simulate import simulate_calcium, simulate_eeg, simulate_fmri

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def checked():
    sim = simulate_eeg(16, 30, 256.0, seed=3)
    qc = nl.check(sim.data)
    fixed, log = nl.fix(sim.data, qc)
    return sim, qc, fixed, log


def _images(page: str) -> list[str]:
    return re.findall(r'<img[^>]* src="([^"]*)"', page)


def test_a_full_report_has_every_section_and_needs_nothing_outside(checked):
    sim, qc, fixed, log = checked
    page = build_report(qc, sim.data, corrected=fixed, log=log, source="rec.fif", command="x y")
    for section in ("channels", "quality", "events", "spectra", "examples", "correction"):
        assert f'<section id="{section}">' in page
    images = _images(page)
    assert len(images) >= 4 and all(src.startswith("data:image/png;base64,") for src in images)
    # Self-contained: no external script, stylesheet, font or image.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "x y" in page and "eeg-remover" in page and nl.__version__ in page
    for c in qc.channels:
        if c.is_bad:
            assert c.name in page
    for row in log.steps:
        assert row.name in page


def test_a_report_from_saved_results_alone_has_no_data_sections(checked):
    _, qc, _, _ = checked
    again = QCResult.from_json(qc.to_json())
    page = build_report(again)
    assert '<section id="quality">' in page
    assert '<section id="spectra">' not in page and '<section id="examples">' not in page


def test_strings_from_a_file_render_as_text(tmp_path):
    names = [EVIL, "Cz", 'a"b', "$x$"] + [f"E{i}" for i in range(4)]
    x = np.random.default_rng(0).standard_normal((8, 2560)).astype(np.float32) * 1e-5
    x[0] = 0.0  # flat: a bad channel named EVIL
    ts = TimeSeries(x, 256.0, ChannelInfo(names, types="eeg", units="V"))
    qc = nl.check(ts, detectors="rules")
    assert EVIL in qc.bad_channels
    page = build_report(qc, ts, source=f"/data/{EVIL}.edf", command=f"neurolint check {EVIL}")
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page.replace("<script>\nwindow.", "")
    assert page.count("<script>") == 2  # only the report's own two inline checks


def test_imaging_and_fmri_reports_show_their_traces_and_maps():
    movie = simulate_calcium((48, 48), n_frames=200, motion=3.0, seed=1).data
    page = build_report(nl.check(movie))
    assert "Motion (pixels)" in page and "Frame quality" in page and "SNR map" in page
    vol = simulate_fmri((32, 32, 24), n_volumes=40, spikes=2, seed=5).data
    page = build_report(nl.check(vol))
    assert "DVARS" in page and "tSNR map" in page


def test_report_refuses_to_overwrite_and_wants_html(checked, tmp_path):
    _, qc, _, _ = checked
    path = tmp_path / "r.html"
    path.write_text("keep")
    with pytest.raises(OutputExistsError):
        nl.report(qc, path)
    assert path.read_text() == "keep"
    assert nl.report(qc, path, overwrite=True).read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(ParameterError, match="html"):
        nl.report(qc, tmp_path / "r.pdf")
    with pytest.raises(ParameterError, match="QCResult"):
        build_report({"score": 3})


def test_a_probe_report_reads_a_bounded_part_of_the_recording(monkeypatch):
    from neurolint.simulate import simulate_ephys

    ts = simulate_ephys("neuropixels", duration=2.0, n_channels=96, seed=1).data
    qc = nl.check(ts)
    reads = []
    original = TimeSeries.get_data

    def counted(self, start=None, stop=None, channels=None, **kw):
        out = original(self, start, stop, channels, **kw)
        reads.append(out.shape)
        return out

    monkeypatch.setattr(TimeSeries, "get_data", counted)
    page = build_report(qc, ts)
    assert '<section id="spectra">' in page and "extracellular" in page
    # Spectra take at most 64 of the 96 channels and 2^16 samples per read.
    assert reads and max(c for c, _ in reads) <= 64 and max(n for _, n in reads) <= 2**16


def test_results_and_a_different_recording_are_refused(checked):
    sim, qc, _, _ = checked
    with pytest.raises(ParameterError, match="pass the recording that was checked"):
        build_report(qc, sim.data.pick(sim.data.ch_names[:4]))
    with pytest.raises(ParameterError, match="pass the recording that was checked"):
        build_report(qc, sim.data, corrected=sim.data.time_slice(0, 10))


def test_examples_say_why_each_finding_was_made():
    from neurolint.core.findings import Finding
    from neurolint.reporting._content import _why

    events = [
        Finding(1.0, 0.5, "pop", ("Cz",), detector="rules",
                extras={"feature": "step_z", "value": 9.0, "threshold": 5.0}),
        Finding(3.0, 2.0, "anomaly", ("Cz",), detector="anomaly",
                extras={"model": "anomaly", "score": 16.7, "threshold": 7.25,
                        "features": {"log_rms": 5.7}}),
    ]  # fmt: skip
    qc = QCResult(score=50.0, sampling_rate=256.0, duration=10.0, events=events)
    assert _why(qc, 0) == "rule: step_z = 9 against threshold 5"
    assert "score 16.7 against threshold 7.25" in _why(qc, 1) and "log_rms 5.7" in _why(qc, 1)
