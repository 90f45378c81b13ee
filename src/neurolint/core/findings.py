"""Assessment output: findings, channel status and the QC result, with their JSON form.

The JSON form is a versioned contract (``schema_version``): top-level ``score``,
``sampling_rate``, ``duration``, ``channels`` [{``name``, ``type``, ``status``, ``reasons``,
``scores``}] and ``events`` [{``onset``, ``duration``, ``channels``, ``kind``,
``confidence``, ``detector``}], times in seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

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

SCHEMA_VERSION = "1.0"


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
        return {
            "schema_version": SCHEMA_VERSION,
            "score": float(self.score),
            "sampling_rate": float(self.sampling_rate),
            "duration": float(self.duration),
            "source": self.source,
            "channels": [c.to_dict() for c in self.channels],
            "events": [e.to_dict() for e in self.events],
            "window_duration": self.window_duration,
            "quality": None if self.quality is None else np.round(self.quality, 4).tolist(),
            "meta": self.meta,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

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
        )

    @classmethod
    def from_json(cls, text: str) -> QCResult:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SidecarError(f"QC result is not valid JSON ({exc}); re-run the check.") from None
        return cls.from_dict(data)
