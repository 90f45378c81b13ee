"""SpikeGLX, Open Ephys and neo readers, on small datasets written by hand."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.errors import (
    MissingDependencyError,
    ParameterError,
    UnsupportedFormatError,
)
from neurolint.io.ephys_formats import read_neo, read_spikeglx

pytest.importorskip("spikeinterface")
pytest.importorskip("neo")

NI_RANGE = 5.0  # niAiRangeMax in volts: one int16 step is NI_RANGE / 32768 V


def _chan_map(n_ch: int) -> str:
    # "~snsChanMap=(header)(name;index:order)..." as SpikeGLX writes it.
    return f"({n_ch},0,0,0,0)" + "".join(f"(XA{i};{i}:{i})" for i in range(n_ch))


def write_nidq(folder: Path, n_ch=4, n_s=1000, rate=25000.0, gate=0, seed=0) -> np.ndarray:
    """A SpikeGLX NI-DAQ stream: interleaved int16 ``.bin`` and the ``.meta`` keys neo needs."""
    folder.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).integers(-20000, 20000, (n_s, n_ch)).astype("<i2")
    stem = f"run_g{gate}_t0.nidq"
    data.tofile(folder / f"{stem}.bin")
    meta = {
        "nSavedChans": n_ch,
        "niSampRate": rate,
        "niAiRangeMax": NI_RANGE,
        "niAiRangeMin": -NI_RANGE,
        "niMNGain": 200,
        "niMAGain": 1,
        "snsMnMaXaDw": f"0,0,{n_ch},0",
        "fileName": f"{folder.name}/{stem}.bin",
        "fileSizeBytes": data.nbytes,
        "firstSample": 0,
        "typeThis": "nidq",
        "~snsChanMap": _chan_map(n_ch),
    }
    (folder / f"{stem}.meta").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
    return data


def write_obx(folder: Path, n_ch=3, n_s=800, rate=30000.0, seed=1) -> np.ndarray:
    """A SpikeGLX OneBox stream (``obx0``), a second stream beside the NI-DAQ one."""
    data = np.random.default_rng(seed).integers(-3000, 3000, (n_s, n_ch)).astype("<i2")
    stem = "run_g0_t0.obx0.obx"
    data.tofile(folder / f"{stem}.bin")
    meta = {
        "nSavedChans": n_ch,
        "obSampRate": rate,
        "obAiRangeMax": 5,
        "obMaxInt": 32768,
        "snsXaDwSy": f"{n_ch},0,0",
        "fileName": f"{folder.name}/{stem}.bin",
        "fileSizeBytes": data.nbytes,
        "firstSample": 0,
        "typeThis": "obx",
        "~snsChanMap": _chan_map(n_ch),
    }
    (folder / f"{stem}.meta").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
    return data


def nidq_in_uv(data: np.ndarray) -> np.ndarray:
    return (data.astype(np.float64) * (NI_RANGE / 32768) * 1e6).T


def write_openephys(root: Path, streams=("Acq-100.Rhythm",), n_ch=3, n_s=600, rate=30000.0):
    """An Open Ephys binary session: Record Node / experiment1 / recording1 / structure.oebin."""
    node = root / "Record Node 101"
    rec = node / "experiment1" / "recording1"
    out, entries = {}, []
    for k, name in enumerate(streams):
        folder = rec / "continuous" / name
        folder.mkdir(parents=True)
        data = np.random.default_rng(k).integers(-2000, 2000, (n_s, n_ch)).astype("<i2")
        data.tofile(folder / "continuous.dat")
        np.save(folder / "sample_numbers.npy", np.arange(n_s, dtype=np.int64))
        np.save(folder / "timestamps.npy", np.arange(n_s) / rate)
        channels = [
            {"channel_name": f"CH{i + 1}", "bit_volts": 0.195, "units": "uV"} for i in range(n_ch)
        ]
        entries.append(
            {
                "folder_name": f"{name}/",
                "sample_rate": rate,
                "num_channels": n_ch,
                "channels": channels,
            }
        )
        out[name] = data
    (rec / "structure.oebin").write_text(
        json.dumps({"GUI version": "0.6.4", "continuous": entries, "events": [], "spikes": []})
    )
    (node / "settings.xml").write_text(
        "<?xml version='1.0'?><SETTINGS><INFO><VERSION>0.6.4</VERSION></INFO></SETTINGS>"
    )
    return out


# -- SpikeGLX ------------------------------------------------------------------------------
def test_spikeglx_folder_and_bin_file_read_the_written_values(tmp_path):
    folder = tmp_path / "run_g0"
    data = write_nidq(folder)
    for path in (folder, folder / "run_g0_t0.nidq.bin", folder / "run_g0_t0.nidq.meta"):
        ts = nl.read(path)
        assert ts.shape == (4, 1000) and ts.sampling_rate == 25000.0
        assert ts.meta["format"] == "spikeglx" and ts.meta["stream_id"] == "nidq"
        assert ts.meta["n_segments"] == 1 and ts.stored_dtype == np.int16
        assert ts.channels.units == ("uV",) * 4
        # NI-DAQ inputs are auxiliary signals, not neural channels.
        assert ts.channels.types == ("misc",) * 4 and ts.modality == "timeseries"
        assert ts.source == str(path)
        np.testing.assert_allclose(ts.get_data(), nidq_in_uv(data), rtol=1e-6)
    view = ts.pick([3, 1]).frame_slice(100, 250)
    np.testing.assert_allclose(view.get_data(), nidq_in_uv(data)[[3, 1], 100:250], rtol=1e-6)


def test_spikeglx_series_pickles_as_paths(tmp_path):
    write_nidq(tmp_path / "run_g0", n_s=20000)
    ts = nl.read(tmp_path / "run_g0")
    blob = pickle.dumps(ts)
    assert len(blob) < 20_000  # the samples alone are 160 kB
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.get_data(500, 900), ts.get_data(500, 900))


def test_spikeglx_several_streams_need_a_choice_the_file_name_gives_it(tmp_path):
    folder = tmp_path / "run_g0"
    nidq = write_nidq(folder)
    obx = write_obx(folder)
    with pytest.raises(ParameterError, match=r"holds 2 streams.*stream_id=") as info:
        nl.read(folder)
    message = str(info.value)
    assert "nidq" in message and "obx0" in message and "\n" not in message
    ts = nl.read(folder / "run_g0_t0.obx0.obx.bin")
    assert ts.meta["stream_id"] == "obx0" and ts.shape == (3, 800)
    np.testing.assert_allclose(ts.get_data(), obx.T * (5 / 32768) * 1e6, rtol=1e-6)
    ts = nl.read(folder, stream_id="nidq")
    np.testing.assert_allclose(ts.get_data(), nidq_in_uv(nidq), rtol=1e-6)
    with pytest.raises(ParameterError, match=r"imec0\.ap.*available: .*nidq"):
        nl.read(folder, stream_id="imec0.ap")


def test_spikeglx_gates_are_segments_and_a_file_picks_its_own(tmp_path):
    folder = tmp_path / "run"
    g0 = write_nidq(folder, n_s=500, gate=0, seed=0)
    g1 = write_nidq(folder, n_s=700, gate=1, seed=1)
    ts = nl.read(folder)
    assert ts.meta["n_segments"] == 2 and ts.meta["segment_index"] == 0
    np.testing.assert_allclose(ts.get_data(), nidq_in_uv(g0), rtol=1e-6)
    ts = nl.read(folder / "run_g1_t0.nidq.bin")
    assert ts.meta["segment_index"] == 1 and ts.n_samples == 700
    np.testing.assert_allclose(ts.get_data(), nidq_in_uv(g1), rtol=1e-6)
    assert nl.read(folder, segment_index=1).n_samples == 700
    with pytest.raises(ParameterError, match="segment_index=2"):
        nl.read(folder, segment_index=2)


def test_spikeglx_unknown_option_is_a_one_line_error(tmp_path):
    write_nidq(tmp_path / "run_g0")
    with pytest.raises(ParameterError, match="'bogus' not understood") as info:
        nl.read(tmp_path / "run_g0", bogus=1)
    assert "\n" not in str(info.value)


def test_spikeglx_to_spikeinterface_gives_the_extractor_back(tmp_path):
    write_nidq(tmp_path / "run_g0")
    ts = nl.read(tmp_path / "run_g0").pick([2, 0]).frame_slice(10, 90)
    rec = ts.to_spikeinterface()
    assert list(rec.channel_ids) == ts.ch_names and rec.get_num_samples() == 80
    np.testing.assert_allclose(rec.get_traces(return_in_uV=True).T, ts.get_data(), rtol=1e-6)


def test_missing_spikeinterface_names_the_extra(tmp_path, monkeypatch):
    write_nidq(tmp_path / "run_g0")
    monkeypatch.setitem(sys.modules, "spikeinterface.extractors.neoextractors", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'neurolint\[ephys\]'"):
        read_spikeglx(tmp_path / "run_g0")


# -- Open Ephys ----------------------------------------------------------------------------
def test_openephys_binary_folder_and_oebin_file(tmp_path):
    data = write_openephys(tmp_path / "session")["Acq-100.Rhythm"]
    node = tmp_path / "session" / "Record Node 101"
    oebin = node / "experiment1" / "recording1" / "structure.oebin"
    (tmp_path / "session" / "notes.txt").write_text("mouse 3")  # neo would guess TDT from it
    # The session root holds only subfolders: found by looking a few levels down.
    for path in (node, oebin, tmp_path / "session"):
        ts = nl.read(path)
        assert ts.meta["format"] == "openephys" and ts.shape == (3, 600)
        assert ts.ch_names == ["CH1", "CH2", "CH3"] and ts.channels.units == ("uV",) * 3
        assert ts.modality == "ephys" and ts.sampling_rate == 30000.0
        np.testing.assert_allclose(ts.get_data(), data.T * 0.195, rtol=1e-6)


def test_openephys_prefers_the_ap_stream(tmp_path):
    streams = ("Neuropix-PXI-100.ProbeA-AP", "Neuropix-PXI-100.ProbeA-LFP")
    data = write_openephys(tmp_path / "s", streams=streams)
    ts = nl.read(tmp_path / "s" / "Record Node 101")
    assert ts.meta["stream_name"].endswith("ProbeA-AP")
    np.testing.assert_allclose(ts.get_data(), data[streams[0]].T * 0.195, rtol=1e-6)
    lfp = nl.read(tmp_path / "s" / "Record Node 101", stream_id="1")
    np.testing.assert_allclose(lfp.get_data(), data[streams[1]].T * 0.195, rtol=1e-6)


def test_openephys_several_experiments_need_block_index(tmp_path):
    data = write_openephys(tmp_path / "s")["Acq-100.Rhythm"]
    node = tmp_path / "s" / "Record Node 101"
    shutil.copytree(node / "experiment1", node / "experiment2")
    with pytest.raises(ParameterError, match=r"2 experiments.*block_index=0\.\.1"):
        nl.read(node)
    ts = nl.read(node, block_index=1)
    np.testing.assert_allclose(ts.get_data(), data.T * 0.195, rtol=1e-6)


# -- neo -----------------------------------------------------------------------------------
def test_unknown_extension_in_a_folder_is_unsupported(tmp_path):
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "data.xyz").write_bytes(b"\0" * 64)
    with pytest.raises(UnsupportedFormatError, match="No neo/SpikeInterface reader") as info:
        nl.read(tmp_path / "rec")
    assert "\n" not in str(info.value)


def test_unknown_extension_with_format_neo_is_unsupported(tmp_path):
    path = tmp_path / "data.qqq"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(UnsupportedFormatError, match=r"data\.qqq") as info:
        nl.read(path, format="neo")
    assert "\n" not in str(info.value)


def test_read_neo_finds_the_spikeglx_reader_by_extension(tmp_path):
    data = write_nidq(tmp_path / "run_g0")
    ts = read_neo(tmp_path / "run_g0" / "run_g0_t0.nidq.bin")
    assert ts.meta["neo_rawio"] == "SpikeGLXRawIO"
    np.testing.assert_allclose(ts.get_data(), nidq_in_uv(data), rtol=1e-6)
