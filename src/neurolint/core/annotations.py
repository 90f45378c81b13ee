"""A recording's own annotations (MNE's, EDF+'s, BrainVision markers...), kept with it.

A reader puts them in ``meta["annotations"]`` as a list of dicts with ``onset`` and
``duration`` (seconds from the series' first sample), ``description`` and ``ch_names``
(empty for the whole recording). Views and corrections keep them; writers that can hold
annotations (FIF, EDF/BDF, NWB, binary's sidecar) write them back, so a corrected file
keeps the events and marks its input had.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["crop_annotations", "make_annotation", "pick_annotations"]


def make_annotation(
    onset: float, duration: float, description: str, ch_names: Iterable[str] = ()
) -> dict[str, Any]:
    """One annotation as ``meta["annotations"]`` holds it (plain types, JSON-ready)."""
    return {
        "onset": float(onset),
        "duration": max(0.0, float(duration)),
        "description": str(description),
        "ch_names": [str(c) for c in ch_names],
    }


def crop_annotations(
    annotations: Sequence[dict[str, Any]], start: float, stop: float
) -> list[dict[str, Any]]:
    """The annotations within ``[start, stop)`` seconds, on a clock that starts at ``start``.

    One that straddles an edge is cut to the part inside (as MNE's ``Raw.crop`` does); a
    zero-length one (a trigger) is kept when its onset lies inside.
    """
    out = []
    for ann in annotations:
        onset, end = ann["onset"], ann["onset"] + ann["duration"]
        inside = start <= onset < stop if ann["duration"] == 0 else end > start and onset < stop
        if inside:
            a, z = max(onset, start), min(end, stop)
            out.append({**ann, "onset": a - start, "duration": max(0.0, z - a)})
    return out


def pick_annotations(
    annotations: Sequence[dict[str, Any]], names: Sequence[str]
) -> list[dict[str, Any]]:
    """The annotations that concern ``names``: every whole-recording one, and each
    channel-specific one that names a kept channel (listing only the kept ones)."""
    keep = set(names)
    out = []
    for ann in annotations:
        chans = [c for c in ann.get("ch_names", ()) if c in keep]
        if not ann.get("ch_names") or chans:
            out.append({**ann, "ch_names": chans})
    return out
