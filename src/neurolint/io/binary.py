"""Raw binary recordings described by a JSON sidecar or by options.

A sidecar names the sample type, the channel count (or the array shape, with ``-1`` for the
sample axis), the rate, and optionally channel names, types, units, a per-channel gain and
offset, and a header size. ``../shared/data/ephys/locust_info.json`` is an example::

    {"sample_rate": 15000.0, "shape": [-1, 4], "dtype": "int16"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import make_annotation, pick_annotations
from ..core.arrays import BinaryFileArray
from ..core.channels import ChannelInfo
from ..core.errors import (
    DataValueError,
    EmptyRecordingError,
    ParameterError,
    ShapeError,
    SidecarError,
)
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path, check_writable
from ._integers import fits, new_range, rescale, rounded, scaled, widen

__all__ = ["find_sidecar", "read_binary", "write_binary"]

_RATE_KEYS = ("sampling_rate", "sample_rate", "sampling_frequency", "sfreq", "fs", "rate")


def _looks_like_sidecar(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "dtype" in data and ("shape" in data or "n_channels" in data)


def find_sidecar(path: Path) -> Path | None:
    """The JSON sidecar of a binary file: ``x.json``, ``x.raw.json``, or the one in its folder."""
    for cand in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        if cand.is_file():
            return cand
    others = [p for p in path.parent.glob("*.json") if _looks_like_sidecar(p)]
    return others[0] if len(others) == 1 else None


def _load_sidecar(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise SidecarError(f"Sidecar {path} is not valid JSON ({exc}); fix or remove it.") from None
    if not isinstance(data, dict):
        raise SidecarError(f"Sidecar {path} must hold a JSON object.")
    return data


def _merge(sidecar: dict[str, Any], options: dict[str, Any], source: str) -> dict[str, Any]:
    """Options fill in or confirm the sidecar; a contradiction is an error."""
    merged = dict(sidecar)
    rate_key = next((k for k in _RATE_KEYS if k in sidecar), None)
    for key, value in options.items():
        if value is None:
            continue
        skey = rate_key if key == "sampling_rate" and rate_key else key
        if (
            skey in sidecar
            and sidecar[skey] != value
            and not (key == "dtype" and np.dtype(sidecar[skey]) == np.dtype(value))
        ):
            raise SidecarError(
                f"{key}={value!r} contradicts the sidecar {source} ({skey}={sidecar[skey]!r}); "
                "fix the sidecar or drop the option."
            )
        merged[skey] = value
    return merged


def read_binary(
    path: Path,
    *,
    dtype: str | None = None,
    n_channels: int | None = None,
    sampling_rate: float | None = None,
    layout: str | None = None,
    offset: int | None = None,
    sidecar: str | Path | None = None,
    channel_names: list[str] | None = None,
    channel_types: list[str] | str | None = None,
    units: list[str] | str | None = None,
    gain: Any = None,
) -> TimeSeries:
    """Read a flat binary file lazily.

    Parameters
    ----------
    path : Path
        The data file.
    dtype, n_channels, sampling_rate : optional
        Needed unless the sidecar gives them.
    layout : {"samples_first", "channels_first"} | None
        ``samples_first`` is interleaved (sample 0 of every channel, then sample 1...).
        default: from the sidecar's ``shape``, else ``"samples_first"``.
    offset : int | None
        Header bytes to skip. default: 0.
    sidecar : path | None
        JSON sidecar. default: found beside the file (see :func:`find_sidecar`).
    channel_names, channel_types, units, gain : optional
        Channel metadata, if the sidecar lacks it.
    """
    side_path = Path(sidecar) if sidecar else find_sidecar(path)
    side = _load_sidecar(side_path) if side_path else {}
    source = str(side_path) if side_path else "(none)"
    meta = _merge(
        side,
        {
            "dtype": dtype,
            "n_channels": n_channels,
            "sampling_rate": sampling_rate,
            "layout": layout,
            "offset": offset,
            "channel_names": channel_names,
            "channel_types": channel_types,
            "units": units,
            "gain": gain,
        },
        source,
    )
    rate = next((meta[k] for k in _RATE_KEYS if k in meta), None)
    if "dtype" not in meta or rate is None:
        raise SidecarError(
            f"{path.name} needs its sample type and rate: add a JSON sidecar "
            f"({path.with_suffix('.json').name}) with dtype, n_channels (or shape) and "
            "sampling_rate, or pass dtype=, n_channels=, sampling_rate=."
        )
    try:
        np_dtype = np.dtype(meta["dtype"])
    except TypeError:
        raise SidecarError(f"dtype {meta['dtype']!r} in {source} is not a numpy dtype.") from None
    shape = meta.get("shape")
    lay = meta.get("layout")
    n_ch = meta.get("n_channels")
    if shape is not None:
        if len(shape) != 2 or (shape[0] != -1 and shape[1] != -1 and min(shape) <= 0):
            raise SidecarError(
                f"shape {shape} in {source} must be [-1, n_channels] or [n_channels, -1]."
            )
        shape_ch, shape_lay = (
            (shape[1], "samples_first") if shape[0] == -1 else (shape[0], "channels_first")
        )
        if n_ch is not None and int(n_ch) != int(shape_ch):
            raise SidecarError(f"n_channels={n_ch} contradicts shape {shape} in {source}.")
        if lay is not None and lay != shape_lay:
            raise SidecarError(f"layout={lay!r} contradicts shape {shape} in {source}.")
        n_ch, lay = shape_ch, shape_lay
    if n_ch is None:
        raise SidecarError(
            f"{path.name}: give the channel count (n_channels= or the sidecar's shape)."
        )
    n_ch = int(n_ch)
    if n_ch <= 0:
        raise SidecarError(f"n_channels={n_ch} must be positive.")
    lay = lay or "samples_first"
    header = int(meta.get("offset", meta.get("header_size", 0)) or 0)
    data_bytes = path.stat().st_size - header
    frame = n_ch * np_dtype.itemsize
    if data_bytes <= 0:
        raise EmptyRecordingError(f"{path} holds no samples after its {header}-byte header.")
    if data_bytes % frame:
        raise ShapeError(
            f"{path.name} holds {data_bytes} bytes, not a multiple of {n_ch} channels x "
            f"{np_dtype.itemsize} bytes ({np_dtype}); check n_channels, dtype and offset."
        )
    n_samples = data_bytes // frame
    if "n_samples" in meta and int(meta["n_samples"]) != n_samples:
        raise SidecarError(
            f"Sidecar {source} says {meta['n_samples']} samples but {path.name} holds {n_samples}; "
            "the file is truncated or the sidecar belongs to another file."
        )
    names = meta.get("channel_names")
    if names is not None and len(names) != n_ch:
        raise SidecarError(
            f"Sidecar {source} names {len(names)} channels for {n_ch}; give one name per channel."
        )
    positions = meta.get("positions")
    if positions is not None:
        positions = np.array([[np.nan if v is None else v for v in row] for row in positions])
    channels = ChannelInfo(
        names if names is not None else [f"ch{i:03d}" for i in range(n_ch)],
        meta.get("channel_types"),
        meta.get("units", "a.u."),
        positions,
    )
    shape2 = (n_samples, n_ch) if lay == "samples_first" else (n_ch, n_samples)
    store = BinaryFileArray(path, np_dtype, shape2, header)
    return TimeSeries(
        store,
        float(rate),
        channels,
        layout=lay,
        gain=meta.get("gain"),
        offset=meta.get("gain_offset"),
        modality=meta.get("modality"),
        source=str(path),
        meta={
            "format": "binary",
            "sidecar": None if side_path is None else str(side_path),
            # What our own sidecars keep of a recording beside its samples (see write_binary).
            **_read_kept_meta(meta, source),
        },
    )


def _read_kept_meta(side: dict, source: str) -> dict:
    """What :func:`_kept_meta` wrote into a sidecar, checked; ``{}`` for other sidecars."""
    out: dict[str, Any] = {}
    try:
        if side.get("bads"):
            if not isinstance(side["bads"], list):
                raise TypeError("bads must be a list of channel names")
            out["bads"] = [str(b) for b in side["bads"]]
        if side.get("meas_date"):
            out["meas_date"] = str(side["meas_date"])
        if side.get("annotations"):
            out["annotations"] = [
                make_annotation(a["onset"], a["duration"], a["description"], a.get("ch_names", ()))
                for a in side["annotations"]
            ]
    except (TypeError, KeyError, ValueError):
        raise SidecarError(
            f"Sidecar {source} has malformed bads, meas_date or annotations (each annotation "
            "needs onset, duration and description); fix or remove them."
        ) from None
    return out


def _check_finite(block: np.ndarray) -> None:
    if not np.isfinite(block).all():
        raise ParameterError(
            "The data hold NaN or inf, which an integer file cannot store; write float32."
        )


def _write_ints(
    ts: TimeSeries, fh: Any, dtype: np.dtype, gain: np.ndarray, offset: np.ndarray, job_kwargs
) -> tuple[int | None, np.ndarray]:
    """Write ``(x - offset) / gain`` rounded to ``dtype``; stop at the first chunk that does
    not fit. Returns where that chunk starts (``None``: all written) and the range seen."""
    seen = new_range(ts.n_channels)
    for chunk, block in ts.iter_chunks(**job_kwargs):
        _check_finite(block)
        x = scaled(block, gain, offset, seen)
        if not fits(seen, dtype).all():
            return chunk.start, seen
        np.ascontiguousarray(rounded(x, dtype).T).tofile(fh)
    return None, seen


def _write_samples(ts: TimeSeries, tmp: Path, dtype: np.dtype, job_kwargs: dict):
    """Write the samples; for an integer type return the ``(gain, offset)`` used.

    Integers keep the gain and offset the values were stored with
    (:attr:`TimeSeries.integer_storage`) on every channel they still fit, so samples a
    correction left alone are written back as the same integers, in one pass when all fit.
    Other channels (all, without a stored scaling) get a gain that maps their peak onto
    the integer range, which takes a pass to find first.
    """
    if dtype.kind not in "iu":
        with open(tmp, "wb") as fh:
            for _, block in ts.iter_chunks(**job_kwargs):
                np.ascontiguousarray(block.T, dtype=dtype).tofile(fh)
        return None
    n = ts.n_channels
    storage = ts.integer_storage
    if storage is None:
        gain, offset, seen, stopped = np.ones(n), np.zeros(n), new_range(n), 0
    else:
        gain, offset = storage.gain, storage.offset
        with open(tmp, "wb") as fh:
            stopped, seen = _write_ints(ts, fh, dtype, gain, offset, job_kwargs)
        if stopped is None:
            return gain, offset
    # Each channel's range over what is left; a new gain where the stored one does not fit.
    widen(ts, gain, offset, seen, job_kwargs, start=stopped, check=_check_finite)
    keep = fits(seen, dtype) if storage is not None else np.zeros(n, dtype=bool)
    gain, offset = rescale(seen, gain, offset, dtype, keep)
    with open(tmp, "wb") as fh:
        stopped, _ = _write_ints(ts, fh, dtype, gain, offset, job_kwargs)
    if stopped is not None:
        raise DataValueError(
            "The data changed between two reads while being written as integers; write a "
            "stable copy, or write float32."
        )
    return gain, offset


def _kept_meta(ts: TimeSeries) -> dict:
    """The bad channels, start date and annotations of ``ts`` that name its channels."""
    out = {}
    bads = [b for b in ts.meta.get("bads", []) if b in ts.ch_names]
    if bads:
        out["bads"] = bads
    if ts.meta.get("meas_date"):
        out["meas_date"] = str(ts.meta["meas_date"])
    annotations = pick_annotations(ts.meta.get("annotations") or [], ts.ch_names)
    if annotations:
        out["annotations"] = annotations
    return out


def write_binary(
    ts: TimeSeries,
    path: Path,
    *,
    overwrite: bool = False,
    dtype: str | None = None,
    **job_kwargs: Any,
) -> None:
    """Write interleaved binary (``samples_first``) plus a ``.json`` sidecar, chunk by chunk.

    ``dtype`` defaults to the integer type the values were stored as
    (:attr:`TimeSeries.integer_storage`: an integer binary file, and :func:`neurolint.fix`'s
    output of one), else float32. Integer types store a per-channel gain (and offset) in the
    sidecar so values keep their units: the scaling the values were read with when they
    came from integers and still fit, else one that maps each channel's peak onto the
    integer range.
    """
    if dtype is None:
        storage = ts.integer_storage
        dtype = "float32" if storage is None else storage.dtype
    np_dtype = np.dtype(dtype)
    side_final = path.with_suffix(".json")
    check_writable(side_final, overwrite)
    with atomic_path(path, overwrite) as tmp:
        scaling = _write_samples(ts, tmp, np_dtype, job_kwargs)
        sidecar = {
            "format": "neurolint-binary",
            "version": 1,
            "sampling_rate": ts.sampling_rate,
            "dtype": np_dtype.str,
            "shape": [-1, ts.n_channels],
            "n_samples": ts.n_samples,
            "channel_names": ts.ch_names,
            "channel_types": list(ts.channels.types),
            "units": list(ts.channels.units),
            "modality": ts.modality,
        }
        if scaling is not None:
            sidecar["gain"] = scaling[0].tolist()
            if np.any(scaling[1] != 0):
                sidecar["gain_offset"] = scaling[1].tolist()
        if ts.channels.positions is not None:
            pos = ts.channels.positions
            sidecar["positions"] = np.where(np.isnan(pos), None, pos).tolist()
        sidecar.update(_kept_meta(ts))
        with atomic_path(side_final, overwrite) as side_tmp:
            side_tmp.write_text(json.dumps(sidecar, indent=2))
