"""What every detector returns, and how windows map to time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.findings import ChannelStatus, Finding

__all__ = ["Detection", "window_starts"]


@dataclass
class Detection:
    """One detector's output on one recording, merged into a ``QCResult`` by ``check()``.

    Attributes
    ----------
    detector : str
        Name written into every finding (``"rules"``, ``"learned"``, ``"anomaly"``, ...).
    events : list of Finding
        Timed findings (kind, onset, duration in seconds, channels, confidence, extras with
        the reason: for rules ``{"feature", "value", "threshold"}``).
    channels : list of ChannelStatus
        Verdicts for the channels this detector judged (may be a subset), with ``reasons``
        (finding kinds) and ``scores`` (feature values).
    quality : numpy.ndarray | None
        ``(n_windows, n_channels)`` in [0, 1] (1 = clean), windows of ``window_duration`` s
        starting at ``k * window_duration``; ``None`` if the detector does not grade windows.
    window_duration : float | None
    traces : dict
        Per-time or per-pixel results worth plotting (motion trace, DVARS, SNR map, ...).
    """

    detector: str
    events: list[Finding] = field(default_factory=list)
    channels: list[ChannelStatus] = field(default_factory=list)
    quality: np.ndarray | None = None
    window_duration: float | None = None
    traces: dict[str, Any] = field(default_factory=dict)


def window_starts(n_times: int, length: int, hop: int) -> np.ndarray:
    """Start samples of windows of ``length`` samples every ``hop`` samples covering
    ``n_times`` (the last window is aligned to the end so no sample is left out)."""
    if n_times <= length:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_times - length + 1, hop, dtype=np.int64)
    if starts[-1] + length < n_times:
        starts = np.append(starts, n_times - length)
    return starts


def runs(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` index ranges where a 1-D boolean mask is true."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    yield from zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)
