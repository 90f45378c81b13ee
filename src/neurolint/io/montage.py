"""Electrode positions for recordings that store none: a montage, or BIDS electrodes.tsv.

Clinical EDF files and many BrainVision files carry 10-20 names but no positions, and
positions are what neighbour-based checks and spherical-spline repair use. A montage can
be given when reading (``nl.read(path, montage="standard_1020")``, ``--option
montage=...``): any of MNE's built-in montages or a file MNE's ``read_custom_montage``
reads (``.loc``/``.locs``, ``.elc``, ``.sfp``, ``.bvef``, ``.csd``, ``.elp``, ``.hpts``).
Without one, a BIDS dataset's ``electrodes.tsv`` beside the recording (with its
``coordsystem.json`` for units and axes) is used when the file itself has no positions.
Only EEG-like channels are placed (MNE's rule: eye and heart leads are not).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError

__all__ = ["bids_electrodes", "place"]

logger = logging.getLogger("neurolint")

_UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}
# BIDS coordinate systems whose axes are EEGLAB's (x anterior, y left): MNE's head frame
# has x right, y anterior.
_ALS = ("EEGLAB", "EEGLAB-HJ")


def _has_positions(raw: Any) -> bool:
    from ..integrations.mne import _positions  # unknown locations read as NaN there

    return _positions(raw.info) is not None


def _montage(name: str) -> Any:
    """The montage ``name`` names: a file, or one of MNE's built-in montages."""
    import warnings

    import mne

    if Path(name).is_file():
        try:
            return mne.channels.read_custom_montage(name)
        except (ValueError, KeyError, OSError) as exc:
            raise ParameterError(f"Could not read the montage file {name} ({exc}).") from None
    try:
        with warnings.catch_warnings():
            # Older names (standard_1020, ...) still work, with MNE's renaming notice.
            warnings.simplefilter("ignore", FutureWarning)
            return mne.channels.make_standard_montage(name)
    except ValueError:
        builtin = mne.channels.get_builtin_montages()
        raise ParameterError(
            f"Unknown montage {name!r}: give a montage file (.locs, .elc, .sfp, .bvef...) or "
            f"one of MNE's: {', '.join(builtin)}."
        ) from None


def place(raw: Any, path: Path, montage: str | None) -> str | None:
    """Give ``raw`` positions from ``montage`` or, when it has none, from a BIDS
    ``electrodes.tsv``; returns where they came from (``None``: nothing done).

    Raises
    ------
    ParameterError
        If the montage is unknown or unreadable, or places none of the channels.
    """
    if montage is not None:
        chosen, origin = _montage(str(montage)), str(montage)
    elif not _has_positions(raw) and (found := bids_electrodes(path)) is not None:
        chosen, origin = found["montage"], found["origin"]
    else:
        return None
    raw.set_montage(chosen, on_missing="ignore", match_case=False, verbose="error")
    if not _has_positions(raw):
        raise ParameterError(
            f"The montage {origin} names none of the channels of {path.name}; check the "
            "channel names or choose another montage."
        )
    logger.info("%s: electrode positions from %s", path.name, origin)
    return origin


def _entities(name: str) -> dict[str, str]:
    """BIDS entities of a file name: ``sub-01_ses-2_task-x_eeg.vhdr`` -> sub, ses, task."""
    out = {}
    for part in name.split(".")[0].split("_"):
        key, sep, value = part.partition("-")
        if sep:
            out[key] = value
    return out


def bids_electrodes(path: Path) -> dict[str, Any] | None:
    """The montage of the ``electrodes.tsv`` that belongs to ``path`` in a BIDS folder
    (same subject, session and acquisition; no space entity preferred), as
    ``{"montage": DigMontage, "origin": file name}``; ``None`` when there is none or it
    cannot be read (logged)."""
    import mne

    mine = _entities(path.name)
    if "sub" not in mine:
        return None
    found = []
    for cand in sorted(path.parent.glob(f"sub-{mine['sub']}*_electrodes.tsv")):
        theirs = _entities(cand.name)
        if all(mine.get(k) == theirs.get(k) for k in ("ses", "acq") if k in theirs):
            found.append((("space" in theirs), cand))
    if not found:
        return None
    tsv = min(found)[1]
    try:
        scale, als = _coordsystem(tsv)
        ch_pos = {}
        with open(tsv, encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            col = {c: header.index(c) for c in ("name", "x", "y", "z")}
            for line in fh:
                cells = line.rstrip("\n").split("\t")
                xyz = [cells[col[c]] for c in ("x", "y", "z")]
                if "n/a" in xyz:
                    continue
                x, y, z = (float(v) * scale for v in xyz)
                ch_pos[cells[col["name"]]] = np.array([-y, x, z] if als else [x, y, z])
    except (OSError, ValueError, IndexError, KeyError) as exc:
        logger.warning("%s not used for positions (%s)", tsv.name, exc)
        return None
    if not ch_pos:
        return None
    montage = mne.channels.make_dig_montage(ch_pos=ch_pos, coord_frame="head")
    return {"montage": montage, "origin": tsv.name}


def _coordsystem(tsv: Path) -> tuple[float, bool]:
    """Metres per unit and whether the axes are EEGLAB's, from the ``coordsystem.json``
    beside ``tsv``; without one, units are guessed from the head's size."""
    side = tsv.with_name(tsv.name.replace("_electrodes.tsv", "_coordsystem.json"))
    unit, system = None, ""
    if side.is_file():
        info = json.loads(side.read_text(encoding="utf-8"))
        for prefix in ("EEG", "iEEG", ""):
            unit = unit or info.get(f"{prefix}CoordinateUnits")
            system = system or info.get(f"{prefix}CoordinateSystem", "")
    if unit in _UNITS:
        return _UNITS[unit], system in _ALS
    # No (or "n/a") units: a head is about 0.09 m across from its centre.
    values = []
    with open(tsv, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        idx = [header.index(c) for c in ("x", "y", "z")]
        for line in fh:
            cells = line.rstrip("\n").split("\t")
            if all(cells[i] != "n/a" for i in idx):
                values.append([float(cells[i]) for i in idx])
    radius = float(np.median(np.linalg.norm(np.array(values), axis=1))) if values else 0.09
    guess = min(_UNITS.values(), key=lambda s: abs(np.log(radius * s / 0.09)))
    return guess, system in _ALS
