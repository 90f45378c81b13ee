"""BrainVision output (``.vhdr`` + ``.vmrk`` + ``.eeg``), streamed, and its markers read back.

BrainVision is the format most EEG labs record in and one of the two BIDS recommends for
EEG, so a corrected recording should be able to go back to it. The writer follows the
BrainVision Core Data Format 1.0 as MNE's reader and pybv read and write it: IEEE float32
samples, multiplexed, volt-like channels in microvolts (resolution 1), other channels in
their own unit; annotations become markers (``Stimulus/S  1`` is type ``Stimulus``,
description ``S  1``; any other text is a ``Comment``), channel-specific ones one marker
per channel with its number; the start date is the ``New Segment`` marker's. Samples are
written a chunk at a time, so memory follows the chunk, not the recording. Channel
positions and types have no place in the format (BIDS keeps them in ``electrodes.tsv``
and ``channels.tsv``); names typed by the usual lead names (``EOG1``, ``ECG``) come back
typed on reading.

MNE's reader ignores a marker's channel number and reads a ``Comment`` as
``Comment/<text>``; :func:`read_markers` gives channel-specific annotations back with their
channels, and those of files neurolint wrote exactly as they were given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import make_annotation, pick_annotations
from ..core.channels import UNIT_SCALE_TO_SI, VOLT_UNITS
from ..core.clock import meas_datetime, start_seconds
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path, check_writable

__all__ = [
    "companion_files",
    "marker_file",
    "named_files",
    "read_markers",
    "write_brainvision",
    "written_by_us",
]

# The header's second line: the files are ours, so markers read back exactly (read_markers).
_SIGNATURE = "; Written by neurolint"
# Marker types of the Core Data Format (and BrainVision Recorder) that an MNE description
# "type/description" may start with.
_MARKER_TYPES = (
    "Stimulus", "Response", "Comment", "Time 0", "Voltage", "Threshold", "Optic",
    "SyncStatus", "DC Correction", "Bad Interval", "Impedance", "Trigger",
)  # fmt: skip


def companion_files(path: Path) -> list[Path]:
    """The marker and data files written beside ``path`` (the ``.vhdr``)."""
    return [path.with_suffix(".vmrk"), path.with_suffix(".eeg")]


def _escape(text: str) -> str:
    return str(text).replace(",", r"\1").replace("\n", " ").replace("\r", " ")


def _channel_lines(ts: TimeSeries) -> tuple[list[str], np.ndarray]:
    """``Ch<n>=`` lines and each channel's factor from its unit to the written one."""
    lines, scale = [], np.ones(ts.n_channels, dtype=np.float32)
    for i, (name, unit) in enumerate(zip(ts.ch_names, ts.channels.units, strict=True)):
        if unit in VOLT_UNITS:
            scale[i] = UNIT_SCALE_TO_SI[unit] / 1e-6
            written = "µV"
        else:
            written = "n/a" if unit in ("a.u.", "") else unit
        lines.append(f"Ch{i + 1}={_escape(name)},,1,{written}")
    return lines, scale


def _start(ts: TimeSeries) -> dt.datetime | None:
    """The date of the first sample: ``meas_date`` moved by the series' ``first_samp``."""
    meas = meas_datetime(ts.meta.get("meas_date"))
    if meas is None:
        return None
    return meas + dt.timedelta(seconds=start_seconds(ts))


def _markers(ts: TimeSeries) -> list[str]:
    """``Mk<n>=`` lines: the New Segment (with the date), then the annotations."""
    when = _start(ts)
    date = "" if when is None else "," + when.strftime("%Y%m%d%H%M%S%f")
    lines = [f"Mk1=New Segment,,1,1,0{date}"]
    index = {n: i + 1 for i, n in enumerate(ts.ch_names)}
    sf = ts.sampling_rate
    for ann in sorted(pick_annotations(ts.meta.get("annotations") or [], ts.ch_names),
                      key=lambda a: a["onset"]):  # fmt: skip
        kind, _, text = ann["description"].partition("/")
        if not text or kind not in _MARKER_TYPES:
            kind, text = "Comment", ann["description"]
        position = round(ann["onset"] * sf) + 1  # 1-based
        size = max(1, round(ann["duration"] * sf))
        for ch in [index[c] for c in ann["ch_names"]] or [0]:
            lines.append(
                f"Mk{len(lines) + 1}={_escape(kind)},{_escape(text)},{position},{size},{ch}"
            )
    return lines


def write_brainvision(
    ts: TimeSeries, path: Path, *, overwrite: bool = False, **job_kwargs: Any
) -> None:
    """Write ``path`` (``.vhdr``) with its ``.vmrk`` and ``.eeg`` beside it, atomically.

    The data file is written first and the header last, so a header never names files
    that are not complete. NaN samples (gaps) are kept: float32 holds them.

    Raises
    ------
    OutputExistsError
        If any of the three files exists and ``overwrite`` is not set.
    """
    interval = 1e6 / ts.sampling_rate  # microseconds; readers take decimals
    vmrk, eeg = companion_files(path)
    for target in (path, vmrk, eeg):
        check_writable(target, overwrite)
    lines, scale = _channel_lines(ts)
    with atomic_path(eeg, overwrite) as tmp, open(tmp, "wb") as fh:
        for _, block in ts.iter_chunks(**job_kwargs):
            out = block.astype(np.float32, copy=True)
            out *= scale[:, None]
            fh.write(np.ascontiguousarray(out.T).astype("<f4").tobytes())
    with atomic_path(vmrk, overwrite) as tmp:
        tmp.write_text(_marker_text(eeg.name, _markers(ts)), encoding="utf-8")
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(_header_text(ts, eeg.name, vmrk.name, lines, interval), encoding="utf-8")


def _header_text(
    ts: TimeSeries, data: str, markers: str, channels: Sequence[str], interval: float
) -> str:
    return "\n".join(
        [
            "Brain Vision Data Exchange Header File Version 1.0",
            _SIGNATURE,
            "",
            "[Common Infos]",
            "Codepage=UTF-8",
            f"DataFile={data}",
            f"MarkerFile={markers}",
            "DataFormat=BINARY",
            "DataOrientation=MULTIPLEXED",
            f"NumberOfChannels={ts.n_channels}",
            f"SamplingInterval={interval!r}",
            "",
            "[Binary Infos]",
            "BinaryFormat=IEEE_FLOAT_32",
            "",
            "[Channel Infos]",
            "; Ch<n>=<name>,<reference>,<resolution>,<unit>",
            *channels,
            "",
        ]
    )


def _marker_text(data: str, markers: Sequence[str]) -> str:
    return "\n".join(
        [
            "Brain Vision Data Exchange Marker File, Version 1.0",
            "",
            "[Common Infos]",
            "Codepage=UTF-8",
            f"DataFile={data}",
            "",
            "[Marker Infos]",
            "; Mk<n>=<type>,<description>,<position>,<size>,<channel (0: all)>[,<date>]",
            *markers,
            "",
        ]
    )


_MARKER = re.compile(r"^Mk\d+=(.*)$", re.MULTILINE)


def _named(vhdr: Path, key: str) -> Path | None:
    """The file a header names under ``key`` (``DataFile``, ``MarkerFile``), if it exists."""
    try:
        text = vhdr.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(rf"^{key}=(.+)$", text, re.MULTILINE)
    if not found:
        return None
    path = vhdr.parent / found.group(1).strip()
    return path if path.is_file() else None


def marker_file(vhdr: Path) -> Path | None:
    """The ``.vmrk`` a header names (``MarkerFile=``), if it exists."""
    return _named(vhdr, "MarkerFile")


def named_files(vhdr: Path) -> list[Path]:
    """The data and marker files a header names, those that exist."""
    return [p for key in ("DataFile", "MarkerFile") if (p := _named(vhdr, key)) is not None]


def written_by_us(vhdr: Path) -> bool:
    """Whether the header says neurolint wrote it (see :func:`write_brainvision`)."""
    try:
        with open(vhdr, "rb") as fh:
            return _SIGNATURE.encode() in fh.read(200)
    except OSError:
        return False


def read_markers(
    vmrk: Path, sfreq: float, names: Sequence[str], *, ours: bool = False
) -> list[dict[str, Any]] | None:
    """The markers of ``vmrk`` as ``meta["annotations"]`` holds them, channel-specific ones
    with their channels (markers alike but for the channel are one annotation); ``None``
    when none names a channel (MNE's reading is then the same) or the file is unreadable.

    With ``ours`` (a file :func:`write_brainvision` wrote), a ``Comment`` is its text
    alone, as it was given. Durations are the markers' sizes, as MNE reads them: a
    zero-length annotation is written as a one-sample marker and comes back one sample long.
    """
    try:
        text = vmrk.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    rows = []
    for line in _MARKER.findall(text):
        parts = line.strip().split(",")
        if len(parts) < 4 or parts[0] == "New Segment":
            continue
        try:
            position, size = int(parts[2]), int(parts[3] or 1)
            channel = int(parts[4]) if len(parts) > 4 and parts[4].strip() else 0
        except ValueError:
            return None
        kind, desc = (p.replace(r"\1", ",") for p in parts[:2])
        rows.append((kind, desc, position, size, channel))
    if not ours and not any(r[4] for r in rows):
        return None
    grouped: dict[tuple, list[str]] = {}
    for kind, desc, position, size, channel in rows:
        chans = grouped.setdefault((kind, desc, position, size), [])
        if 0 < channel <= len(names):
            chans.append(names[channel - 1])
    out = []
    for (kind, desc, pos, size), chans in sorted(grouped.items(), key=lambda kv: kv[0][2]):
        text = desc if ours and kind == "Comment" else f"{kind}/{desc}"
        out.append(make_annotation((pos - 1) / sfreq, size / sfreq, text, chans))
    return out
