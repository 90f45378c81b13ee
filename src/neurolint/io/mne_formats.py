"""Every format MNE reads (EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden, ...), and FIF out."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

from ..core.errors import CorruptFileError
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path

__all__ = ["check_edf_size", "read_mne", "write_fif"]

logger = logging.getLogger("neurolint")

# MNE's warnings that mean data are missing: refuse rather than read less than the file claims.
_TRUNCATION_HINTS = ("does not match the file size", "truncated", "incomplete")
# Reference leads by their usual names: EOG, EOG1, VEOG, HEOG, EOGL, ... (eyes); ECG, EKG,
# ECG1, ... (heart); EMG, EMG1, ... (muscle).
_LEAD_NAMES = (
    (re.compile(r"^[VH]?EOG", re.IGNORECASE), "eog"),
    (re.compile(r"^(ECG|EKG)", re.IGNORECASE), "ecg"),
    (re.compile(r"^EMG", re.IGNORECASE), "emg"),
)


def check_edf_size(path: Path) -> None:
    """Compare an EDF/BDF header's record count with the file size."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise CorruptFileError(f"{path} is too short to be EDF/BDF (header cut off).")
        try:
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
        except ValueError:
            raise CorruptFileError(f"{path} has a malformed EDF/BDF header.") from None
        fh.seek(256 + n_signals * 216)
        raw_counts = fh.read(n_signals * 8)
    try:
        per_record = sum(
            int(raw_counts[i * 8 : i * 8 + 8].decode("ascii")) for i in range(n_signals)
        )
    except ValueError:
        raise CorruptFileError(f"{path} has a malformed EDF/BDF signal header.") from None
    width = 3 if path.suffix.lower() == ".bdf" else 2
    expected = 256 * (n_signals + 1) + n_records * per_record * width
    actual = path.stat().st_size
    if n_records > 0 and actual < expected:
        got = (actual - 256 * (n_signals + 1)) // max(1, per_record * width)
        raise CorruptFileError(
            f"{path.name} is truncated: its header promises {n_records} data records but the "
            f"file holds {got}; re-copy or re-export it (or repair the header's record count)."
        )


def read_mne(
    path: Path, *, infer_types: bool = True, montage: str | None = None, **options: Any
) -> TimeSeries:
    """Read any file MNE's ``read_raw`` reads, lazily (``preload=False``).

    EDF/BDF labels such as ``"EEG Fp1"`` give type and name (MNE's ``infer_types``) unless
    ``infer_types=False``; with it, channels of any format but FIF that MNE calls ``eeg``
    and whose names are those of eye, heart or muscle leads (``EOG1``, ``VEOG``, ``HEOG``,
    ``ECG``, ``EKG``, ``EMG1``, ...) are typed ``eog``, ``ecg`` or ``emg``, so that they are
    neither judged, cleaned nor interpolated as scalp EEG (many EEGLAB and BrainVision files
    store no types; FIF files do, and are trusted). The retyped channels are listed in
    ``meta["inferred_types"]``. Warnings MNE raises while reading are kept in
    ``meta`` and logged; those that mean missing data become errors.

    ``montage`` (one of MNE's built-in montages, e.g. ``"standard_1020"``, or a montage
    file) places the EEG channels; without it, a file with no positions in a BIDS folder
    takes them from its ``electrodes.tsv`` (see :mod:`neurolint.io.montage`).
    ``meta["positions_from"]`` says which, when either was used. In a BIDS folder the
    recording's ``channels.tsv`` gives channel types (over the names' guesses) and adds
    the channels it marks ``bad`` to ``meta["bads"]``; ``meta["channels_from"]`` names it.
    """
    import mne

    suffix = path.suffix.lower()
    if suffix in (".edf", ".bdf"):
        check_edf_size(path)
        options["infer_types"] = infer_types
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = mne.io.read_raw(path, preload=False, verbose="error", **options)
    messages = [str(w.message).split("\n")[0] for w in caught]
    for msg in messages:
        if any(h in msg.lower() for h in _TRUNCATION_HINTS):
            raise CorruptFileError(f"{path.name} is incomplete ({msg}); re-copy or re-export it.")
        logger.warning("%s: %s", path.name, msg)
    from ..integrations.mne import from_mne

    fmt = {".edf": "edf", ".bdf": "bdf", ".fif": "fif", ".gz": "fif", ".vhdr": "brainvision",
           ".set": "eeglab"}  # fmt: skip
    fmt = fmt.get(suffix, "mne")
    # A BIDS dataset's channels.tsv says what the file does not: types and a curator's bads.
    given = _bids_types_and_bads(raw, path) if fmt != "fif" else None
    inferred = _leads_by_name(raw) if infer_types and fmt != "fif" else {}
    if given is not None:  # its types win over the names' guesses
        inferred = {n: t for n, t in inferred.items() if n not in given["types"]}
    if inferred:
        raw.set_channel_types(inferred, verbose="error")
        named = ", ".join(f"{n} ({t})" for n, t in inferred.items())
        logger.info("%s: typed by name: %s", path.name, named)
    from .montage import place

    meta = {"format": fmt, "reader": type(raw).__name__, "reader_warnings": messages,
            "inferred_types": inferred}  # fmt: skip
    if given is not None:
        meta["channels_from"] = given["origin"]
    if (placed := place(raw, path, montage)) is not None:
        meta["positions_from"] = placed
    ts = from_mne(raw, source=str(path), meta=meta)
    if fmt == "brainvision" and ts.meta.get("annotations"):
        _channel_markers(ts)
    return ts


def _bids_types_and_bads(raw: Any, path: Path) -> dict | None:
    """Apply the types and bad channels of the recording's BIDS ``channels.tsv`` to
    ``raw`` (names it does not list are left as read); returns what was found."""
    from .bids import bids_channels

    given = bids_channels(path)
    if given is None:
        return None
    present = set(raw.ch_names)
    given["types"] = {n: t for n, t in given["types"].items() if n in present}
    now = dict(zip(raw.ch_names, raw.get_channel_types(), strict=True))
    change = {n: t for n, t in given["types"].items() if now[n] != t}
    if change:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MNE's note that units change with the type
            raw.set_channel_types(change, on_unit_change="ignore", verbose="error")
    bads = [b for b in given["bads"] if b in present and b not in raw.info["bads"]]
    raw.info["bads"] = list(raw.info["bads"]) + bads
    logger.info(
        "%s: types of %d channels and %d bad channels from %s",
        path.name, len(change), len(bads), given["origin"],
    )  # fmt: skip
    return given


def _channel_markers(ts: TimeSeries) -> None:
    """BrainVision markers that name a channel, which MNE's reader reads as global."""
    from .brainvision import marker_file, read_markers, written_by_us

    vhdr = Path(ts.source)
    vmrk = marker_file(vhdr)
    marks = (
        None
        if vmrk is None
        else read_markers(vmrk, ts.sampling_rate, ts.ch_names, ours=written_by_us(vhdr))
    )
    if marks is not None:
        ts.meta["annotations"] = marks


def _leads_by_name(raw: Any) -> dict[str, str]:
    """``{name: type}`` for the ``eeg`` channels of ``raw`` named like reference leads."""
    out = {}
    for name, kind in zip(raw.ch_names, raw.get_channel_types(), strict=True):
        if kind == "eeg":
            lead = next((t for pattern, t in _LEAD_NAMES if pattern.match(name)), None)
            if lead is not None:
                out[name] = lead
    return out


def write_fif(ts: TimeSeries, path: Path, *, overwrite: bool = False, **_: Any) -> None:
    """Write a FIF file (types, units, positions and bad channels kept)."""
    from ..core.chunks import chunk_samples
    from ..integrations.mne import streamed_raw

    raw = streamed_raw(ts)  # saved buffer by buffer: memory bounded by the series' blocks
    # MNE's 10 s buffers, shorter where they would pass the budget as float64 (wide probes).
    buffer = chunk_samples(10.0, ts.sampling_rate, ts.n_channels, itemsize=8)
    with atomic_path(path, overwrite) as tmp, warnings.catch_warnings():
        # The temporary name does not follow MNE's "_raw.fif" naming convention.
        warnings.filterwarnings("ignore", message=".*does not conform to MNE naming.*")
        raw.save(
            tmp,
            buffer_size_sec=buffer / ts.sampling_rate,
            overwrite=True,
            split_size="2GB",
            verbose="error",
        )
