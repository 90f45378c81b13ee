"""A series' annotations in an NWB file: the ``intervals/annotations`` table.

Rows hold ``start_time`` and ``stop_time`` (seconds on the file's clock), ``annotation``
(the text: ``BAD_manual``, ``stim/1``...) and, when any annotation is channel-specific,
``channels`` (a ragged list of channel names, empty for the whole recording).
:func:`neurolint.write` makes it from ``meta["annotations"]`` and :func:`neurolint.read`
gives it back there, so a recording's marks survive a round trip through NWB as they do
through FIF and EDF.
"""

from __future__ import annotations

from typing import Any

from ..core.annotations import make_annotation, pick_annotations
from ..core.timeseries import TimeSeries

__all__ = ["TABLE", "add_annotations", "read_annotations"]

TABLE = "annotations"


def add_annotations(nwbfile: Any, ts: TimeSeries, pynwb: Any, start: float = 0.0) -> None:
    """Add ``ts``'s annotations (those of its channels) to ``nwbfile``; ``start`` is the
    written series' ``starting_time``."""
    kept = pick_annotations(ts.meta.get("annotations") or [], ts.ch_names)
    if not kept:
        return
    table = pynwb.epoch.TimeIntervals(
        name=TABLE, description="The recording's own annotations, kept by neurolint."
    )
    table.add_column("annotation", "The annotation's text (MNE's description).")
    # A ragged column cannot be all empty (hdmf infers its type from the data): without
    # channel-specific annotations there is no column, which reads as "all channels".
    with_channels = any(ann["ch_names"] for ann in kept)
    if with_channels:
        table.add_column("channels", "Channels it concerns; none: all of them.", index=True)
    for ann in kept:
        onset = start + ann["onset"]
        row = {"start_time": onset, "stop_time": onset + ann["duration"]}
        row["annotation"] = ann["description"]
        if with_channels:
            row["channels"] = list(ann["ch_names"])
        table.add_row(**row)
    nwbfile.add_time_intervals(table)


def read_annotations(nwbfile: Any, start: float) -> list[dict[str, Any]]:
    """The rows of ``nwbfile``'s annotations table on a clock that starts at the read
    series' first sample (``start``, its ``starting_time``); ``[]`` without one."""
    table = (nwbfile.intervals or {}).get(TABLE)
    if table is None or "annotation" not in table.colnames:
        return []
    has_channels = "channels" in table.colnames
    out = []
    for i in range(len(table)):
        onset = float(table["start_time"][i])
        chans = list(table["channels"][i]) if has_channels else []
        out.append(
            make_annotation(
                onset - start,
                float(table["stop_time"][i]) - onset,
                table["annotation"][i],
                chans,
            )
        )
    return out
