"""A check's findings into an NWB file, where NWB tools look for them.

* Every event becomes a row of a ``TimeIntervals`` table (``intervals/neurolint_qc`` by
  default) with its kind, channels, confidence and detector, and, unless asked not to, a row
  of the file's ``invalid_times`` (NWB's "time intervals that should be removed from
  analysis", as MNE's ``BAD_`` annotations are), tagged ``neurolint`` and the kind.
* Each checked channel's verdict goes into two columns of the electrodes table,
  ``neurolint_status`` ("good", "bad"; "n/a" for rows the check did not see) and
  ``neurolint_reasons``, matched by the names :func:`neurolint.read` gives the rows.

Times are the check's (seconds from the recording's first sample) plus the series'
``starting_time``, so they land on the NWB file's clock. The file is changed in memory:
write it with pynwb (``NWBHDF5IO(path, "a")`` to add to a file on disk).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.validate import import_optional
from .nwb import electrode_names

__all__ = ["add_qc_to_nwb"]

_STANDARD_INVALID_COLUMNS = {"start_time", "stop_time", "tags", "timeseries"}


def _electrical_series(nwbfile: Any, series: Any) -> Any:
    """The ElectricalSeries the check ran on: ``series`` (object or name), or the file's
    only one; ``None`` when the file holds none."""
    pynwb = import_optional("pynwb", "nwb")
    found = [
        obj for obj in nwbfile.objects.values() if isinstance(obj, pynwb.ecephys.ElectricalSeries)
    ]
    if series is None:
        if len(found) > 1:
            names = ", ".join(sorted(o.name for o in found))
            raise ParameterError(
                f"The file holds {len(found)} electrical series ({names}); say which one was "
                "checked with series=."
            )
        return found[0] if found else None
    if isinstance(series, str):
        named = [o for o in found if o.name == series.rsplit("/", 1)[-1]]
        if len(named) != 1:
            raise ParameterError(
                f"No single electrical series named {series!r} in the file; give the object."
            )
        return named[0]
    return series


def _start(series: Any) -> float:
    if series is None:
        return 0.0
    if series.rate is not None:
        return float(series.starting_time or 0.0)
    return float(np.asarray(series.timestamps[:1])[0])


def add_qc_to_nwb(
    qc: Any,
    nwbfile: Any,
    *,
    series: Any = None,
    name: str = "neurolint_qc",
    invalid_times: bool = True,
) -> dict[str, int]:
    """Add ``qc``'s events and channel verdicts to an in-memory ``pynwb.NWBFile``.

    Parameters
    ----------
    qc : QCResult
        From :func:`neurolint.check` of a series of this file.
    nwbfile : pynwb.NWBFile
        Changed in place.
    series : pynwb.ecephys.ElectricalSeries | str | None
        The series that was checked (its start time and electrodes). default: ``None`` (the
        file's only electrical series; none: times from 0 and no electrode columns).
    name : str
        Name of the events table under ``intervals``. default: ``"neurolint_qc"``.
    invalid_times : bool
        Also add each event to ``invalid_times``. default: ``True``.

    Returns
    -------
    dict
        ``events``, ``invalid_times`` and ``electrodes``: rows added to each.

    Raises
    ------
    ParameterError
        The file already holds a table ``name`` or neurolint's electrode columns, or its
        ``invalid_times`` has columns of its own, or the series is ambiguous.
    """
    from pynwb.epoch import TimeIntervals

    target = _electrical_series(nwbfile, series)
    if name in nwbfile.intervals:
        raise ParameterError(f"The file already holds intervals/{name}; pass another name=.")
    electrodes = nwbfile.electrodes
    if electrodes is not None and "neurolint_status" in electrodes.colnames:
        raise ParameterError("The electrodes table already holds neurolint's status columns.")
    existing = nwbfile.invalid_times
    if invalid_times and existing is not None:
        extra = set(existing.colnames) - _STANDARD_INVALID_COLUMNS
        if extra:
            raise ParameterError(
                f"invalid_times has columns of its own ({', '.join(sorted(extra))}); "
                "pass invalid_times=False and use the events table."
            )
    start = _start(target)
    events = sorted(qc.events, key=lambda e: (e.onset, e.kind))
    version = qc.meta.get("neurolint", "")
    table = TimeIntervals(
        name=name,
        description=f"neurolint {version} check: artifact events (times on the file's clock).",
    )
    table.add_column("kind", "artifact kind, in neurolint's vocabulary")
    table.add_column("channels", "names of the channels the event was found on, comma-separated")
    table.add_column("confidence", "confidence in [0, 1]")
    table.add_column("detector", "the neurolint detector that reported it")
    for e in events:
        a = start + float(e.onset)
        table.add_interval(
            start_time=a,
            stop_time=a + float(e.duration),
            kind=e.kind,
            channels=",".join(e.channels),
            confidence=float(e.confidence),
            detector=e.detector,
        )
    nwbfile.add_time_intervals(table)
    n_invalid = 0
    if invalid_times:
        for e in events:
            a = start + float(e.onset)
            nwbfile.add_invalid_time_interval(
                start_time=a, stop_time=a + float(e.duration), tags=["neurolint", e.kind]
            )
            n_invalid += 1
    n_rows = _add_status(qc, electrodes, target) if electrodes is not None else 0
    return {"events": len(events), "invalid_times": n_invalid, "electrodes": n_rows}


def _add_status(qc: Any, electrodes: Any, series: Any) -> int:
    """Fill the two status columns; returns how many rows carry a verdict."""
    rows = (
        np.asarray(series.electrodes.data[:], dtype=np.int64)
        if series is not None and series.electrodes is not None
        else np.arange(len(electrodes))
    )
    by_name = dict(zip(electrode_names(electrodes, rows), rows.tolist(), strict=True))
    status = ["n/a"] * len(electrodes)
    reasons = [""] * len(electrodes)
    matched = 0
    for ch in qc.channels:
        row = by_name.get(ch.name)
        if row is None:
            continue
        status[row] = ch.status
        reasons[row] = "; ".join(ch.reasons)
        matched += 1
    if matched == 0:
        return 0  # no checked channel is in this table: nothing to say about its rows
    electrodes.add_column(
        "neurolint_status", "neurolint check: good, bad, or n/a (not checked)", data=status
    )
    electrodes.add_column("neurolint_reasons", "why neurolint called it bad", data=reasons)
    return matched
