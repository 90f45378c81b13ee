"""EEGLAB output (``.set`` + ``.fdt``), the samples streamed.

EEGLAB keeps the recording's description in a MATLAB ``.set`` file and, optionally, the
samples in a float32 ``.fdt`` file beside it; written that way, the samples go to disk a
chunk at a time and only the description passes through :func:`scipy.io.savemat`. Values
are in microvolts, as EEGLAB assumes (channels in other units are written as they are:
EEGLAB has one unit, and MNE's reader scales every channel as microvolts). Channel types
go in ``chanlocs.type`` (``EEG``, ``EOG``, ``ECG``...), positions in ``X``/``Y``/``Z`` in
millimetres on EEGLAB's axes (nose along +X), annotations in ``event`` (``type``,
``latency`` in samples from 1, ``duration`` in samples; channel-specific ones as MNE's
``BAD_x@@Fp1``, one event per channel). EEGLAB has no start date. MNE's reader places
only the EEG channels, so an EOG channel's position does not come back through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import pick_annotations
from ..core.channels import UNIT_SCALE_TO_SI, VOLT_UNITS
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path, check_writable

__all__ = ["companion_files", "write_eeglab"]

# neurolint type -> EEGLAB chanlocs.type (what MNE's reader maps back).
_EEGLAB_TYPES = {"eeg": "EEG", "eog": "EOG", "ecg": "ECG", "emg": "EMG", "seeg": "SEEG",
                 "ecog": "ECOG", "meg": "MEG", "misc": "MISC"}  # fmt: skip


def companion_files(path: Path) -> list[Path]:
    """The data file written beside ``path`` (the ``.set``)."""
    return [path.with_suffix(".fdt")]


def _chanlocs(ts: TimeSeries) -> np.ndarray:
    """``EEG.chanlocs``: labels, type and X/Y/Z (mm, EEGLAB axes; empty where unknown)."""
    fields = [("labels", object), ("type", object), ("X", object), ("Y", object), ("Z", object)]
    out = np.zeros(ts.n_channels, dtype=fields)
    pos = ts.channels.positions
    empty = np.zeros((0,))
    for i, (name, kind) in enumerate(zip(ts.ch_names, ts.channels.types, strict=True)):
        xyz = None if pos is None or not np.isfinite(pos[i]).all() else pos[i] * 1e3
        # MNE's reader takes (x, y, z) = (-Y, X, Z): nose along +X in EEGLAB.
        x, y, z = (empty,) * 3 if xyz is None else (xyz[1], -xyz[0], xyz[2])
        out[i] = (name, _EEGLAB_TYPES.get(kind, "MISC"), x, y, z)
    return out


def _events(ts: TimeSeries) -> np.ndarray:
    """``EEG.event``: one row per annotation (per channel for channel-specific ones)."""
    rows = []
    for ann in pick_annotations(ts.meta.get("annotations") or [], ts.ch_names):
        latency = ann["onset"] * ts.sampling_rate + 1.0  # EEGLAB counts samples from 1
        duration = ann["duration"] * ts.sampling_rate
        for label in [f"{ann['description']}@@{c}" for c in ann["ch_names"]] or [
            ann["description"]
        ]:
            rows.append((label, latency, duration))
    rows.sort(key=lambda r: r[1])
    out = np.zeros(len(rows), dtype=[("type", object), ("latency", object), ("duration", object)])
    for i, row in enumerate(rows):
        out[i] = row
    return out


def write_eeglab(ts: TimeSeries, path: Path, *, overwrite: bool = False, **job_kwargs: Any) -> None:
    """Write ``path`` (``.set``) and its ``.fdt`` beside it, the ``.fdt`` first.

    Raises
    ------
    OutputExistsError
        If either file exists and ``overwrite`` is not set.
    """
    from scipy.io import savemat

    (fdt,) = companion_files(path)
    for target in (path, fdt):
        check_writable(target, overwrite)
    scale = np.array(
        [UNIT_SCALE_TO_SI[u] / 1e-6 if u in VOLT_UNITS else 1.0 for u in ts.channels.units],
        dtype=np.float32,
    )
    with atomic_path(fdt, overwrite) as tmp, open(tmp, "wb") as fh:
        for _, block in ts.iter_chunks(**job_kwargs):
            out = block.astype(np.float32, copy=True)
            out *= scale[:, None]
            fh.write(np.ascontiguousarray(out.T).astype("<f4").tobytes())  # sample-major
    n, sf = ts.n_samples, float(ts.sampling_rate)
    eeg = {
        "setname": path.stem,
        "filename": path.name,
        "filepath": "",
        "subject": "",
        "condition": "",
        "nbchan": float(ts.n_channels),
        "trials": 1.0,
        "pnts": float(n),
        "srate": sf,
        "xmin": 0.0,
        "xmax": (n - 1) / sf,
        "times": np.zeros((0,)),
        "data": fdt.name,
        "chanlocs": _chanlocs(ts),
        "urchanlocs": np.zeros((0,)),
        "chaninfo": {"nosedir": "+X"},
        "ref": "common",
        "event": _events(ts),
        "urevent": np.zeros((0,)),
        "epoch": np.zeros((0,)),
        "icaweights": np.zeros((0,)),
        "icasphere": np.zeros((0,)),
        "icawinv": np.zeros((0,)),
        "icachansind": np.zeros((0,)),
        "comments": "Written by neurolint",
        "history": "",
        "saved": "justloaded",
        "etc": {"writer": "neurolint"},
    }
    with atomic_path(path, overwrite) as tmp, open(tmp, "wb") as fh:
        savemat(fh, {"EEG": eeg}, appendmat=False, oned_as="row")
