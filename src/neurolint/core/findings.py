"""Assessment output: findings, channel status and the QC result, with their JSON form.

The JSON form is a versioned contract (``schema_version``): top-level ``score``,
``sampling_rate``, ``duration``, ``channels`` [{``name``, ``type``, ``status``, ``reasons``,
``scores``}] and ``events`` [{``onset``, ``duration``, ``channels``, ``kind``,
``confidence``, ``detector``}], times in seconds.
"""

from __future__ import annotations

import io
import json
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import numpy as np

from .errors import ParameterError, SidecarError

__all__ = [
    "FINDING_KINDS",
    "SCHEMA_VERSION",
    "ChannelStatus",
    "Finding",
    "FindingsView",
    "QCResult",
]

#: The one vocabulary of finding kinds.
FINDING_KINDS = (
    "blink",
    "saccade",
    "muscle",
    "ecg",
    "line_noise",
    "pop",
    "movement",
    "flat",
    "saturation",
    "gap",
    "noisy_channel",
    "bridged",
    "motion",
    "intensity_spike",
    "anomaly",
)

SCHEMA_VERSION = "1.1"  # 1.1 added "traces"; readers of 1.x ignore unknown keys


_VECTOR_LINE = 64  # values per line of a one-dimensional array in the JSON


def _rounded(quality: np.ndarray) -> list:
    """The quality matrix's JSON form: 4 decimals, rounded in double precision so the text
    reads 0.4263, not float32's nearest value printed to 16 digits (0.4262999892234802)."""
    return np.round(quality.astype(np.float64), 4).tolist()


def _plain(value: Any) -> Any:
    """JSON-able form of a trace: arrays as nested lists (4 significant decimals), NaN → None."""
    if isinstance(value, np.ndarray):
        value = (
            np.round(value.astype(np.float64), 4).tolist()
            if value.dtype.kind == "f"
            else value.tolist()
        )
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_kind(kind: str) -> str:
    if kind not in FINDING_KINDS:
        raise ParameterError(
            f"Unknown finding kind {kind!r}; use one of {', '.join(FINDING_KINDS)}."
        )
    return kind


def _check_unit_interval(name: str, value: float) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ParameterError(f"{name}={value} must lie in [0, 1].")
    return value


@dataclass(frozen=True)
class Finding:
    """One event: something of a ``kind`` found from ``onset`` for ``duration`` seconds.

    ``channels`` is empty when the event concerns every channel. ``extras`` holds what
    explains it (feature value and threshold for rules, model name for learned detectors).
    """

    onset: float
    duration: float
    kind: str
    channels: tuple[str, ...] = ()
    confidence: float = 1.0
    detector: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if not (math.isfinite(self.onset) and self.onset >= 0):
            raise ParameterError(f"onset={self.onset} must be a finite time >= 0 s.")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ParameterError(f"duration={self.duration} must be a finite time >= 0 s.")
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        object.__setattr__(self, "confidence", _check_unit_interval("confidence", self.confidence))

    @property
    def offset(self) -> float:
        return self.onset + self.duration

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            onset=float(data["onset"]),
            duration=float(data["duration"]),
            kind=data["kind"],
            channels=tuple(data.get("channels", ())),
            confidence=float(data.get("confidence", 1.0)),
            detector=str(data.get("detector", "")),
            extras=dict(data.get("extras", {})),
        )


@dataclass(frozen=True)
class ChannelStatus:
    """The verdict on one channel: ``"good"`` or ``"bad"``, why, and the scores behind it."""

    name: str
    type: str = "misc"
    status: str = "good"
    reasons: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in ("good", "bad"):
            raise ParameterError(f"status={self.status!r} must be 'good' or 'bad'.")
        object.__setattr__(self, "reasons", tuple(str(r) for r in self.reasons))

    @property
    def is_bad(self) -> bool:
        return self.status == "bad"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChannelStatus:
        return cls(
            name=data["name"],
            type=data.get("type", "misc"),
            status=data.get("status", "good"),
            reasons=tuple(data.get("reasons", ())),
            scores={k: float(v) for k, v in data.get("scores", {}).items()},
        )


class FindingsView:
    """Queries shared by anything holding ``channels`` (statuses) and ``events`` (findings)."""

    channels: list[ChannelStatus]
    events: list[Finding]

    @property
    def bad_channels(self) -> list[str]:
        """Names of channels marked bad, for ``info['bads']``."""
        return [c.name for c in self.channels if c.is_bad]

    def events_of(self, kinds: str | Sequence[str]) -> list[Finding]:
        """Events of one kind or several."""
        kinds = {kinds} if isinstance(kinds, str) else set(kinds)
        return [e for e in self.events if e.kind in kinds]


@dataclass
class QCResult(FindingsView):
    """What an assessment found in one recording.

    Attributes
    ----------
    score : float
        Overall quality, 0 (unusable) to 100 (clean).
    sampling_rate, duration : float
        Of the assessed recording (Hz, seconds).
    channels : list of ChannelStatus
    events : list of Finding
    quality : numpy.ndarray | None
        Window x channel quality in [0, 1], windows of ``window_duration`` seconds.
    window_duration : float | None
    source : str | None
        The assessed file, if any.
    meta : dict
        Versions, detector settings and anything else worth keeping.
    traces : dict
        Per detector, traces and maps worth plotting (motion, frame quality, DVARS, SNR and
        tSNR maps), as arrays; written to JSON as nested lists.
    """

    score: float
    sampling_rate: float
    duration: float
    channels: list[ChannelStatus] = field(default_factory=list)
    events: list[Finding] = field(default_factory=list)
    quality: np.ndarray | None = None
    window_duration: float | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.score) <= 100.0:
            raise ParameterError(f"score={self.score} must lie in [0, 100].")
        if self.quality is not None:
            self.quality = np.asarray(self.quality, dtype=np.float32)
            if self.quality.ndim != 2 or self.quality.shape[1] != len(self.channels):
                raise ParameterError(
                    f"quality has shape {self.quality.shape}; expected (n_windows, "
                    f"{len(self.channels)})."
                )

    def to_dict(self) -> dict[str, Any]:
        return self._document(_plain, _rounded)

    def _document(self, trace: Any, quality: Any) -> dict[str, Any]:
        """The JSON document, with ``trace`` and ``quality`` turning the arrays into values."""
        return {
            "schema_version": SCHEMA_VERSION,
            "score": float(self.score),
            "sampling_rate": float(self.sampling_rate),
            "duration": float(self.duration),
            "source": self.source,
            "channels": [c.to_dict() for c in self.channels],
            "events": [e.to_dict() for e in self.events],
            "window_duration": self.window_duration,
            "quality": None if self.quality is None else quality(self.quality),
            "meta": self.meta,
            "traces": {
                detector: {name: trace(value) for name, value in traces.items()}
                for detector, traces in self.traces.items()
            },
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text; see :meth:`write_json`."""
        out = io.StringIO()
        self.write_json(out, indent=indent)
        return out.getvalue()

    def write_json(self, fh: TextIO, indent: int | None = 2) -> None:
        """Write :meth:`to_dict` as JSON to the open text file ``fh``, an array row at a time.

        The quality matrix and array traces are written a row per line (a vector in lines of
        :data:`_VECTOR_LINE` values) instead of being turned into nested lists first, which
        for a day of EEG would take gigabytes: memory stays at one row. The text parses to
        exactly :meth:`to_dict`.
        """
        token = f"neurolint-array-{uuid.uuid4().hex}-"
        arrays: list[tuple[np.ndarray, Any]] = []

        def hold(value: np.ndarray, convert: Any) -> Any:
            if value.ndim == 0 or value.size == 0:
                return convert(value)
            arrays.append((value, convert))
            return f"{token}{len(arrays) - 1}"

        document = self._document(
            lambda v: hold(v, _plain) if isinstance(v, np.ndarray) else _plain(v),
            lambda q: hold(q, _rounded),
        )
        text = json.dumps(document, indent=indent, allow_nan=False)
        for piece in re.split(f'"({token}\\d+)"', text):
            if not piece.startswith(token):
                fh.write(piece)
                continue
            value, convert = arrays[int(piece[len(token) :])]
            matrix = value.ndim > 1
            step = 1 if matrix else _VECTOR_LINE
            for a in range(0, len(value), step):
                part = convert(value[a : a + step])  # a one-row matrix, or a run of values
                line = json.dumps(part[0] if matrix else part, allow_nan=False)
                fh.write(("[" if a == 0 else ",") + "\n" + (line if matrix else line[1:-1]))
            fh.write("\n]")

    def to_mne(self) -> tuple[Any, list[str]]:
        """MNE ``Annotations`` (``BAD_<kind>``, with ``ch_names`` and ``extras``
        {confidence, detector}) and the bad channel names for ``info['bads']``.

        Times are relative to the start of the recording (``orig_time=None``), so add them
        to a Raw with ``raw.set_annotations(raw.annotations + annotations)`` after any crop
        you made before the check. The Raw itself is never touched here.
        """
        import mne

        events = sorted(self.events, key=lambda e: (e.onset, e.kind))
        annotations = mne.Annotations(
            onset=[e.onset for e in events],
            duration=[e.duration for e in events],
            description=[f"BAD_{e.kind}" for e in events],
            ch_names=[list(e.channels) for e in events],
            extras=[{"confidence": float(e.confidence), "detector": e.detector} for e in events],
        )
        return annotations, self.bad_channels

    def to_dataframe(self) -> Any:
        """The events as a pandas DataFrame: onset, duration, kind, channels, confidence,
        detector (one row per event, sorted by onset)."""
        import pandas as pd

        rows = [
            {
                "onset": e.onset,
                "duration": e.duration,
                "kind": e.kind,
                "channels": ",".join(e.channels),
                "confidence": e.confidence,
                "detector": e.detector,
            }
            for e in sorted(self.events, key=lambda e: (e.onset, e.kind))
        ]
        columns = ["onset", "duration", "kind", "channels", "confidence", "detector"]
        return pd.DataFrame(rows, columns=columns)

    def to_bids(self, folder: Any, stem: str | None = None, *, overwrite: bool = False) -> list:
        """Write ``<stem>_events.tsv`` and ``<stem>_channels.tsv`` (with ``status`` and
        ``status_description``) into ``folder``, as a BIDS derivative.

        ``stem`` defaults to the checked file's name without extension and BIDS suffix.
        When the checked file has its own ``channels.tsv`` beside it (a BIDS dataset), the
        derivative keeps that file's rows and columns and changes only the status columns
        (see :func:`neurolint.io.bids.write_channels_tsv`). Returns the two paths.
        """
        from pathlib import Path

        # The writers live in io (which sits above core); imported here, when used.
        from ..io.bids import bids_stem, write_channels_tsv, write_events_tsv
        from .channels import ChannelInfo

        folder = Path(folder)
        if stem is None:
            stem = bids_stem(self.source or "recording").name
        units = self.meta.get("units") or ["n/a"] * len(self.channels)
        info = ChannelInfo(
            [c.name for c in self.channels],
            [c.type for c in self.channels],
            units,
        )
        # The recording's own channels.tsv (a BIDS dataset), whose columns are kept.
        own = None if self.source is None else bids_stem(self.source)
        own = None if own is None else own.with_name(own.name + "_channels.tsv")
        target = folder / f"{stem}_channels.tsv"
        template = own if own is not None and own.is_file() else None
        return [
            write_events_tsv(self.events, folder / f"{stem}_events.tsv", overwrite=overwrite),
            write_channels_tsv(info, self.channels, target, template=template, overwrite=overwrite),
        ]

    def to_nwb(
        self,
        nwbfile: Any,
        *,
        series: Any = None,
        name: str = "neurolint_qc",
        invalid_times: bool = True,
    ) -> dict[str, int]:
        """Add the events and channel verdicts to an in-memory ``pynwb.NWBFile``.

        Events go to ``intervals/<name>`` (kind, channels, confidence, detector) and to
        ``invalid_times`` (tags ``neurolint`` and the kind); verdicts to the electrodes
        table's ``neurolint_status`` and ``neurolint_reasons``. Times are put on the
        file's clock with the checked series' ``starting_time``. See
        :func:`neurolint.io.nwb_qc.add_qc_to_nwb` for the parameters; returns the rows
        added to each table.
        """
        from ..io.nwb_qc import add_qc_to_nwb

        return add_qc_to_nwb(self, nwbfile, series=series, name=name, invalid_times=invalid_times)

    def explain(self, index: int, data: Any = None) -> dict[str, Any]:
        """Why event ``index`` was found.

        Rule findings carry their feature, value and threshold (returned as they are);
        learned findings, given the checked ``data``, get a per-sample attribution over time
        and channels (integrated gradients, from :mod:`neurolint.assess.explain`).
        """
        if not 0 <= index < len(self.events):
            raise ParameterError(
                f"index={index} is out of range; this result has {len(self.events)} events."
            )
        finding = self.events[index]
        out: dict[str, Any] = {"finding": finding.to_dict()}
        if "feature" in finding.extras:
            out.update(
                {
                    k: finding.extras[k]
                    for k in ("feature", "value", "threshold")
                    if k in finding.extras
                }
            )
        if "model" in finding.extras:
            if data is None:
                out["attribution"] = None
                out["note"] = "pass the checked recording as data= for a per-sample attribution"
            else:
                from ..assess.explain import explain_finding

                out.update(explain_finding(data, finding, model=finding.extras["model"]))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QCResult:
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise SidecarError(
                f"QC result schema {version or 'unknown'} is not supported (this neurolint reads "
                f"{SCHEMA_VERSION}); re-run the check with this version."
            )
        quality = data.get("quality")
        return cls(
            score=float(data["score"]),
            sampling_rate=float(data["sampling_rate"]),
            duration=float(data["duration"]),
            channels=[ChannelStatus.from_dict(c) for c in data.get("channels", [])],
            events=[Finding.from_dict(e) for e in data.get("events", [])],
            quality=None if quality is None else np.asarray(quality, dtype=np.float32),
            window_duration=data.get("window_duration"),
            source=data.get("source"),
            meta=dict(data.get("meta", {})),
            traces={
                detector: {
                    name: np.asarray(v, dtype=np.float32) if isinstance(v, list) else v
                    for name, v in traces.items()
                }
                for detector, traces in data.get("traces", {}).items()
            },
        )

    @classmethod
    def from_json(cls, text: str) -> QCResult:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SidecarError(f"QC result is not valid JSON ({exc}); re-run the check.") from None
        return cls.from_dict(data)
