"""Write a simulation: the data in a standard format and its ground truth beside it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.errors import OutputExistsError
from ..io._atomic import atomic_path, check_writable
from ._truth import Simulation

__all__ = ["write_simulation"]


def _clean_path(path: Path) -> Path:
    name = path.name
    ext = ".nii.gz" if name.endswith(".nii.gz") else path.suffix
    return path.with_name(name[: len(name) - len(ext)] + "_clean" + ext)


def write_simulation(
    sim: Simulation, path: str | os.PathLike, *, overwrite: bool = False
) -> list[Path]:
    """Write ``sim.data`` to ``path`` and the ground truth beside it.

    Files written (``<stem>`` is ``path``'s name without extension and BIDS suffix such as
    ``_eeg``): the data at ``path``; the artifact-free data as ``<name>_clean<ext>`` when the
    simulator returns it; ``<stem>_truth.json`` (parameters, events, channel verdicts,
    extras); ``<stem>_truth.npz`` for array-valued truth (spike trains, masks);
    ``<stem>_events.tsv`` and ``<stem>_channels.tsv`` in BIDS style where they apply.

    Parameters
    ----------
    sim : Simulation
        What a ``simulate_*`` function returned.
    path : str | path-like
        The data file; its extension picks the format (``.fif``, ``.edf``, ``.bin``, ``.nwb``,
        ``.tif``, ``.nii.gz``, ``.h5``, ...).
    overwrite : bool
        Replace existing files. default: ``False`` (checked for every file before writing).

    Returns
    -------
    list of pathlib.Path
        Every file written, data first.
    """
    from ..core.timeseries import TimeSeries
    from ..io import write
    from ..io.bids import bids_stem, write_channels_tsv, write_events_tsv

    path = Path(path)
    data, truth = sim
    stem = bids_stem(path)
    targets = {"data": path, "json": Path(f"{stem}_truth.json")}
    if truth.clean is not None:
        targets["clean"] = _clean_path(path)
    if truth.arrays:
        targets["npz"] = Path(f"{stem}_truth.npz")
    if truth.events or truth.channels:
        targets["events"] = Path(f"{stem}_events.tsv")
    if isinstance(data, TimeSeries):
        targets["channels"] = Path(f"{stem}_channels.tsv")
    # Check every target first so a refusal leaves no half-written set behind.
    for target in targets.values():
        check_writable(target, overwrite)
    if len(set(targets.values())) != len(targets):
        raise OutputExistsError(f"{path} would collide with its own sidecars; rename it.")

    written = []
    save = getattr(data, "save", None)
    if callable(save):
        written.append(save(path, overwrite=overwrite))
    else:
        written.append(write(data, path, overwrite=overwrite))
    if "clean" in targets:
        written.append(write(truth.clean, targets["clean"], overwrite=overwrite))
    with atomic_path(targets["json"], overwrite=overwrite) as tmp:
        tmp.write_text(truth.to_json() + "\n")
    written.append(targets["json"])
    if "npz" in targets:
        with atomic_path(targets["npz"], overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **truth.arrays)
        written.append(targets["npz"])
    if "events" in targets:
        written.append(write_events_tsv(truth.events, targets["events"], overwrite=overwrite))
    if "channels" in targets:
        written.append(
            write_channels_tsv(
                data.channels, truth.channels, targets["channels"], overwrite=overwrite
            )
        )
    return written
