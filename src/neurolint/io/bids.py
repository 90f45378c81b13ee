"""BIDS-style sidecar tables: ``events.tsv`` and ``channels.tsv`` (with ``status``).

Both follow the BIDS conventions: tab-separated, a header row, ``n/a`` for missing values,
times in seconds. ``events.tsv`` names the finding kind in ``trial_type`` and adds
``channels`` (comma-separated; ``n/a`` for all channels), ``confidence`` and ``detector``.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.channels import ChannelInfo
from ..core.errors import InputNotFoundError, SidecarError
from ..core.findings import ChannelStatus, Finding
from ._atomic import atomic_path

__all__ = [
    "bids_channels",
    "bids_stem",
    "read_events_tsv",
    "write_channels_tsv",
    "write_events_tsv",
]

logger = logging.getLogger("neurolint")

_BIDS_SUFFIXES = ("_eeg", "_meg", "_ieeg", "_ecephys", "_icephys", "_bold", "_2p", "_micr")
_EVENT_COLUMNS = ("onset", "duration", "trial_type", "channels", "confidence", "detector")


def bids_stem(path: str | os.PathLike) -> Path:
    """``sub-01_task-rest_eeg.fif`` → ``sub-01_task-rest`` (sidecars replace the suffix)."""
    path = Path(path)
    name = path.name
    for ext in (".nii.gz", ".tar.gz"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        name = Path(name).stem
    for suffix in _BIDS_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name)


def _cell(value: object) -> str:
    if value is None or value == "":
        return "n/a"
    if isinstance(value, float):
        # Microsecond resolution for times, without trailing zeros.
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value).replace("\t", " ").replace("\n", " ")


def _write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence], overwrite: bool):
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


def write_events_tsv(
    events: Sequence[Finding], path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write findings as a BIDS ``events.tsv``, sorted by onset."""
    rows = (
        (
            round(e.onset, 6),
            round(e.duration, 6),
            e.kind,
            ",".join(e.channels) or None,
            round(e.confidence, 4),
            e.detector or None,
        )
        for e in sorted(events, key=lambda e: (e.onset, e.kind))
    )
    return _write_rows(Path(path), _EVENT_COLUMNS, rows, overwrite)


_BIDS_TYPES = {"eeg": "EEG", "meg": "MEGMAG", "eog": "EOG", "ecg": "ECG", "emg": "EMG"}


def _bids_type(ch_type: str, unit: str) -> str:
    if ch_type == "meg" and unit in ("T/m", "fT/cm"):
        return "MEGGRADPLANAR"
    return _BIDS_TYPES.get(ch_type, ch_type.upper())


def write_channels_tsv(
    channels: ChannelInfo,
    statuses: Sequence[ChannelStatus] = (),
    path: str | os.PathLike = "channels.tsv",
    *,
    template: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a BIDS ``channels.tsv`` with ``status`` (good/bad) and ``status_description``.

    With ``template`` (the recording's own ``channels.tsv``, when it has one), its rows and
    columns are kept (types, units, cut-offs, references, descriptions...) and only the
    status columns change: a channel found bad is ``bad`` with the reasons (after the
    file's own description when it was bad already); one found good keeps the file's
    status, so a curator's ``bad`` stays; channels the check did not judge keep theirs.
    Checked channels the template lacks are added at the end.
    """
    by_name = {s.name: s for s in statuses}
    rows = []
    for name, ch_type, unit in zip(channels.names, channels.types, channels.units, strict=True):
        status = by_name.get(name)
        bad = status is not None and status.is_bad
        rows.append(
            (
                name,
                _bids_type(ch_type, unit),
                "µV" if unit == "uV" else unit,
                "bad" if bad else "good",
                "; ".join(status.reasons) if bad else None,
            )
        )
    header = ["name", "type", "units", "status", "status_description"]
    if template is not None:
        try:
            header, rows = _merged(Path(template), header, rows)
        except (OSError, UnicodeError, csv.Error, SidecarError) as exc:
            # The check is done: write its own table rather than fail on the dataset's.
            logger.warning("%s not merged (%s); writing neurolint's channels.tsv", template, exc)
    return _write_rows(Path(path), header, rows, overwrite)


def _read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A BIDS table's header and rows (UTF-8, tab-separated)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        return list(reader.fieldnames or []), list(reader)


def _merged(
    template: Path, ours_header: list[str], ours: list[tuple]
) -> tuple[list[str], list[list]]:
    """``template``'s header and rows with our status columns merged in (see
    :func:`write_channels_tsv`)."""
    header, given = _read_tsv(template)
    if "name" not in header:
        raise SidecarError(f"{template} has no 'name' column; it is not a BIDS channels.tsv.")
    for col in ("status", "status_description"):
        if col not in header:
            header.append(col)
    ours_by_name = {row[0]: dict(zip(ours_header, row, strict=True)) for row in ours}
    out = []
    for row in given:
        mine = ours_by_name.pop(row["name"], None)
        was_bad = (row.get("status") or "").strip().lower() == "bad"
        said = row.get("status_description")
        said = None if said in (None, "", "n/a") else said
        if mine is not None and mine["status"] == "bad":
            row["status"] = "bad"
            row["status_description"] = "; ".join(
                x for x in (said if was_bad else None, mine["status_description"]) if x
            )
        elif mine is not None and not was_bad:
            row["status"], row["status_description"] = "good", said
        out.append([row.get(col) for col in header])
    for mine in ours_by_name.values():  # checked, but not in the file
        out.append([mine.get(col) for col in header])
    return header, out


def read_events_tsv(path: str | os.PathLike) -> list[Finding]:
    """Read an ``events.tsv`` written by neurolint or any BIDS tool (``trial_type`` = kind).

    Rows whose ``trial_type`` is not a neurolint finding kind are skipped, so a BIDS file
    with task events can still be read for its artifact labels.
    """
    from ..core.findings import FINDING_KINDS

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{path} does not exist; check the path.")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if not reader.fieldnames or not {"onset", "duration"} <= set(reader.fieldnames):
            raise SidecarError(f"{path} lacks the BIDS 'onset' and 'duration' columns.")
        out = []
        for line, row in enumerate(reader, start=2):
            kind = (row.get("trial_type") or "").removeprefix("BAD_").lower()
            if kind not in FINDING_KINDS:
                continue
            try:
                duration = row["duration"]
                confidence = row.get("confidence") or "n/a"
                out.append(
                    Finding(
                        onset=float(row["onset"]),
                        duration=0.0 if duration == "n/a" else float(duration),
                        kind=kind,
                        channels=tuple(
                            c for c in (row.get("channels") or "n/a").split(",") if c != "n/a"
                        ),
                        confidence=1.0 if confidence == "n/a" else float(confidence),
                        detector="" if row.get("detector") in (None, "n/a") else row["detector"],
                    )
                )
            except ValueError as exc:
                raise SidecarError(f"{path}, line {line}: {exc}; fix the value.") from None
    return out


# BIDS channels.tsv types -> MNE channel types (those MNE has; others are left as read).
_FROM_BIDS = {
    "EEG": "eeg", "EOG": "eog", "HEOG": "eog", "VEOG": "eog", "ECG": "ecg", "EMG": "emg",
    "MISC": "misc", "TRIG": "stim", "SEEG": "seeg", "ECOG": "ecog", "DBS": "dbs",
    "RESP": "resp", "GSR": "gsr", "TEMP": "temperature", "SYSCLOCK": "syst",
}  # fmt: skip


def bids_channels(path: str | os.PathLike) -> dict | None:
    """The ``channels.tsv`` of a recording in a BIDS folder (``sub-01_task-x_eeg.edf`` ->
    ``sub-01_task-x_channels.tsv``), as ``{"types": {name: MNE type}, "bads": [names],
    "origin": file name}``; ``None`` without one. Types BIDS has and MNE lacks are left
    out; a file that cannot be read is logged and ignored."""
    path = Path(path)
    tsv = bids_stem(path).with_name(bids_stem(path).name + "_channels.tsv")
    if not tsv.is_file() or "sub-" not in path.name:
        return None
    try:
        _, rows = _read_tsv(tsv)
    except (OSError, UnicodeError, csv.Error) as exc:
        logger.warning("%s not used (%s)", tsv.name, exc)
        return None
    types, bads = {}, []
    for row in rows:
        name = row.get("name")
        if not name:
            continue
        kind = _FROM_BIDS.get((row.get("type") or "").strip().upper())
        if kind is not None:
            types[name] = kind
        if (row.get("status") or "").strip().lower() == "bad":
            bads.append(name)
    return {"types": types, "bads": bads, "origin": tsv.name}
