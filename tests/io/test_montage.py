"""Positions for recordings that store none: a montage when reading, or BIDS electrodes.tsv."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurolint as nl
from neurolint.core import ChannelInfo, ParameterError, TimeSeries

pytest.importorskip("mne")

NAMES = ["Fp1", "Fz", "Cz", "Pz", "O1", "EOG1"]


@pytest.fixture
def edf(tmp_path, rng):
    """An EDF with 10-20 names and no positions (as clinical systems write them)."""
    data = (rng.standard_normal((6, 2560)) * 2e-5).astype(np.float32)
    info = ChannelInfo(NAMES, ["eeg"] * 5 + ["eog"], "V")
    folder = tmp_path / "sub-01" / "eeg"
    folder.mkdir(parents=True)
    return nl.write(TimeSeries(data, 256.0, info), folder / "sub-01_task-rest_eeg.edf")


def test_a_named_montage_places_the_eeg_channels_and_says_so(edf):
    ts = nl.read(edf, montage="standard_1020")
    placed = np.isfinite(ts.channels.positions).all(axis=1)
    assert placed.tolist() == [True] * 5 + [False]  # the eye lead is not placed
    assert ts.meta["positions_from"] == "standard_1020"
    norms = np.linalg.norm(ts.channels.positions[:5], axis=1)
    assert np.all((norms > 0.05) & (norms < 0.15))  # metres, on a head


def test_a_montage_that_is_unknown_or_names_no_channel_is_refused(edf):
    with pytest.raises(ParameterError, match="Unknown montage 'nope'"):
        nl.read(edf, montage="nope")
    with pytest.raises(ParameterError, match="names none of the channels"):
        nl.read(edf, montage="EGI_256")  # E1, E2, ...: none of these names


def test_a_montage_file_works_from_the_command_line(edf, shared_data, capsys):
    from neurolint.cli.main import main

    locs = shared_data / "eeg" / "eeglab_chan32.locs"
    assert nl.read(edf, montage=str(locs)).meta["positions_from"] == str(locs)
    assert main(["info", str(edf), "--option", f"montage={locs}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["has_positions"] is True


def _electrodes(folder, rows, units, system, coordsystem=True):
    lines = ["name\tx\ty\tz\ttype"] + [f"{n}\t{x}\t{y}\t{z}\tcup" for n, x, y, z in rows]
    (folder / "sub-01_electrodes.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if coordsystem:
        (folder / "sub-01_coordsystem.json").write_text(
            json.dumps({"EEGCoordinateSystem": system, "EEGCoordinateUnits": units})
        )


def test_bids_electrodes_tsv_places_a_file_without_positions(edf):
    rows = [("Fp1", -30.0, 80.0, 0.0), ("Fz", 0.0, 60.0, 60.0), ("Cz", 0.0, 0.0, 90.0),
            ("Pz", "n/a", "n/a", "n/a")]  # fmt: skip
    _electrodes(edf.parent, rows, "mm", "CapTrak")
    ts = nl.read(edf)
    assert ts.meta["positions_from"] == "sub-01_electrodes.tsv"
    np.testing.assert_allclose(
        ts.channels.positions[:3], [[-0.03, 0.08, 0.0], [0.0, 0.06, 0.06], [0.0, 0.0, 0.09]]
    )
    assert np.isnan(ts.channels.positions[3:]).all()  # n/a, and channels it does not list


def test_bids_electrodes_on_eeglab_axes_and_without_units_are_turned_into_metres(edf):
    # EEGLAB's axes: x to the nose, y to the left ear; Fp1 is front left.
    _electrodes(edf.parent, [("Fp1", 8.0, 3.0, 0.0), ("Cz", 0.0, 0.0, 9.0)], "n/a", "EEGLAB")
    pos = nl.read(edf).channels.positions
    np.testing.assert_allclose(pos[[0, 2]], [[-0.03, 0.08, 0.0], [0.0, 0.0, 0.09]])


def test_positions_in_the_file_win_over_electrodes_tsv(edf, tmp_path):
    ts = nl.read(edf, montage="standard_1020")
    fif = nl.write(ts, edf.parent / "sub-01_task-rest_eeg.fif")
    _electrodes(edf.parent, [("Fp1", 0.0, 0.0, 0.0)], "m", "CapTrak")
    back = nl.read(fif)
    assert "positions_from" not in back.meta
    np.testing.assert_allclose(back.channels.positions[:5], ts.channels.positions[:5])


def test_a_bids_channels_tsv_gives_types_and_a_curators_bads(edf):
    (edf.parent / "sub-01_task-rest_channels.tsv").write_text(
        "name\ttype\tunits\tstatus\n"
        "Fp1\tVEOG\tV\tgood\n"  # used as an eye lead in this study
        "Fz\tEEG\tV\tbad\n"
        "Cz\tEEG\tV\tgood\n"
        "Pz\tEEG\tV\tn/a\n"
        "O1\tMISC\tV\tgood\n",  # EOG1 not listed: its name still types it
        encoding="utf-8",
    )
    ts = nl.read(edf)
    assert ts.channels.types == ("eog", "eeg", "eeg", "eeg", "misc", "eog")
    assert ts.meta["bads"] == ["Fz"] and ts.meta["channels_from"] == "sub-01_task-rest_channels.tsv"
    back = nl.read(nl.write(ts, edf.parent.parent / "fixed_raw.fif"))  # outside BIDS
    assert back.meta["bads"] == ["Fz"] and back.channels.types == ts.channels.types
