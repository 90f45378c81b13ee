"""Format sniffing: the right reader for every path, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.errors import InputNotFoundError, UnsupportedFormatError
from neurolint.io.registry import FORMATS, MNE_EXTENSIONS, find_format, split_dataset_path


def test_registry_knows_every_extension_mne_reads():
    from mne.io._read_raw import _get_supported

    missing = set(_get_supported()) - set(MNE_EXTENSIONS) - {".bin", ".dat"}
    assert not missing, f"add {sorted(missing)} to MNE_EXTENSIONS"


def test_every_registered_reader_and_writer_exists():
    for fmt in FORMATS:
        assert callable(fmt.load("reader")), fmt.name
        if fmt.writer:
            assert callable(fmt.load("writer")), fmt.name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.edf", "edf"),
        ("a.BDF", "bdf"),
        ("a_raw.fif", "fif"),
        ("a.fif.gz", "fif"),
        ("a.vhdr", "brainvision"),
        ("a.set", "eeglab"),
        ("a.gdf", "mne"),
        ("a.xdf", "xdf"),
        ("a.nwb", "nwb"),
        ("a.tif", "tiff"),
        ("a.nii.gz", "nifti"),
        ("a.npy", "npy"),
        ("a.h5", "hdf5"),
        ("x_g0_t0.imec0.ap.bin", "spikeglx"),
    ],
)
def test_extensions_pick_formats(tmp_path, name, expected):
    assert find_format(tmp_path / name).name == expected


def test_shared_extensions_are_settled_by_sidecars_and_options(tmp_path):
    (tmp_path / "a.raw").write_bytes(b"\0" * 8)
    assert find_format(tmp_path / "a.raw").name == "neo"
    (tmp_path / "a.json").write_text('{"dtype": "int16", "n_channels": 2, "sampling_rate": 10}')
    assert find_format(tmp_path / "a.raw").name == "binary"
    assert find_format(tmp_path / "b.dat", options={"dtype": "int16"}).name == "binary"
    (tmp_path / "c.bin").write_bytes(b"")
    (tmp_path / "c.meta").write_text("")
    assert find_format(tmp_path / "c.bin").name == "spikeglx"


def test_dataset_paths_split_after_the_hdf5_extension():
    assert split_dataset_path("d/x.h5:/acq/data") == (split_dataset_path("d/x.h5")[0], "/acq/data")
    assert split_dataset_path("d/x.edf")[1] is None


def test_missing_and_unknown_files_are_one_line_errors(tmp_path):
    with pytest.raises(InputNotFoundError, match="not found"):
        nl.read(tmp_path / "nope.edf")
    (tmp_path / "notes.docx").write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="neurolint formats") as err:
        nl.read(tmp_path / "notes.docx")
    assert "\n" not in str(err.value)
    with pytest.raises(UnsupportedFormatError, match="Unknown format"):
        nl.read(tmp_path / "notes.docx", format="word")


def test_writing_a_movie_as_edf_says_what_fits(tmp_path):
    movie = nl.Movie(np.zeros((3, 4, 4), np.float32), 10.0)
    with pytest.raises(UnsupportedFormatError, match="tiff"):
        nl.write(movie, tmp_path / "m.edf")
    with pytest.raises(UnsupportedFormatError, match="Cannot write"):
        nl.write(np.zeros((2, 2)), tmp_path / "m.npy")
    ts = nl.TimeSeries(np.zeros((2, 100), np.float32), 100.0)
    with pytest.raises(UnsupportedFormatError, match=r"reads \.gdf files but does not write"):
        nl.write(ts, tmp_path / "x.gdf")  # read through MNE, never written


def test_inputs_are_never_modified(tmp_path, shared_data):
    import hashlib
    import shutil

    src = tmp_path / "in.edf"
    shutil.copy(shared_data / "eeg/formats/test.edf", src)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    ts = nl.read(src)
    ts.get_data()
    nl.write(ts, tmp_path / "out.fif")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before


def test_session_folders_are_sniffed_by_what_lies_below(tmp_path):
    oe = tmp_path / "oe" / "Record Node 101" / "experiment1" / "recording1"
    oe.mkdir(parents=True)
    (oe / "structure.oebin").write_text("{}")
    (tmp_path / "oe" / "notes.txt").write_text("misleads neo")
    assert find_format(tmp_path / "oe").name == "openephys"
    sg = tmp_path / "sg" / "run_g0" / "run_g0_imec0"
    sg.mkdir(parents=True)
    (sg / "run_g0_t0.imec0.ap.meta").write_text("")
    assert find_format(tmp_path / "sg").name == "spikeglx"
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "100_CH1.continuous").write_bytes(b"")
    assert find_format(tmp_path / "legacy").name == "openephys"
    (tmp_path / "other").mkdir()
    assert find_format(tmp_path / "other").name == "neo"


def test_a_folder_of_recording_files_says_to_give_one_file(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    for name in ("sub-02.edf", "sub-01.edf", "notes.txt"):
        (ds / name).write_bytes(b"")
    with pytest.raises(UnsupportedFormatError, match=r"2 recording file\(s\) \(sub-01.edf"):
        find_format(ds)
    (ds / "sub-01.edf").unlink()
    (ds / "sub-02.edf").unlink()
    assert find_format(ds).name == "neo"  # other files: left to neo, as before
