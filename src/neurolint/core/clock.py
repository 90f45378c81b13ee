"""When a series starts: its recording's start date and its first sample's time on it.

Readers leave two things in ``meta``: ``meas_date`` (ISO 8601 text or a datetime: the
recording's start) and the offset of the series' first sample from it, as NWB's
``starting_time`` (seconds) and/or ``first_samp`` (samples; MNE's first sample, moved by
time slices). Every writer dates its output from these two functions, so a file written
from a slice starts when its samples do, whatever the format.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["meas_datetime", "start_seconds"]


def meas_datetime(value: Any) -> dt.datetime | None:
    """``meta["meas_date"]`` as a timezone-aware datetime (naive ones taken as UTC, as MNE
    stores them); ``None`` when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def start_seconds(series: Any) -> float:
    """Seconds from the recording's start to the series' first sample: its own
    ``starting_time`` plus ``first_samp`` samples (both 0 when absent)."""
    start = float(series.meta.get("starting_time") or 0.0)
    return start + int(series.meta.get("first_samp") or 0) / series.sampling_rate
