"""A series read from NWB is written back as a copy of its file, the series' samples
replaced, so the subject, devices, electrodes table and every other object survive."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.core import TimeSeries

pynwb = pytest.importorskip("pynwb")


@pytest.fixture
def session(tmp_path, rng):
    """An NWB session as a lab writes one: subject and experimenter, a probe with labelled
    electrodes (impedance, filtering, location), a raw int16 series starting at 5 s, an
    LFP series in a processing module, and a behavioural series."""
    nwbfile = pynwb.NWBFile(
        session_description="linear track",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        experimenter=["Ada Lovelace"],
        institution="Lab",
        subject=pynwb.file.Subject(subject_id="m1", species="Mus musculus", age="P90D"),
    )
    device = nwbfile.create_device(name="probeA", description="silicon probe")
    group = nwbfile.create_electrode_group(
        name="shank0", description="shank", location="CA1", device=device
    )
    nwbfile.add_electrode_column("label", "channel label")
    for i in range(4):
        nwbfile.add_electrode(
            location="CA1", group=group, label=f"ch{i}", x=0.0, y=20.0 * i, z=0.0,
            imp=1e6 + i, filtering="none",
        )  # fmt: skip
    raw = pynwb.ecephys.ElectricalSeries(
        name="raw",
        data=(rng.standard_normal((3000, 4)) * 300).astype(np.int16),
        electrodes=nwbfile.create_electrode_table_region([0, 1, 2, 3], "all"),
        rate=1000.0,
        starting_time=5.0,
        conversion=1e-6,
        filtering="0.3-6000 Hz",
        comments="raw band",
        description="probe A raw",
    )
    nwbfile.add_acquisition(raw)
    container = pynwb.ecephys.LFP()
    nwbfile.create_processing_module("ecephys", "LFP").add(container)
    container.add_electrical_series(
        pynwb.ecephys.ElectricalSeries(
            name="lfp",
            data=rng.standard_normal((300, 4)).astype(np.float32) * 1e-4,
            electrodes=nwbfile.create_electrode_table_region([0, 1, 2, 3], "all"),
            rate=100.0,
        )
    )
    nwbfile.add_acquisition(
        pynwb.TimeSeries(name="speed", data=np.arange(30.0), unit="cm/s", rate=10.0)
    )
    path = tmp_path / "session.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def _open(path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


def _same_session(a, b) -> None:
    assert b.subject.subject_id == a.subject.subject_id == "m1"
    assert b.experimenter == a.experimenter and b.institution == a.institution
    assert list(b.devices) == list(a.devices) and list(b.electrode_groups) == ["shank0"]
    np.testing.assert_array_equal(b.electrodes["imp"][:], a.electrodes["imp"][:])
    assert list(b.acquisition) == list(a.acquisition)
    np.testing.assert_array_equal(b.acquisition["speed"].data[:], a.acquisition["speed"].data[:])
    assert list(b.processing["ecephys"].data_interfaces) == ["LFP"]


def test_a_series_written_back_keeps_the_whole_session_and_its_counts(session, tmp_path):
    out = nl.write(nl.read(session, series="raw"), tmp_path / "copy.nwb")
    (io_a, a), (io_b, b) = _open(session), _open(out)
    with io_a, io_b:
        _same_session(a, b)
        old, new = a.acquisition["raw"], b.acquisition["raw"]
        assert (new.starting_time, new.filtering, new.comments, new.description) == (
            5.0, "0.3-6000 Hz", "raw band", "probe A raw"
        )  # fmt: skip
        assert new.data.dtype == np.int16  # the counts, at the gains they were read with
        np.testing.assert_array_equal(new.data[:], old.data[:])
        assert b.object_id != a.object_id  # a new file


def test_a_slice_of_picked_channels_lands_on_their_rows_and_time(session, tmp_path):
    ts = nl.read(session, series="raw")
    part = ts.pick(["ch2", "ch0"]).time_slice(1.0, 2.5)
    out = nl.write(part, tmp_path / "part.nwb")
    io, b = _open(out)
    with io:
        new = b.acquisition["raw"]
        assert list(new.electrodes.data[:]) == [2, 0] and new.starting_time == 6.0
    back = nl.read(out, series="raw")
    assert back.ch_names == ["ch2", "ch0"]
    np.testing.assert_array_equal(back.get_data(), part.get_data())


def test_an_lfp_series_stays_in_its_processing_module(session, tmp_path):
    ts = nl.read(session, series="lfp")
    changed = TimeSeries(ts.get_data() * 0.5, ts.sampling_rate, ts.channels, meta=dict(ts.meta))
    changed.source = ts.source
    out = nl.write(changed, tmp_path / "half.nwb")
    io, b = _open(out)
    with io:
        assert list(b.processing["ecephys"]["LFP"].electrical_series) == ["lfp"]
        assert "lfp" not in b.acquisition
    np.testing.assert_allclose(nl.read(out, series="lfp").get_data(), ts.get_data() * 0.5)


def test_fix_of_an_nwb_session_writes_the_session_back(session, tmp_path, capsys):
    out = tmp_path / "fixed.nwb"
    args = ["fix", str(session), "-o", str(out), "--option", "series=raw", "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    (io_a, a), (io_b, b) = _open(session), _open(out)
    with io_a, io_b:
        _same_session(a, b)
        assert b.acquisition["raw"].data.shape == (3000, 4)


def test_without_its_source_file_a_series_gets_a_file_of_its_own(session, tmp_path):
    ts = nl.read(session, series="raw")
    copy = TimeSeries(ts.get_data(), ts.sampling_rate, ts.channels, meta=dict(ts.meta))
    copy.source = str(tmp_path / "gone.nwb")
    back = nl.read(nl.write(copy, tmp_path / "own.nwb"))
    np.testing.assert_allclose(back.get_data(), ts.get_data(), rtol=1e-6)


def test_a_source_that_cannot_be_copied_still_gives_the_series(
    session, tmp_path, monkeypatch, caplog
):
    import neurolint.io.nwb_export as export

    def broken(*args, **kwargs):
        raise RuntimeError("an extension namespace is missing")

    monkeypatch.setattr(export, "_swap", broken)
    ts = nl.read(session, series="raw")
    with caplog.at_level("WARNING", logger="neurolint"):
        back = nl.read(nl.write(ts, tmp_path / "alone.nwb"))
    assert "could not copy the rest of" in caplog.text and "extension namespace" in caplog.text
    np.testing.assert_array_equal(back.get_data(), ts.get_data())


def test_a_series_held_by_a_processing_module_itself_stays_there(tmp_path, rng):
    nwbfile = pynwb.NWBFile(
        session_description="s",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime(2024, 1, 2, tzinfo=timezone.utc),
    )
    device = nwbfile.create_device(name="d")
    group = nwbfile.create_electrode_group(name="g", description="g", location="x", device=device)
    for _ in range(3):
        nwbfile.add_electrode(location="x", group=group)
    module = nwbfile.create_processing_module("ecephys", "preprocessed")
    module.add(
        pynwb.ecephys.ElectricalSeries(
            name="direct",
            data=rng.standard_normal((500, 3)).astype(np.float32),
            electrodes=nwbfile.create_electrode_table_region([0, 1, 2], "all"),
            rate=100.0,
        )
    )
    path = tmp_path / "direct.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    out = nl.write(nl.read(path, series="direct"), tmp_path / "out.nwb")
    io, back = _open(out)
    with io:
        assert list(back.processing["ecephys"].data_interfaces) == ["direct"]
        assert not back.acquisition
