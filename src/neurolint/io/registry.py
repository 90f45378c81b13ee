"""The table of formats: which reader and writer handle a path, found by sniffing.

Readers and writers are named as ``"module:function"`` strings and imported only when used,
so that knowing the formats costs no import of MNE, SpikeInterface or pynwb.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import UnsupportedFormatError

__all__ = ["FORMATS", "Format", "find_format", "get_format", "split_dataset_path"]


@dataclass(frozen=True)
class Format:
    """A file format neurolint reads and possibly writes."""

    name: str
    extensions: tuple[str, ...]
    description: str
    reader: str | None = None
    writer: str | None = None
    #: object kinds the writer accepts: "timeseries", "movie", "volumes"
    writes: tuple[str, ...] = ()

    def load(self, which: str) -> Callable[..., Any]:
        target = self.reader if which == "reader" else self.writer
        if target is None:
            raise UnsupportedFormatError(f"neurolint cannot {which[:-2]} {self.name} files.")
        module, func = target.split(":")
        return getattr(importlib.import_module(f"neurolint.io.{module}"), func)


# Extensions MNE's read_raw dispatches on (checked against MNE by a test).
MNE_EXTENSIONS = (
    ".edf", ".bdf", ".gdf", ".vhdr", ".ahdr", ".fif", ".fif.gz", ".set", ".cnt", ".mff",
    ".nxe", ".mefd", ".hdr", ".snirf", ".mat", ".data", ".sqd", ".con", ".ds", ".txt",
    ".dap", ".rs3", ".cdt", ".cdt.dpa", ".cdt.cef", ".cef", ".nedf", ".asc", ".ns3", ".lay",
    ".eeg",
)  # fmt: skip

FORMATS: tuple[Format, ...] = (
    Format("fif", (".fif", ".fif.gz"), "MNE FIF", "mne_formats:read_mne", "mne_formats:write_fif",
           ("timeseries",)),
    Format("edf", (".edf",), "European Data Format", "mne_formats:read_mne", "edf:write_edf",
           ("timeseries",)),
    Format("bdf", (".bdf",), "BioSemi Data Format", "mne_formats:read_mne", "edf:write_edf",
           ("timeseries",)),
    Format("brainvision", (".vhdr",), "BrainVision (.vhdr + .vmrk + .eeg)",
           "mne_formats:read_mne", "brainvision:write_brainvision", ("timeseries",)),
    Format("eeglab", (".set",), "EEGLAB (.set + .fdt)", "mne_formats:read_mne",
           "eeglab:write_eeglab", ("timeseries",)),
    Format("mne", tuple(e for e in MNE_EXTENSIONS
                        if e not in (".fif", ".fif.gz", ".edf", ".bdf", ".vhdr", ".set")),
           "any format MNE reads (BrainVision, EEGLAB, Nihon Kohden, GDF, CNT, ...)",
           "mne_formats:read_mne"),
    Format("xdf", (".xdf", ".xdfz"), "Lab Streaming Layer recording", "xdf:read_xdf"),
    Format("spikeglx", (".ap.bin", ".lf.bin", ".nidq.bin", ".ap.meta", ".lf.meta", ".nidq.meta"),
           "SpikeGLX (file or folder)", "ephys_formats:read_spikeglx"),
    Format("openephys", (".oebin", ".continuous"), "Open Ephys (file or folder)",
           "ephys_formats:read_openephys"),
    Format("neo", (), "any format SpikeInterface/neo reads (Intan, Blackrock, Plexon, ...)",
           "ephys_formats:read_neo"),
    Format("binary", (".raw", ".bin", ".dat"), "raw binary with a JSON sidecar or options",
           "binary:read_binary", "binary:write_binary", ("timeseries",)),
    Format("nwb", (".nwb",), "Neurodata Without Borders", "nwb:read_nwb", "nwb:write_nwb",
           ("timeseries", "movie")),
    Format("tiff", (".tif", ".tiff"), "multipage TIFF movie", "tiff:read_tiff", "tiff:write_tiff",
           ("movie",)),
    Format("hdf5", (".h5", ".hdf5", ".hdf"), "HDF5 dataset (path.h5:/dataset)", "hdf5:read_hdf5",
           "hdf5:write_hdf5", ("timeseries", "movie", "volumes")),
    Format("nifti", (".nii", ".nii.gz"), "NIfTI-1/2 volume series", "nifti:read_nifti",
           "nifti:write_nifti", ("volumes",)),
    Format("npy", (".npy",), "NumPy array", "numpy_format:read_npy", "numpy_format:write_npy",
           ("timeseries", "movie", "volumes")),
)  # fmt: skip

_BY_NAME = {f.name: f for f in FORMATS}


def get_format(name: str) -> Format:
    """The format called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedFormatError(
            f"Unknown format {name!r}; use one of {', '.join(_BY_NAME)}."
        ) from None


def split_dataset_path(path: str | Path) -> tuple[Path, str | None]:
    """Split ``"file.h5:/group/data"`` into the file and the dataset path."""
    text = str(path)
    for ext in (".h5:", ".hdf5:", ".hdf:", ".nwb:"):
        i = text.lower().find(ext)
        if i >= 0:
            cut = i + len(ext) - 1
            return Path(text[:cut]), text[cut + 1 :] or None
    return Path(text), None


def _suffixes(path: Path) -> list[str]:
    """Candidate extensions, longest first: ``x.ap.bin`` → ``.ap.bin``, ``.bin``."""
    parts = [s.lower() for s in path.suffixes]
    return ["".join(parts[i:]) for i in range(len(parts))]


_SPIKEGLX_META = (".ap.meta", ".lf.meta", ".nidq.meta")

# Extensions that always name a whole recording in one file (never a part of a folder format).
_ONE_FILE = (
    ".edf", ".bdf", ".gdf", ".vhdr", ".fif", ".fif.gz", ".set", ".cnt", ".snirf", ".xdf",
    ".xdfz", ".nwb", ".tif", ".tiff", ".nii", ".nii.gz",
)  # fmt: skip


def _sniff_dir(path: Path, max_depth: int = 4) -> Format:
    """The format of a folder: by its own files, else by what lies a few levels below.

    Session folders keep their data in subfolders (``Record Node 101/experiment1/recording1/
    structure.oebin``, ``run_g0/run_g0_imec0/*.ap.meta``), where neo, which guesses from the
    top-level files only, would be misled (by a ``settings.xml`` or ``notes.txt``). The depth
    bound keeps the walk short on large unrelated trees.
    """
    if path.suffix.lower() in (".ds", ".mff"):
        return _BY_NAME["mne"]
    if any(p.suffix.lower() == ".continuous" for p in path.iterdir()):
        return _BY_NAME["openephys"]  # legacy format: data files at the top
    base = len(path.parts)
    for root, dirs, files in os.walk(path):
        if len(Path(root).parts) - base >= max_depth:
            dirs[:] = []
        if "structure.oebin" in files:
            return _BY_NAME["openephys"]
        if any(f.lower().endswith(_SPIKEGLX_META) for f in files):
            return _BY_NAME["spikeglx"]
    recordings = sorted(
        p.name for p in path.iterdir() if p.is_file() and p.name.lower().endswith(_ONE_FILE)
    )
    if recordings:
        # A folder of files each a whole recording (a dataset, or a recording's own folder):
        # neo would fail on it with an unrelated message.
        listed = ", ".join(recordings[:3]) + (", ..." if len(recordings) > 3 else "")
        raise UnsupportedFormatError(
            f"{path.name} is a folder holding {len(recordings)} recording file(s) ({listed}); "
            f"neurolint reads one recording at a time: give a file, e.g. {path / recordings[0]}."
        )
    return _BY_NAME["neo"]


def _has_sidecar(path: Path) -> bool:
    from .binary import find_sidecar

    return find_sidecar(path) is not None


def find_format(path: Path, format: str | None = None, options: dict | None = None) -> Format:
    """Choose the format of ``path``: by name if given, else by folder contents and extension."""
    if format is not None:
        return get_format(format)
    if path.is_dir():
        return _sniff_dir(path)
    for ext in _suffixes(path):
        if ext in (".raw", ".bin", ".dat"):
            # Shared extensions: a sidecar or a SpikeGLX .meta decides; else let MNE try.
            if ext == ".bin" and path.with_suffix(".meta").exists():
                return _BY_NAME["spikeglx"]
            if _has_sidecar(path) or {"dtype", "n_channels"} & set(options or {}):
                return _BY_NAME["binary"]
            if ext == ".raw":
                return _BY_NAME["neo"]
            return _BY_NAME["mne"]
        for fmt in FORMATS:
            if ext in fmt.extensions:
                return fmt
    raise UnsupportedFormatError(
        f"Unknown file type {''.join(path.suffixes) or '(no extension)'} for {path.name}; run "
        "`neurolint formats` to see what neurolint reads, or force one with format=NAME (--format)."
    )
