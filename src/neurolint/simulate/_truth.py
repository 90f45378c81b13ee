"""What a simulator put into its data: the ground truth every accuracy claim is measured on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..core.findings import ChannelStatus, Finding, FindingsView

__all__ = ["GroundTruth", "Simulation"]

TRUTH_SCHEMA_VERSION = "1.0"


@dataclass
class GroundTruth(FindingsView):
    """The known truth behind a simulated recording.

    Attributes
    ----------
    simulator : str
        Which simulator made it (``"eeg"``, ``"ephys"``, ...).
    params : dict
        Every parameter of the call, the seed included, so the run can be repeated.
    events : list of Finding
        Timed artifacts (kind, onset, duration in seconds, channels; empty channels means all),
        with what was injected in ``extras`` (for example ``{"amplitude": 1.2e-4}``).
    channels : list of ChannelStatus
        One entry per channel: ``"bad"`` with the injected kinds as reasons, else ``"good"``.
    clean : object or None
        The same recording without artifacts or noise (same type as the data), for correction
        benchmarks; not written to JSON.
    arrays : dict of str to numpy.ndarray
        Array-valued truth: spike times and labels, footprints, masks, ... (written as ``.npz``).
    extras : dict
        JSON-able scalars and lists worth checking (achieved SNR, tSNR, firing rates, ...).
    """

    simulator: str
    params: dict[str, Any] = field(default_factory=dict)
    events: list[Finding] = field(default_factory=list)
    channels: list[ChannelStatus] = field(default_factory=list)
    clean: Any = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``clean`` and ``arrays`` are listed by shape, not included)."""
        return {
            "schema_version": TRUTH_SCHEMA_VERSION,
            "simulator": self.simulator,
            "params": _jsonable(self.params),
            "events": [_jsonable(e.to_dict()) for e in self.events],
            "channels": [c.to_dict() for c in self.channels],
            "bad_channels": self.bad_channels,
            "arrays": {k: list(np.shape(v)) for k, v in self.arrays.items()},
            "extras": _jsonable(self.extras),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], arrays: dict[str, np.ndarray] | None = None):
        """Rebuild from :meth:`to_dict` output (``clean`` stays ``None``)."""
        return cls(
            simulator=data["simulator"],
            params=dict(data.get("params", {})),
            events=[Finding.from_dict(e) for e in data.get("events", [])],
            channels=[ChannelStatus.from_dict(c) for c in data.get("channels", [])],
            arrays=dict(arrays or {}),
            extras=dict(data.get("extras", {})),
        )

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        """Read ``<stem>_truth.json`` (and ``<stem>_truth.npz`` beside it, if any)."""
        from ..core.errors import InputNotFoundError, SidecarError

        path = Path(path)
        if not path.is_file():
            raise InputNotFoundError(f"{path} does not exist; check the path.")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SidecarError(f"{path} is not valid JSON ({exc}).") from None
        npz = path.with_suffix(".npz")
        arrays = dict(np.load(npz)) if npz.is_file() else {}
        return cls.from_dict(data, arrays)


class Simulation(NamedTuple):
    """A simulator's output: ``data, truth = simulate_xxx(...)``."""

    data: Any
    truth: GroundTruth


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def iter_runs(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` sample ranges where a 1-D boolean mask is true."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    yield from zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)
