"""EDF/BDF output, streamed: MNE's export conventions, edfio's header, records block by block.

MNE's exporter (``mne.export.export_raw``) loads the recording and edfio assembles every
data record in memory before writing, so exporting a lazily corrected hour held it several
times over. This writer makes the same file (byte for byte; tested) in two passes over the
series: the first spools it as float64 beside the output while taking each channel's range,
which the header needs before the first record; the second quantises the spool a block of
records at a time. Memory is one block; disk, the spool, for the length of the write.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..core.errors import DataValueError
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path

__all__ = ["write_edf"]

logger = logging.getLogger("neurolint")

# Values per block in both passes (32 MB as float64).
_BLOCK_VALUES = 4_000_000


def write_edf(ts: TimeSeries, path: Path, *, overwrite: bool = False, **_: Any) -> None:
    """Write EDF (16-bit) or BDF (24-bit), chosen by the extension.

    Labels carry the type as EDF+ recommends (``"EEG Fp1"``, ``"EOG EOG1"``), which
    :func:`neurolint.read` turns back into names and types. The physical range is set per
    channel, so quantisation error is at most range / 65535 (EDF) or range / 16777215 (BDF).
    Types EDF cannot name (``ephys``, ``lfp``) are stored as ``MISC``. The file is what
    ``mne.export.export_raw(..., physical_range="channelwise", add_ch_type=True)`` writes,
    but the series is read block by block: memory does not grow with its length. A
    temporary spool of 8 bytes per sample sits beside the output while it is written.

    Raises
    ------
    DataValueError
        If a sample is NaN or infinite (EDF cannot store gaps) or a label is too long.
    """
    from ..integrations.mne import streamed_raw

    raw = streamed_raw(ts)
    bdf = path.suffix.lower() == ".bdf"
    with atomic_path(path, overwrite) as tmp:
        # Plain file I/O, not a memmap: mapped pages would count in the process's RSS.
        spool_path = tmp.with_name(tmp.name + ".spool")
        n_total = _padded_length(raw)
        try:
            with open(spool_path, "w+b") as spool:
                scaler, dims = _scaling(raw)
                lo, hi = _spool(raw, scaler, spool, n_total, path.name)
                edf = _header_object(raw, lo, hi, dims, bdf, n_total, path.name)
                _keep_source_header(ts, edf)
                spool.seek(0)
                _write_records(tmp, edf, spool, len(raw.ch_names), bdf)
        finally:
            spool_path.unlink(missing_ok=True)


def _padded_length(raw: Any) -> int:
    """Samples written: EDF's records are whole seconds at an integer rate, so MNE pads."""
    sfreq = raw.info["sfreq"]
    if float(sfreq).is_integer():
        return int(math.ceil(raw.n_times / sfreq) * sfreq)
    return raw.n_times


def _scaling(raw: Any) -> tuple[np.ndarray, list[str]]:
    """Each channel's factor to the stored unit and its physical dimension, as MNE's exporter:
    a file read from EDF keeps its units, otherwise voltages go in µV."""
    from mne.defaults import DEFAULTS

    types = raw.get_channel_types()
    extras = raw._raw_extras[0]
    if "units" in extras:
        scaler = 1.0 / extras["units"][raw._read_picks[0]]
        dims = [raw._orig_units.get(ch, "").replace("\u00b5", "u") for ch in raw.ch_names]
    else:
        volts = {t for t, unit in DEFAULTS["si_units"].items() if unit == "V"}
        scaler = np.array([1e6 if t in volts else 1.0 for t in types])
        dims = ["uV" if t in volts else "" for t in types]
    dims = ["" if d == "n/a" or t == "stim" else d for d, t in zip(dims, types, strict=True)]
    return scaler, dims


def _spool(
    raw: Any, scaler: np.ndarray, spool: BinaryIO, n_total: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Write the scaled series to ``spool`` time-major as float64, edge-padded to
    ``n_total`` samples, and return each channel's range."""
    n, n_ch = raw.n_times, len(raw.ch_names)
    step = max(1, _BLOCK_VALUES // max(n_ch, 1))
    lo, hi = np.full(n_ch, np.inf), np.full(n_ch, -np.inf)
    for a in range(0, n, step):
        block = raw.get_data(start=a, stop=min(n, a + step))
        block *= scaler[:, None]
        if not np.isfinite(block).all():
            raise DataValueError(
                f"{name}: EDF/BDF cannot store NaN or infinite samples (gaps); write FIF, "
                "NWB or binary instead, or fill the gaps first."
            )
        np.minimum(lo, block.min(axis=1), out=lo)
        np.maximum(hi, block.max(axis=1), out=hi)
        spool.write(np.ascontiguousarray(block.T).tobytes())
    if n_total > n:
        spool.write(np.tile(block[:, -1], n_total - n).tobytes())
    hi[lo == hi] += 1  # EDF needs physical min < max: flat channels
    return lo, hi


def _header_object(
    raw: Any, lo: np.ndarray, hi: np.ndarray, dims: list[str], bdf: bool, n_total: int, name: str
) -> Any:
    """edfio's ``Edf``/``Bdf`` for the header, its signals holding zero-stride stand-ins.

    Every header field and the EDF+ annotation signal come from edfio as MNE's exporter
    builds them; only the samples are left out (the stand-ins cost no memory).
    """
    from edfio import Bdf, BdfSignal, Edf, EdfAnnotation, EdfSignal
    from mne.annotations import _sync_onset

    signal_class, writer_class = (BdfSignal, Bdf) if bdf else (EdfSignal, Edf)
    dtype, dmax = (np.int32, 8388607) if bdf else (np.int16, 32767)
    info, sfreq = raw.info, raw.info["sfreq"]
    annotations = []
    for desc, onset, duration, ch_names in zip(
        raw.annotations.description,
        _sync_onset(raw, raw.annotations.onset, inverse=False),
        raw.annotations.duration,
        raw.annotations.ch_names,
        strict=True,
    ):
        for label in [f"{desc}@@{ch}" for ch in ch_names] or [desc]:
            annotations.append(EdfAnnotation(onset, duration, label))
    if float(sfreq).is_integer():
        out_sfreq, record_s = int(sfreq), None
        if n_total > raw.n_times:
            annotations.append(
                # MNE's onset: the last sample's time plus one sample.
                EdfAnnotation(
                    (raw.n_times - 1) / sfreq + 1 / sfreq,
                    (n_total - raw.n_times) / sfreq,
                    "BAD_ACQ_SKIP",
                )
            )
    else:
        record_s = _round8(math.floor(sfreq) / sfreq)
        out_sfreq = math.floor(sfreq) / record_s
    prefiltering = f"HP:{info['highpass']}Hz LP:{info['lowpass']}Hz"
    if info["line_freq"] is not None:
        prefiltering += f" N:{info['line_freq']}Hz"
    stand_in = np.broadcast_to(np.zeros(1, dtype), (n_total,))
    signals = []
    for i, (ch, ch_type) in enumerate(zip(raw.ch_names, raw.get_channel_types(), strict=True)):
        label = f"{ch_type.upper()} {ch}"
        if len(label) > 16:
            raise DataValueError(
                f"{name}: the EDF label {label!r} is longer than 16 characters; rename the "
                "channel or write FIF, NWB or binary instead."
            )
        signals.append(
            signal_class.from_digital(
                stand_in,
                out_sfreq,
                label=label,
                physical_dimension=dims[i],
                physical_range=(lo[i], hi[i]),
                digital_range=(-dmax, dmax),
                prefiltering=prefiltering,
            )
        )
    patient, recording, starttime = _identification(info, raw.first_time)
    return writer_class(
        signals=signals,
        patient=patient,
        recording=recording,
        starttime=starttime,
        data_record_duration=record_s,
        annotations=annotations,
    )


def _keep_source_header(ts: TimeSeries, edf: Any) -> None:
    """For a series read from an EDF/BDF file, the header text MNE does not keep as it was:
    the patient and recording identification (MNE parses them, and misreads those that do
    not follow EDF+), and each signal's transducer type and prefiltering, by label."""
    src = ts.source
    if ts.meta.get("format") not in ("edf", "bdf") or src is None or not Path(src).is_file():
        return
    try:
        patient, recording, signals = _source_header(Path(src))
        edf.local_patient_identification = patient
        # The recording field of EDF+ holds the start date: kept only while it is the same.
        if recording and edf.startdate == _startdate(recording, edf.startdate):
            edf.local_recording_identification = recording
        for signal, name in zip(edf.signals, ts.ch_names, strict=True):
            # The written label is "TYPE name"; the source's may be either.
            old = signals.get(signal.label) or signals.get(name)
            if old is not None:
                signal.transducer_type, signal.prefiltering = old
    except (OSError, ValueError) as exc:  # a header edfio refuses: MNE's reading stays
        logger.debug("%s: header text not copied (%s)", src, exc)


def _source_header(path: Path) -> tuple[str, str, dict[str, tuple[str, str]]]:
    """Patient and recording identification, and ``{label: (transducer, prefiltering)}``,
    read from the fixed-width header of an EDF/BDF file (no samples read)."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        n = int(head[252:256].decode("ascii").strip())
        sig = fh.read(n * 256)

    def text(raw: bytes) -> str:
        return raw.decode("latin-1").strip()

    def field(offset: int, width: int) -> list[str]:
        return [text(sig[offset + i * width : offset + (i + 1) * width]) for i in range(n)]

    labels = field(0, 16)
    transducers = field(n * 16, 80)
    prefilters = field(n * (16 + 80 + 8 * 5), 80)
    signals = dict(zip(labels, zip(transducers, prefilters, strict=True), strict=True))
    return text(head[8:88]), text(head[88:168]), signals


def _startdate(recording: str, default: dt.date | None) -> dt.date | None:
    """The date an EDF+ recording field names (``Startdate 05-NOV-2001 ...``), else
    ``default`` (plain EDF: free text, no date in it)."""
    parts = recording.split()
    if len(parts) >= 2 and parts[0] == "Startdate":
        try:
            return dt.datetime.strptime(parts[1].title(), "%d-%b-%Y").date()
        except ValueError:
            return None
    return default


def _round8(value: float) -> float:
    """A record duration that fits EDF's 8 characters (edfio's rounding, as MNE uses it)."""
    if value.is_integer():
        return value
    digits = str(value).find(".")
    if digits == 8:
        return round(value)
    factor = 10 ** (8 - 1 - digits)
    return round(value * factor) / factor


def _identification(info: Any, first_time: float = 0.0) -> tuple[Any, Any, dt.time | None]:
    """Patient, recording and start time from ``info``, as MNE's exporter fills them, but
    for the start: the file begins ``first_time`` after ``meas_date`` (a cropped or sliced
    recording), which MNE's exporter leaves out."""
    from edfio import Patient, Recording

    patient = None
    subject = info.get("subject_info")
    if subject is not None:
        parts = [subject.get(k, "") for k in ("first_name", "middle_name", "last_name")]
        extra = [f"{k}={subject[k]}" for k in ("height", "weight", "hand") if subject.get(k)]
        patient = Patient(
            code=subject.get("his_id") or "X",
            sex={0: "X", 1: "M", 2: "F", None: "X"}[subject.get("sex")],
            birthdate=subject.get("birthday"),
            name="_".join(filter(None, parts)) or "X",
            additional=extra,
        )
    startdate = starttime = None
    if (meas := info["meas_date"]) is not None:
        meas = meas + dt.timedelta(seconds=float(first_time))
        startdate = dt.date(meas.year, meas.month, meas.day)
        starttime = dt.time(meas.hour, meas.minute, meas.second, meas.microsecond)
    device = info.get("device_info")
    if device is not None:
        recording = Recording(startdate=startdate, equipment_code=device.get("type") or "X")
    else:
        recording = Recording(startdate=startdate)
    return patient, recording, starttime


def _write_records(target: Path, edf: Any, spool: BinaryIO, n_ch: int, bdf: bool) -> None:
    """Write ``edf``'s header, then its data records from the spool, a block at a time."""
    from edfio import Edf, EdfSignal

    n_records = edf.num_data_records
    # What edfio's Edf.write does before it assembles the records in memory.
    for signal in edf._signals:
        signal._set_samples_per_data_record(signal._num_samples // n_records)
    header = b"".join(
        [getattr(edf, "_" + field) for field, _ in Edf._header_fields]
        + [
            getattr(signal, "_" + field)
            for field, _ in EdfSignal._header_fields
            for signal in edf._signals
        ]
    )
    data_signals = [s for s in edf._signals if not s._is_annotation_signal]
    notes = [
        s.digital.view(np.uint8).reshape(n_records, -1)
        for s in edf._signals
        if s._is_annotation_signal
    ]
    # edfio's quantisation, from the header's (rounded) ranges.
    gain = np.array(
        [(s.physical_max - s.physical_min) / (s.digital_max - s.digital_min) for s in data_signals]
    )
    offset = np.array([s.physical_max for s in data_signals]) / gain - np.array(
        [s.digital_max for s in data_signals]
    )
    per_record = data_signals[0].samples_per_data_record
    step = max(1, _BLOCK_VALUES // max(n_ch * per_record, 1))
    dtype = np.dtype("<i4" if bdf else "<i2")
    with open(target, "wb") as fh:
        fh.write(header)
        for r0 in range(0, n_records, step):
            r1 = min(n_records, r0 + step)
            count = (r1 - r0) * per_record * n_ch
            phys = np.frombuffer(spool.read(count * 8), np.float64, count).reshape(-1, n_ch).T
            digital = np.round(phys / gain[:, None] - offset[:, None]).astype(dtype)
            # (channels, samples) to records of channels one after another.
            by_record = np.ascontiguousarray(
                digital.reshape(n_ch, r1 - r0, per_record).transpose(1, 0, 2)
            ).view(np.uint8)
            if bdf:  # 24-bit: the low three bytes of each little-endian int32
                by_record = by_record.reshape(r1 - r0, n_ch, per_record, 4)[..., :3]
            records = np.concatenate(
                [by_record.reshape(r1 - r0, -1)] + [note[r0:r1] for note in notes], axis=1
            )
            fh.write(records.tobytes())
