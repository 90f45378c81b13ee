"""What a correction changed: where, by which method and parameters, and how much."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import SidecarError

__all__ = ["CorrectionLog", "CorrectionStep", "Region"]

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Region:
    """Where a step acted: ``onset``/``duration`` in seconds; no channels means all."""

    onset: float
    duration: float
    channels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"onset": self.onset, "duration": self.duration, "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Region:
        return cls(float(data["onset"]), float(data["duration"]), tuple(data.get("channels", ())))


@dataclass
class CorrectionStep:
    """One step of a correction.

    Attributes
    ----------
    name : str
        The step (``"line_noise"``, ``"artifacts"``, ``"gaps"``, ``"channels"``).
    method : str
        What did it (``"zapline"``, ``"unet-remover-v1"``, ``"spherical_spline"``).
    parameters : dict
        Everything needed to redo it.
    regions : list of Region
        Where it acted; empty for a global step.
    energy_removed : dict
        Per channel, the fraction of signal energy removed, in [0, 1].
    skipped : str | None
        Why the step did not run, if it did not.
    """

    name: str
    method: str
    parameters: dict[str, Any] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    energy_removed: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "parameters": self.parameters,
            "regions": [r.to_dict() for r in self.regions],
            "energy_removed": {k: float(v) for k, v in self.energy_removed.items()},
            "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorrectionStep:
        return cls(
            name=data["name"],
            method=data["method"],
            parameters=dict(data.get("parameters", {})),
            regions=[Region.from_dict(r) for r in data.get("regions", [])],
            energy_removed={k: float(v) for k, v in data.get("energy_removed", {}).items()},
            skipped=data.get("skipped"),
        )


@dataclass
class CorrectionLog:
    """The ordered steps of one correction run, with the input it started from."""

    steps: list[CorrectionStep] = field(default_factory=list)
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, step: CorrectionStep) -> CorrectionStep:
        self.steps.append(step)
        return step

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "steps": [s.to_dict() for s in self.steps],
            "meta": self.meta,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorrectionLog:
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise SidecarError(
                f"Correction log schema {version or 'unknown'} is not supported; expected "
                f"{SCHEMA_VERSION}."
            )
        return cls(
            steps=[CorrectionStep.from_dict(s) for s in data.get("steps", [])],
            source=data.get("source"),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> CorrectionLog:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SidecarError(f"Correction log is not valid JSON ({exc}).") from None
