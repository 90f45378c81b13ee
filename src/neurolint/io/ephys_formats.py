"""Extracellular recordings read through SpikeInterface and neo: SpikeGLX, Open Ephys, and more.

Each reader opens the SpikeInterface extractor of its format for one stream and wraps it
lazily (see :mod:`neurolint.integrations.spikeinterface`): nothing but the header is read
until samples are asked for, and the series pickles as the extractor's arguments (paths).

A file or a folder is accepted. A folder with several streams and no ``stream_id`` gives
the action-potential stream when there is exactly one, else a :class:`ParameterError`
that lists the stream ids. A multi-segment recording (SpikeGLX gates/triggers, Open Ephys
recordings) gives segment 0 unless ``segment_index`` says otherwise; ``meta["n_segments"]``
tells how many there are.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from ..core.errors import (
    CorruptFileError,
    NeurolintError,
    ParameterError,
    UnsupportedFormatError,
)
from ..core.timeseries import TimeSeries
from ..core.validate import import_optional

__all__ = ["read_neo", "read_openephys", "read_spikeglx"]

# An action-potential stream: SpikeGLX "imec0.ap", Open Ephys "...ProbeA-AP".
_AP_STREAM = re.compile(r"(?:^|[.\-_#\s])ap$", re.IGNORECASE)
# Streams of auxiliary signals (sync lines, NI-DAQ/OneBox analog inputs, ADC channels).
_AUX_STREAM = re.compile(r"sync|nidq|obx|ni-daq|_adc$", re.IGNORECASE)


def _recording_classes() -> dict[str, Any]:
    """SpikeInterface's neo-based recording extractors, by short name."""
    import_optional("neo.rawio", "ephys")
    neoextractors = import_optional("spikeinterface.extractors.neoextractors", "ephys")
    return neoextractors.neo_recording_class_dict


def _describe_streams(names: list[str], ids: list[str]) -> str:
    return ", ".join(i if i == n else f"{i} ({n})" for i, n in zip(ids, names, strict=True))


def _choose_stream(names: list[str], ids: list[str], where: Path) -> str:
    """The only stream, the only non-auxiliary one, or the only action-potential one."""
    if len(ids) == 1:
        return ids[0]
    main = [
        (i, n)
        for i, n in zip(ids, names, strict=True)
        if not (_AUX_STREAM.search(n) or _AUX_STREAM.search(i))
    ]
    if len(main) == 1:
        return main[0][0]
    ap = [
        i
        for i, n in (main or zip(ids, names, strict=True))
        if _AP_STREAM.search(n) or _AP_STREAM.search(i)
    ]
    if len(ap) == 1:
        return ap[0]
    raise ParameterError(
        f"{where.name} holds {len(ids)} streams: {_describe_streams(names, ids)}; choose one "
        "with stream_id=ID."
    )


def _check_options(cls: Any, options: dict[str, Any]) -> None:
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in options if k not in params]
    if unknown:
        known = [p for p in params if p not in ("self", "folder_path", "file_path")]
        raise ParameterError(
            f"Option(s) {', '.join(map(repr, unknown))} not understood by {cls.__name__}; "
            f"it takes {', '.join(known) or 'no options'}."
        )


def _path_keyword(cls: Any) -> str:
    params = inspect.signature(cls.__init__).parameters
    return "folder_path" if "folder_path" in params else "file_path"


def _open_recording(
    cls: Any,
    location: Path,
    *,
    stream_id: str | None,
    block_index: int | None,
    options: dict[str, Any],
) -> Any:
    """Construct ``cls`` on one stream of ``location``, choosing the stream if not given."""
    kwargs: dict[str, Any] = dict(options)
    if block_index is not None:
        kwargs["block_index"] = int(block_index)
    _check_options(cls, kwargs)
    has_streams = "stream_id" in inspect.signature(cls.__init__).parameters
    if has_streams and stream_id is None:
        names, ids = cls.get_streams(str(location))
        stream_id = _choose_stream([str(n) for n in names], [str(i) for i in ids], location)
    if stream_id is not None:
        if not has_streams:
            raise ParameterError(f"{cls.__name__} reads a single stream; drop stream_id.")
        kwargs["stream_id"] = str(stream_id)
    try:
        return cls(**{_path_keyword(cls): str(location)}, **kwargs)
    except AssertionError:
        # SpikeInterface checks the stream id with an assert; say which ids exist instead.
        if stream_id is None:
            raise
        names, ids = cls.get_streams(str(location))
        if str(stream_id) in [str(i) for i in ids]:
            raise
        raise ParameterError(
            f"stream_id={stream_id!r} is not in {location.name}; available: "
            f"{_describe_streams([str(n) for n in names], [str(i) for i in ids])}."
        ) from None


def _to_timeseries(
    recording: Any,
    path: Path,
    fmt: str,
    segment_index: int | None,
) -> TimeSeries:
    from ..integrations.spikeinterface import _wrap

    aux = any(
        _AUX_STREAM.search(str(getattr(recording, attr, "") or ""))
        for attr in ("stream_name", "stream_id")
    )
    meta = {
        "format": fmt,
        "reader": type(recording).__name__,
        "stream_id": getattr(recording, "stream_id", None),
        "stream_name": getattr(recording, "stream_name", None),
    }
    return _wrap(
        recording,
        0 if segment_index is None else int(segment_index),
        # Sync lines and analog inputs are not neural data: QC should not treat them so.
        channel_type="misc" if aux else "ephys",
        modality=None if aux else "ephys",
        source=str(path),
        meta=meta,
    )


# -- SpikeGLX ------------------------------------------------------------------------------
def _spikeglx_stream_of(file: Path) -> str:
    """The stream a SpikeGLX ``.bin``/``.meta`` file belongs to (``imec0.ap``, ``nidq``...)."""
    meta_file = file.with_suffix(".meta")
    try:
        # neo names streams from the meta file's own fields, which survive renaming.
        from neo.rawio.spikeglxrawio import extract_stream_info, read_meta_file

        return str(extract_stream_info(meta_file, read_meta_file(meta_file))["stream_name"])
    except Exception:  # noqa: BLE001 - fall back on the file name
        parts = file.name.split(".")[1:-1]  # run_g0_t0.imec0.ap.bin -> imec0, ap
        if len(parts) >= 2 and parts[-1].lower() in ("ap", "lf"):
            return ".".join(parts[-2:])
        if len(parts) >= 2 and parts[-1].lower() == "obx":
            return parts[-2]
        if parts:
            return parts[-1]
        raise ParameterError(
            f"Cannot tell the SpikeGLX stream of {file.name}; pass stream_id= (e.g. 'imec0.ap')."
        ) from None


def _spikeglx_segment_of(recording: Any, file: Path) -> int | None:
    """The segment (gate/trigger) that ``file`` holds, or ``None`` if unknown."""
    target = file.with_suffix(".bin").resolve()
    for info in getattr(recording.neo_reader, "signals_info_list", []):
        if Path(info["bin_file"]).resolve() == target:
            return int(info["seg_index"])
    return None


def read_spikeglx(
    path: Path | str,
    *,
    stream_id: str | None = None,
    segment_index: int | None = None,
    **kw: Any,
) -> TimeSeries:
    """Read a SpikeGLX recording lazily.

    Parameters
    ----------
    path : Path | str
        A SpikeGLX folder, or one of its ``.bin``/``.meta`` files (its folder is read and
        the file's stream and segment are chosen).
    stream_id : str | None
        ``"imec0.ap"``, ``"imec0.lf"``, ``"nidq"``... default: from the file name, else the
        folder's only (or only AP) stream.
    segment_index : int | None
        Which gate/trigger segment. default: the file's, else 0.
    **kw
        Passed to SpikeInterface's ``SpikeGLXRecordingExtractor`` (e.g. ``all_annotations``).

    Returns
    -------
    TimeSeries
        Samples first, in microvolts (NI-DAQ and OneBox inputs too, typed ``"misc"`` as
        they are not neural channels), with probe contact positions in metres.
    """
    path = Path(path)
    cls = _recording_classes()["spikeglx"]
    file = path if path.is_file() else None
    folder = path.parent if file is not None else path
    if file is not None and stream_id is None:
        stream_id = _spikeglx_stream_of(file)
    recording = _open_recording(cls, folder, stream_id=stream_id, block_index=None, options=kw)
    if file is not None and segment_index is None:
        segment_index = _spikeglx_segment_of(recording, file)
    return _to_timeseries(recording, path, "spikeglx", segment_index)


# -- Open Ephys ----------------------------------------------------------------------------
def read_openephys(
    path: Path | str,
    *,
    stream_id: str | None = None,
    block_index: int | None = None,
    segment_index: int | None = None,
    **kw: Any,
) -> TimeSeries:
    """Read an Open Ephys recording (binary or legacy format) lazily.

    Parameters
    ----------
    path : Path | str
        A folder (session, Record Node, experiment or recording folder), a
        ``structure.oebin`` file (its recording is read) or a legacy ``.continuous`` file
        (its folder is read).
    stream_id : str | None
        default: the only (or only AP) stream; else the error lists the ids.
    block_index : int | None
        Which experiment (``experiment1`` is 0) when there are several.
    segment_index : int | None
        Which recording (``recording1`` is 0) of the experiment. default: 0.
    **kw
        Passed to SpikeInterface's extractor (e.g. ``load_sync_timestamps``).

    Returns
    -------
    TimeSeries
    """
    path = Path(path)
    folder = path.parent if path.is_file() else path
    classes = _recording_classes()
    if path.is_file():
        legacy = path.suffix.lower() == ".continuous"
    elif next(folder.rglob("structure.oebin"), None) is not None:
        legacy = False
    elif next(folder.glob("*.continuous"), None) is not None:
        legacy = True
    else:
        raise CorruptFileError(
            f"{folder} holds no structure.oebin (Open Ephys binary) nor .continuous files "
            "(Open Ephys legacy); point to the recording folder."
        )
    cls = classes["openephyslegacy" if legacy else "openephysbinary"]
    if not legacy and block_index is None and "experiment_name" not in kw:
        experiments = cls.get_available_experiments(folder)
        if len(experiments) > 1:
            raise ParameterError(
                f"{folder.name} holds {len(experiments)} experiments ({', '.join(experiments)}); "
                f"choose one with block_index=0..{len(experiments) - 1}."
            )
    recording = _open_recording(
        cls, folder, stream_id=stream_id, block_index=block_index, options=kw
    )
    return _to_timeseries(recording, path, "openephys", segment_index)


# -- any neo format ------------------------------------------------------------------------
def _location_for(cls: Any, rawio: Any, path: Path) -> Path | None:
    """The file or folder ``cls`` is opened on, or ``None`` when it cannot be told."""
    if _path_keyword(cls) == "folder_path":
        return path if path.is_dir() else path.parent
    if path.is_file():
        return path
    exts = {e.lower() for e in rawio.extensions}
    files = [p for p in path.iterdir() if p.is_file() and p.suffix[1:].lower() in exts]
    return files[0] if len(files) == 1 else None


def read_neo(
    path: Path | str,
    *,
    stream_id: str | None = None,
    segment_index: int | None = None,
    block_index: int | None = None,
    **kw: Any,
) -> TimeSeries:
    """Read any recording SpikeInterface reads through neo (Intan, Blackrock, Plexon...).

    The neo reader is chosen from the file extension (or the extensions in a folder) with
    ``neo.rawio.get_rawio``, then opened with the matching SpikeInterface extractor.

    Parameters
    ----------
    path : Path | str
        A file, or a folder for folder-based formats (Neuralynx, TDT...).
    stream_id : str | None
        default: the only (or only AP) stream; else the error lists the ids.
    segment_index : int | None
        default: 0.
    block_index : int | None
        Which block of a multi-block file. default: ``None`` (the only block).
    **kw
        Passed to the SpikeInterface extractor.

    Raises
    ------
    UnsupportedFormatError
        When no neo reader with a SpikeInterface recording extractor knows the extension.
    """
    path = Path(path)
    neo_rawio = import_optional("neo.rawio", "ephys")
    by_rawio = {cls.NeoRawIOClass: cls for cls in _recording_classes().values()}
    rawios = neo_rawio.get_rawio(path, exclusive_rawio=False) or []
    pairs = [(r, by_rawio[r.__name__]) for r in rawios if r.__name__ in by_rawio]
    what = f"folder {path.name}" if path.is_dir() else path.name
    if not pairs:
        if rawios:
            names = ", ".join(r.__name__ for r in rawios)
            raise UnsupportedFormatError(
                f"neo reads {what} with {names}, but SpikeInterface has no recording extractor "
                "for it; export the recording to another format."
            )
        raise UnsupportedFormatError(
            f"No neo/SpikeInterface reader recognises {what}; check the path or name the "
            "format with format=NAME (see `neurolint formats`)."
        )
    errors: list[str] = []
    for rawio, cls in pairs:
        location = _location_for(cls, rawio, path)
        if location is None:
            errors.append(f"{rawio.__name__}: no single file it reads in the folder; name the file")
            continue
        try:
            recording = _open_recording(
                cls, location, stream_id=stream_id, block_index=block_index, options=kw
            )
        except NeurolintError:
            raise
        except Exception as exc:  # try the next candidate, report all
            if len(pairs) == 1:
                raise
            errors.append(f"{rawio.__name__}: {type(exc).__name__}: {exc}")
            continue
        ts = _to_timeseries(recording, path, "neo", segment_index)
        ts.meta["neo_rawio"] = rawio.__name__
        return ts
    raise CorruptFileError(
        f"Could not read {what} with any neo reader that knows it ({'; '.join(errors)}); "
        "check that the file is complete, or pass format=NAME."
    )
