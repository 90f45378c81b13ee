"""What every detector returns, and how windows map to time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.findings import ChannelStatus, Finding

__all__ = ["REFERENCE_TYPES", "SCALP_TYPES", "Detection", "judged_channels", "window_starts"]

#: Channel types the EEG detectors judge: signals of the brain, compared with each other.
SCALP_TYPES = ("eeg", "meg", "ecog", "seeg", "lfp")
#: Reference leads of the eyes, heart and muscles. They look nothing like EEG (a blink on
#: the EOG, a QRS complex on the ECG), so they are not judged against it: the rules only
#: check that they carry a signal.
REFERENCE_TYPES = ("eog", "ecg", "emg")


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


def judged_channels(types: Sequence[str]) -> np.ndarray:
    """Mask of the channels the EEG detectors judge.

    Channels of :data:`SCALP_TYPES`; in a recording with none of them, every ``misc`` (an
    untyped recording) or :data:`REFERENCE_TYPES` channel instead, so that the user's data
    are still checked.

    Parameters
    ----------
    types : sequence of str
        Channel types, one per channel.

    Returns
    -------
    numpy.ndarray
        Boolean, one per channel.
    """
    types = list(types)
    mask = np.array([t in SCALP_TYPES for t in types], bool)
    if not mask.any():
        mask = np.array([t == "misc" or t in REFERENCE_TYPES for t in types], bool)
    return mask


def judged_part(ts: Any) -> tuple[Any, np.ndarray]:
    """``ts`` cut to its :func:`judged_channels` (``ts`` itself when all or none are), and
    the mask; anything without channel types is judged whole."""
    types = getattr(getattr(ts, "channels", None), "types", None)
    if types is None:
        return ts, np.ones(len(ts.ch_names), bool)
    judged = judged_channels(types)
    if judged.any() and not judged.all():
        return ts.pick(np.flatnonzero(judged)), judged
    return ts, judged


def widened(found: Detection, judged: np.ndarray) -> Detection:
    """``found``, made on the ``judged`` channels only, with its quality matrix widened to
    every channel (1, nothing found, on the others)."""
    q = found.quality
    if q is None or judged.all():
        return found
    full = np.ones((q.shape[0], len(judged)), np.float32)
    full[:, judged] = q
    return replace(found, quality=full)
