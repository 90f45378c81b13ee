"""A series read from an NWB file, written as a copy of that file with its samples replaced.

An NWB file holds far more than one series: subject, experimenters, devices, electrode
groups and every column of the electrodes table, other acquisitions, processing modules,
units, trials. A corrected series written to NWB from an NWB input is therefore written
as the input file exported by pynwb (every object copied, none linked) with the series
swapped for one holding the new samples, under the same name and place, on the same
electrode rows, with the same description, filtering and comments; its start time moves
with a time slice. The fresh-file writer in :mod:`neurolint.io.nwb` is used otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..core.clock import start_seconds
from ..core.timeseries import TimeSeries
from .nwb_annotations import TABLE, add_annotations

__all__ = ["can_export", "export_series"]

logger = logging.getLogger("neurolint")


def can_export(ts: TimeSeries) -> bool:
    """Whether ``ts`` came from an ElectricalSeries of an NWB file that is still there."""
    src = ts.source
    return (
        ts.meta.get("format") == "nwb"
        and ts.meta.get("neurodata_type") == "ElectricalSeries"
        and bool(ts.meta.get("series"))
        and src is not None
        and Path(src).is_file()
    )


def export_series(ts: TimeSeries, target: Path, payload: Any, pynwb: Any) -> bool:
    """Write ``target`` as ``ts.source`` with the series replaced; ``False`` (nothing
    written) when the source's series no longer matches ``ts`` (other channels or rate).

    ``payload(ts)`` gives what :func:`neurolint.io.nwb._series_payload` gives: the data
    iterator, conversion arguments and the description for channels not in volts.
    """
    from .nwb import _all_series, electrode_names

    with pynwb.NWBHDF5IO(str(ts.source), "r") as src_io:
        nwbfile = src_io.read()
        old = _all_series(src_io, nwbfile, pynwb).get(ts.meta["series"])
        rows = _rows_for(old, ts, pynwb, electrode_names)
        if rows is None:
            return False
        data, extra, description, _, not_volts = payload(ts)
        if not not_volts:
            description = old.description  # the user's own; the data are in volts as ever
        new = pynwb.ecephys.ElectricalSeries(
            name=old.name,
            data=data,
            electrodes=nwbfile.create_electrode_table_region(
                rows, old.electrodes.description, name="electrodes"
            ),
            rate=float(ts.sampling_rate),
            starting_time=start_seconds(ts),
            description=description,
            # Optional fields: passed only where the source has them (pynwb refuses None).
            **{k: v for k in ("filtering", "comments") if (v := getattr(old, k, None))},
            **extra,
        )
        if not _swap(old, new, nwbfile):
            return False
        _replace_annotations(nwbfile, ts, pynwb)
        nwbfile.generate_new_id()  # a new file: new object ids, as pynwb asks of exports
        with pynwb.NWBHDF5IO(str(target), "w") as out_io:
            out_io.export(src_io=src_io, nwbfile=nwbfile, write_args={"link_data": False})
    return True


def _rows_for(old: Any, ts: TimeSeries, pynwb: Any, electrode_names: Any) -> list[int] | None:
    """The electrode rows of ``old`` that ``ts``'s channels are, in ``ts``'s order."""
    if not isinstance(old, pynwb.ecephys.ElectricalSeries) or old.electrodes is None:
        return None
    rows = np.asarray(old.electrodes.data[:], dtype=np.int64)
    names = electrode_names(old.electrodes.table, rows)
    where = {n: int(r) for n, r in zip(names, rows, strict=True)}
    if any(n not in where for n in ts.ch_names):
        logger.info("%s: channels renamed since reading; writing a new NWB file", ts.source)
        return None
    return [where[n] for n in ts.ch_names]


def _swap(old: Any, new: Any, nwbfile: Any) -> bool:
    """Put ``new`` where ``old`` is: in acquisition, in its LFP / FilteredEphys, or in a
    processing module."""
    parent = old.parent
    if parent is nwbfile:
        nwbfile.acquisition.pop(old.name)
        nwbfile.add_acquisition(new)
        return True
    if hasattr(parent, "electrical_series"):
        parent.electrical_series.pop(old.name)
        parent.add_electrical_series(new)
        return True
    if hasattr(parent, "data_interfaces"):  # a processing module holding it directly
        parent.data_interfaces.pop(old.name)
        parent.add(new)
        return True
    return False


def _replace_annotations(nwbfile: Any, ts: TimeSeries, pynwb: Any) -> None:
    """Swap the file's annotations table (if neurolint's) for ``ts``'s annotations."""
    intervals = nwbfile.intervals or {}
    table = intervals.get(TABLE)
    if table is not None:
        if "annotation" not in table.colnames:
            logger.warning(
                "%s: an intervals table named %r exists and is not neurolint's; the "
                "annotations are not written to it",
                ts.source,
                TABLE,
            )
            return
        nwbfile.intervals.pop(TABLE)
    add_annotations(nwbfile, ts, pynwb, start=start_seconds(ts))
