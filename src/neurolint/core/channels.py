"""Channel metadata that travels with every time series."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ParameterError, ShapeError, UnitsError

__all__ = [
    "CHANNEL_TYPES",
    "UNIT_SCALE_TO_SI",
    "VOLT_UNITS",
    "ChannelInfo",
    "normalize_unit",
    "unit_scale",
]

#: Channel types neurolint understands (a superset of MNE's data channel types it needs).
CHANNEL_TYPES = ("eeg", "meg", "eog", "ecg", "emg", "seeg", "ecog", "ephys", "lfp", "misc")

# Physical unit → factor to the SI base unit (volts or tesla).
UNIT_SCALE_TO_SI: dict[str, float] = {
    "V": 1.0,
    "mV": 1e-3,
    "uV": 1e-6,
    "nV": 1e-9,
    "T": 1.0,
    "fT": 1e-15,
    "T/m": 1.0,
    "fT/cm": 1e-13,
}
#: Units of voltage channels (what formats that store volts convert).
VOLT_UNITS = ("V", "mV", "uV", "nV")

_UNIT_ALIASES = {
    "v": "V",
    "volt": "V",
    "volts": "V",
    "mv": "mV",
    "millivolt": "mV",
    "millivolts": "mV",
    "uv": "uV",
    "µv": "uV",
    "μv": "uV",
    "microvolt": "uV",
    "microvolts": "uV",
    "nv": "nV",
    "t": "T",
    "tesla": "T",
    "ft": "fT",
    "t/m": "T/m",
    "ft/cm": "fT/cm",
    "": "a.u.",
    "n/a": "a.u.",
    "na": "a.u.",
    "au": "a.u.",
    "a.u.": "a.u.",
    "arbitrary": "a.u.",
    "counts": "a.u.",
    "adc": "a.u.",
}


def normalize_unit(unit: str | None) -> str:
    """Map unit spellings (``"µV"``, ``"microvolts"``, ``"volts"``) onto one symbol.

    Unknown spellings are kept as given, so that nothing is silently relabelled.
    """
    if unit is None:
        return "a.u."
    text = str(unit).strip()
    return _UNIT_ALIASES.get(text.lower(), text)


def unit_scale(unit: str, channel: str = "") -> float:
    """Return the factor that converts ``unit`` to its SI base unit.

    Raises
    ------
    UnitsError
        If the unit is arbitrary or unknown, with advice on how to set it.
    """
    unit = normalize_unit(unit)
    if unit not in UNIT_SCALE_TO_SI:
        where = f" of channel {channel!r}" if channel else ""
        known = ", ".join(UNIT_SCALE_TO_SI)
        raise UnitsError(
            f"Units {unit!r}{where} cannot be converted to volts; give the channel physical units "
            f"(one of {known}), e.g. with a gain and 'units' in the sidecar."
        )
    return UNIT_SCALE_TO_SI[unit]


def _as_tuple(values: Iterable[Any] | Any, n: int, name: str, default: Any) -> tuple:
    if values is None:
        return (default,) * n
    if isinstance(values, str):
        return (values,) * n
    out = tuple(values)
    if len(out) != n:
        raise ShapeError(f"{name} has {len(out)} entries for {n} channels; give one per channel.")
    return out


@dataclass(frozen=True)
class ChannelInfo:
    """Names, types, units and positions of the channels of a recording.

    Parameters
    ----------
    names : sequence of str
        Unique channel names.
    types : sequence of str | str | None
        One of :data:`CHANNEL_TYPES` per channel, or one type for all. default: ``"misc"``.
    units : sequence of str | str | None
        Physical unit per channel (``"V"``, ``"uV"``, ``"a.u."`` ...). default: ``"a.u."``.
    positions : array of shape (n_channels, 3) | None
        Sensor positions in metres (head coordinates for EEG, probe coordinates in metres
        for extracellular probes); rows of NaN where unknown. default: ``None``.
    """

    names: tuple[str, ...]
    types: tuple[str, ...] = field(default=())
    units: tuple[str, ...] = field(default=())
    positions: np.ndarray | None = None

    def __init__(
        self,
        names: Sequence[str],
        types: Sequence[str] | str | None = None,
        units: Sequence[str] | str | None = None,
        positions: np.ndarray | Sequence[Sequence[float]] | None = None,
    ) -> None:
        names = tuple(str(n) for n in names)
        n = len(names)
        if len(set(names)) != n:
            dup = next(x for i, x in enumerate(names) if x in names[:i])
            raise ParameterError(
                f"Channel name {dup!r} appears more than once; names must be unique."
            )
        types = tuple(str(t).lower() for t in _as_tuple(types, n, "types", "misc"))
        bad = sorted({t for t in types if t not in CHANNEL_TYPES})
        if bad:
            raise ParameterError(
                f"Unknown channel type(s) {', '.join(map(repr, bad))}; use one of "
                f"{', '.join(CHANNEL_TYPES)}."
            )
        units = tuple(normalize_unit(u) for u in _as_tuple(units, n, "units", "a.u."))
        if positions is not None:
            positions = np.array(positions, dtype=np.float64)
            if positions.shape != (n, 3):
                raise ShapeError(
                    f"positions have shape {positions.shape}; expected ({n}, 3), one xyz row per "
                    "channel (NaN where unknown)."
                )
            if np.isnan(positions).all():
                positions = None
            else:
                positions.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "positions", positions)

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChannelInfo):
            return NotImplemented
        same_pos = (self.positions is None and other.positions is None) or (
            self.positions is not None
            and other.positions is not None
            and np.allclose(self.positions, other.positions, equal_nan=True)
        )
        return (
            self.names == other.names
            and self.types == other.types
            and self.units == other.units
            and same_pos
        )

    __hash__ = None  # type: ignore[assignment]

    def index(self, channels: Sequence[str | int] | str | int | slice | None) -> np.ndarray:
        """Return integer indices for channel names, indices, a slice, or ``None`` (all)."""
        n = len(self.names)
        if channels is None:
            return np.arange(n)
        if isinstance(channels, slice):
            return np.arange(n)[channels]
        if isinstance(channels, (str, int, np.integer)):
            channels = [channels]
        lookup = {name: i for i, name in enumerate(self.names)}
        out = []
        for ch in channels:
            if isinstance(ch, (int, np.integer)) and not isinstance(ch, bool):
                if not -n <= int(ch) < n:
                    raise ParameterError(f"Channel index {ch} is out of range for {n} channels.")
                out.append(int(ch) % n)
            elif str(ch) in lookup:
                out.append(lookup[str(ch)])
            else:
                raise ParameterError(
                    f"No channel named {ch!r}; available: {', '.join(self.names[:10])}"
                    + (" ..." if n > 10 else "")
                    + "."
                )
        return np.asarray(out, dtype=np.int64)

    def subset(self, index: np.ndarray | Sequence[int]) -> ChannelInfo:
        """Return the information of the channels at ``index``, in that order."""
        index = np.asarray(index, dtype=np.int64)
        return ChannelInfo(
            [self.names[i] for i in index],
            [self.types[i] for i in index],
            [self.units[i] for i in index],
            None if self.positions is None else self.positions[index],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "names": list(self.names),
            "types": list(self.types),
            "units": list(self.units),
            "positions": None
            if self.positions is None
            else np.where(np.isnan(self.positions), None, self.positions).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChannelInfo:
        """Inverse of :meth:`to_dict`."""
        pos = data.get("positions")
        if pos is not None:
            pos = np.array([[np.nan if v is None else v for v in row] for row in pos], dtype=float)
        return cls(data["names"], data.get("types"), data.get("units"), pos)
