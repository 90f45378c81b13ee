"""``read`` and ``write``: one entry point for every format."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..core.errors import (
    CorruptFileError,
    InputNotFoundError,
    MissingDependencyError,
    NeurolintError,
    UnitsError,
    UnsupportedFormatError,
)
from ..core.imaging import Movie, VolumeSeries
from ..core.timeseries import TimeSeries
from .registry import find_format, get_format, split_dataset_path

__all__ = ["check_output", "input_files", "output_files", "read", "write"]

Series = TimeSeries | Movie | VolumeSeries


def read(path: str | os.PathLike, *, format: str | None = None, **options: Any) -> Series:
    """Read a recording lazily, whatever its format.

    Parameters
    ----------
    path : str | path-like
        A file or folder. For HDF5, name the dataset after a colon: ``"file.h5:/data"``.
    format : str | None
        Force a format (see ``neurolint info --formats``) instead of sniffing it.
        default: ``None``.
    **options
        Passed to the reader, e.g. ``dtype``, ``n_channels``, ``sampling_rate`` for raw
        binary; ``stream`` for XDF; ``stream_id`` for SpikeGLX/neo; ``frame_rate`` for TIFF.

    Returns
    -------
    TimeSeries | Movie | VolumeSeries
        Nothing is loaded but metadata; data are read when asked for.

    Raises
    ------
    NeurolintError
        With a one-line message saying what to do, for a missing, unknown, truncated or
        inconsistent file.
    """
    file_path, dataset = split_dataset_path(path)
    if not file_path.exists():
        raise InputNotFoundError(f"File not found: {file_path}; check the path.")
    fmt = find_format(file_path, format, options)
    if dataset is not None:
        options["dataset"] = dataset
    reader = fmt.load("reader")
    try:
        obj = reader(file_path, **options)
    except NeurolintError:
        raise
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise UnsupportedFormatError(
                f"Option not understood by the {fmt.name} reader ({exc}); check its options."
            ) from None
        raise CorruptFileError(f"Could not read {file_path} as {fmt.description}: {exc}.") from exc
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read {file_path} as {fmt.description} ({type(exc).__name__}: "
            f"{str(exc).strip() or 'no details'}); check that the file is complete and of "
            "that format."
        ) from exc
    _probe_end(obj, file_path)
    return obj


def _probe_end(obj: Series, path: Path) -> None:
    """Read the last sample: a truncated file fails here, at read time, not hours later."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj.get_data(obj.n_times - 1, obj.n_times)
    except NeurolintError:
        raise
    except Exception as exc:
        raise CorruptFileError(
            f"{path} is truncated or unreadable at its end ({type(exc).__name__}: {exc}); "
            "re-copy or re-export the file."
        ) from exc


def _kind(obj: Any) -> str:
    if isinstance(obj, TimeSeries):
        return "timeseries"
    if isinstance(obj, Movie):
        return "movie"
    if isinstance(obj, VolumeSeries):
        return "volumes"
    raise UnsupportedFormatError(
        f"Cannot write a {type(obj).__name__}; write a TimeSeries, Movie or VolumeSeries "
        "(wrap arrays and MNE/SpikeInterface objects with neurolint's adapters first)."
    )


def write(
    obj: Series,
    path: str | os.PathLike,
    *,
    format: str | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write a series atomically, keeping rate, channel names, types and units.

    Parameters
    ----------
    obj : TimeSeries | Movie | VolumeSeries
    path : str | path-like
        Output file; its extension picks the format unless ``format`` is given.
    format : str | None
        ``"fif"``, ``"edf"``, ``"bdf"``, ``"brainvision"``, ``"eeglab"``, ``"binary"``, ``"nwb"``,
        ``"tiff"``, ``"nifti"``, ``"hdf5"``, ``"npy"``. default: ``None`` (from the extension).
    overwrite : bool
        Replace an existing file. default: ``False`` (an existing file is an error).
    **options
        Passed to the writer (e.g. ``dtype`` for binary).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path_obj, dataset, fmt = _output_format(obj, path, format)
    if dataset is not None:
        options["dataset"] = dataset
    writer = fmt.load("writer")
    try:
        writer(obj, path_obj, overwrite=overwrite, **options)
    except (NeurolintError, MissingDependencyError):
        raise
    except OSError as exc:
        raise CorruptFileError(f"Could not write {path_obj}: {exc}.") from exc
    return path_obj


def check_output(obj: Series, path: str | os.PathLike, *, format: str | None = None) -> None:
    """Fail now if :func:`write` would refuse ``obj`` for ``path``, before a long job makes it.

    Checks what is known before the samples: the format takes this kind of series, and
    FIF, EDF and BDF can convert every channel's units (the samples themselves, e.g. NaN in
    EDF, are checked as they are written).

    Raises
    ------
    UnsupportedFormatError, UnitsError
        As :func:`write` would.
    """
    _, _, fmt = _output_format(obj, path, format)
    if fmt.name in ("fif", "edf", "bdf"):
        from ..integrations.mne import _info

        try:
            _info(obj)  # the units each channel is written in
        except UnitsError as exc:
            raise UnitsError(
                f"{fmt.name.upper()} stores physical units: {str(exc).split(';')[0]}. Write "
                "binary (.raw), NWB (.nwb) or HDF5 (.h5) instead: they keep any units."
            ) from exc


def output_files(path: str | os.PathLike, *, format: str | None = None) -> list[Path]:
    """Every file :func:`write` creates for ``path``: the file itself, for binary output
    its ``.json`` sidecar, for BrainVision its ``.vmrk`` and ``.eeg``, for EEGLAB its
    ``.fdt``. A command checks them all before its work, so an existing sidecar stops it
    at the start rather than after the correction."""
    path_obj, _ = split_dataset_path(path)
    fmt = get_format(format) if format else find_format(path_obj, None, {"dtype": "output"})
    files = [path_obj]
    if fmt.name == "binary":
        files.append(path_obj.with_suffix(".json"))
    if fmt.name == "brainvision":
        from .brainvision import companion_files

        files += companion_files(path_obj)
    elif fmt.name == "eeglab":
        from .eeglab import companion_files

        files += companion_files(path_obj)
    return files


# Files beside a recording that hold part of it (EEGLAB samples, BrainVision samples and
# markers, binary sidecars, SpikeGLX metadata).
_COMPANION_SUFFIXES = (".fdt", ".eeg", ".dat", ".vmrk", ".json", ".meta")


def input_files(path: str | os.PathLike) -> list[Path]:
    """The files a recording at ``path`` is made of: the file itself, its companions by
    name (``x.fdt``, ``x.eeg``, ``x.vmrk``, ``x.json``...) and, for BrainVision, the data
    and marker files its header names. A command refuses to write over any of them."""
    path_obj, _ = split_dataset_path(path)
    files = [path_obj]
    files += [path_obj.with_suffix(s) for s in _COMPANION_SUFFIXES if s != path_obj.suffix]
    if path_obj.suffix.lower() == ".vhdr" and path_obj.is_file():
        from .brainvision import named_files

        files += named_files(path_obj)
    return [f for f in files if f.exists()]


def _output_format(obj: Any, path: str | os.PathLike, format: str | None) -> tuple:
    """``(path, dataset, format)`` that :func:`write` uses for ``obj``, or the error it gives."""
    path_obj, dataset = split_dataset_path(path)
    kind = _kind(obj)
    # For output, .raw/.bin/.dat mean our binary + sidecar (nothing to sniff yet).
    fmt = get_format(format) if format else find_format(path_obj, None, {"dtype": "output"})
    if fmt.writer is None or kind not in fmt.writes:
        writable = ", ".join(f.name for f in _writers_for(kind))
        if fmt.writer is None:  # e.g. EEGLAB's .set: read through MNE, never written
            ext = "".join(path_obj.suffixes) or path_obj.name
            raise UnsupportedFormatError(
                f"neurolint reads {ext} files but does not write them; write a {kind} as "
                f"one of {writable}."
            )
        raise UnsupportedFormatError(
            f"{fmt.name} cannot hold a {kind} here; write it as one of {writable}."
        )
    return path_obj, dataset, fmt


def _writers_for(kind: str) -> list[Any]:
    from .registry import FORMATS

    return [f for f in FORMATS if kind in f.writes]
