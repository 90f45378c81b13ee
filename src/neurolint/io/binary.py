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

from ..core.arrays import BinaryFileArray
from ..core.channels import ChannelInfo
from ..core.errors import EmptyRecordingError, ParameterError, ShapeError, SidecarError
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path, check_writable

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
        meta={"format": "binary", "sidecar": None if side_path is None else str(side_path)},
    )


def _int_gain(ts: TimeSeries, dtype: np.dtype, job_kwargs: dict) -> np.ndarray:
    """Per-channel gain that maps the data's largest magnitude onto the integer range."""
    peak = np.zeros(ts.n_channels)
    for _, block in ts.iter_chunks(**job_kwargs):
        if not np.isfinite(block).all():
            raise ParameterError(
                "The data hold NaN or inf, which an integer file cannot store; write float32."
            )
        peak = np.maximum(peak, np.abs(block).max(axis=1))
    limit = np.iinfo(dtype).max
    return np.where(peak > 0, peak / limit, 1.0)


def write_binary(
    ts: TimeSeries,
    path: Path,
    *,
    overwrite: bool = False,
    dtype: str = "float32",
    **job_kwargs: Any,
) -> None:
    """Write interleaved binary (``samples_first``) plus a ``.json`` sidecar, chunk by chunk.

    Integer ``dtype`` stores a per-channel gain in the sidecar so values keep their units.
    """
    np_dtype = np.dtype(dtype)
    side_final = path.with_suffix(".json")
    check_writable(side_final, overwrite)
    gain = _int_gain(ts, np_dtype, job_kwargs) if np_dtype.kind in "iu" else None
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            for _, block in ts.iter_chunks(**job_kwargs):
                if gain is not None:
                    block = np.rint(block / gain[:, None].astype(np.float32))
                np.ascontiguousarray(block.T, dtype=np_dtype).tofile(fh)
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
        if gain is not None:
            sidecar["gain"] = gain.tolist()
        if ts.channels.positions is not None:
            pos = ts.channels.positions
            sidecar["positions"] = np.where(np.isnan(pos), None, pos).tolist()
        with atomic_path(side_final, overwrite) as side_tmp:
            side_tmp.write_text(json.dumps(sidecar, indent=2))
