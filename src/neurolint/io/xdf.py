"""XDF (Lab Streaming Layer recordings), through pyxdf.

XDF interleaves streams in chunks with no index, so a stream is loaded whole on reading; XDF
recordings are usually short enough for this.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..core.arrays import LazyArray
from ..core.channels import CHANNEL_TYPES, ChannelInfo
from ..core.errors import EmptyRecordingError, ParameterError
from ..core.timeseries import TimeSeries

__all__ = ["read_xdf"]


def _first(info: dict, key: str, default: Any = None) -> Any:
    value = info.get(key)
    if isinstance(value, list):
        value = value[0] if value else default
    return default if value is None else value


def _channel_desc(info: dict) -> list[dict]:
    desc = _first(info, "desc")
    if not isinstance(desc, dict):
        return []
    channels = _first(desc, "channels")
    if not isinstance(channels, dict):
        return []
    return [
        {k: _first(ch, k, "") for k in ("label", "type", "unit")}
        for ch in channels.get("channel", [])
    ]


def _is_numeric(stream: dict) -> bool:
    info = stream["info"]
    return (
        _first(info, "channel_format") != "string"
        and float(_first(info, "nominal_srate", 0)) > 0
        and len(stream["time_series"]) > 0
    )


def _load_stream(path: str, index: int) -> np.ndarray:
    import pyxdf

    streams, _ = pyxdf.load_xdf(path, dejitter_timestamps=True)
    return np.asarray(streams[index]["time_series"], dtype=np.float32)


def read_xdf(path: Path, *, stream: str | int | None = None) -> TimeSeries:
    """Read one regularly sampled numeric stream of an XDF file.

    Parameters
    ----------
    path : Path
    stream : str | int | None
        Stream name, type (e.g. ``"EEG"``) or index. default: ``None`` (the regularly sampled
        numeric stream with the most samples).
    """
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=True)
    names = [
        f"{_first(s['info'], 'name', '?')} ({_first(s['info'], 'type', '?')})" for s in streams
    ]
    if stream is None:
        candidates = [s for s in streams if _is_numeric(s)]
        if not candidates:
            raise EmptyRecordingError(
                f"{path.name} has no regularly sampled numeric stream "
                f"(streams: {', '.join(names)})."
            )
        chosen = max(candidates, key=lambda s: len(s["time_series"]))
    elif isinstance(stream, int) or str(stream).isdigit():
        idx = int(stream)
        if not 0 <= idx < len(streams):
            raise ParameterError(
                f"stream={stream} is out of range; {path.name} has {len(streams)}."
            )
        chosen = streams[idx]
    else:
        matches = [
            s for s in streams if stream in (_first(s["info"], "name"), _first(s["info"], "type"))
        ]
        if not matches:
            raise ParameterError(
                f"No stream {stream!r} in {path.name}; streams: {', '.join(names)}."
            )
        chosen = matches[0]
    if not _is_numeric(chosen):
        raise ParameterError(
            f"The chosen stream of {path.name} is not regularly sampled numeric data; pick another "
            f"with stream= (streams: {', '.join(names)})."
        )
    info = chosen["info"]
    data = np.asarray(chosen["time_series"], dtype=np.float32)
    # Workers reload the stream from the file rather than receive the samples pickled.
    store = LazyArray(
        partial(_load_stream, str(path), streams.index(chosen)), data.shape, data.dtype
    )
    store._array = data
    n_ch = data.shape[1]
    desc = _channel_desc(info)
    if len(desc) != n_ch:
        desc = [{"label": "", "type": "", "unit": ""}] * n_ch
    stream_type = str(_first(info, "type", "")).lower()
    labels = [d["label"] or f"ch{i:03d}" for i, d in enumerate(desc)]
    if len(set(labels)) != len(labels):
        labels = [f"{lab}_{i}" for i, lab in enumerate(labels)]
    types = []
    for d in desc:
        kind = str(d["type"] or stream_type).lower()
        types.append(kind if kind in CHANNEL_TYPES else "misc")
    # Units are taken only when the stream declares them; nothing is assumed.
    units = [d["unit"] or "a.u." for d in desc]
    rate = float(_first(info, "nominal_srate"))
    return TimeSeries(
        store,
        rate,
        ChannelInfo(labels, types, units),
        layout="samples_first",
        source=str(path),
        meta={
            "format": "xdf",
            "stream": _first(info, "name", ""),
            "effective_srate": float(_first(info, "effective_srate", rate) or rate),
            "first_timestamp": float(chosen["time_stamps"][0]),
        },
    )
