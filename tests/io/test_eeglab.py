"""EEGLAB output: what MNE reads back, a real file's round trip, streaming, no clobbering."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.cli.main import main
from neurolint.core import ChannelInfo, OutputExistsError, TimeSeries

mne = pytest.importorskip("mne")

SF = 250.0
MARKS = [
    {"onset": 1.0, "duration": 0.0, "description": "square", "ch_names": []},
    {"onset": 2.5, "duration": 0.5, "description": "BAD_pop", "ch_names": ["Cz"]},
]


@pytest.fixture
def ts(rng):
    data = (rng.standard_normal((3, 2500)) * 1e-5).astype(np.float32)
    pos = np.array([[0.0, 0.09, 0.04], [0.0, 0.0, 0.1], [0.07, 0.06, -0.02]])
    info = ChannelInfo(["Fz", "Cz", "VEOG"], ["eeg", "eeg", "eog"], "V", pos)
    return TimeSeries(data, SF, info, meta={"annotations": MARKS})


def test_mne_reads_samples_types_positions_and_events(ts, tmp_path):
    path = nl.write(ts, tmp_path / "x.set")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.fdt", "x.set"]
    raw = mne.io.read_raw_eeglab(path, verbose="error")
    np.testing.assert_allclose(raw.get_data(), ts.get_data(), rtol=1e-6, atol=1e-12)
    assert raw.get_channel_types() == ["eeg", "eeg", "eog"] and raw.info["sfreq"] == SF
    got = np.array([ch["loc"][:3] for ch in raw.info["chs"]])
    # MNE's reader places EEG channels only (its montage skips EOG ones).
    np.testing.assert_allclose(got[:2], ts.channels.positions[:2], atol=1e-9)
    assert list(raw.annotations.description) == ["square", "BAD_pop@@Cz"]
    np.testing.assert_allclose(raw.annotations.onset, [1.0, 2.5])


def test_neurolint_reads_it_back_as_it_was(ts, tmp_path):
    back = nl.read(nl.write(ts, tmp_path / "x.set"))
    assert back.meta["format"] == "eeglab" and back.meta["annotations"] == MARKS
    assert back.channels.types == ts.channels.types
    np.testing.assert_allclose(back.channels.positions[:2], ts.channels.positions[:2], atol=1e-9)


def test_the_eeglab_tutorial_file_round_trips_exactly(shared_data, tmp_path):
    src = nl.read(shared_data / "eeg" / "eeglab_data.set")
    back = nl.read(nl.write(src, tmp_path / "copy.set"))
    assert back.ch_names == src.ch_names and back.channels.types == src.channels.types
    np.testing.assert_array_equal(back.get_data(), src.get_data())
    scalp = [i for i, t in enumerate(src.channels.types) if t == "eeg"]
    np.testing.assert_allclose(
        back.channels.positions[scalp], src.channels.positions[scalp], atol=1e-12
    )
    assert back.meta["annotations"] == src.meta["annotations"]  # its 154 events


def test_the_writer_streams_and_refuses_an_existing_fdt(ts, tmp_path, read_lengths):
    nl.write(ts, tmp_path / "x.set", chunk_duration=2.0)
    assert max(read_lengths) <= 2 * SF  # two seconds at a time, never the whole recording
    (tmp_path / "y.fdt").write_bytes(b"someone else's")
    with pytest.raises(OutputExistsError, match=r"y\.fdt"):
        nl.write(ts, tmp_path / "y.set")
    assert not (tmp_path / "y.set").exists()


def test_fix_writes_eeglab(ts, tmp_path, capsys):
    src = nl.write(ts, tmp_path / "in.set")
    assert main(["fix", str(src), "-o", str(tmp_path / "out.set"), "--no-progress"]) == 0
    capsys.readouterr()
    assert nl.read(tmp_path / "out.set").meta["annotations"] == MARKS
