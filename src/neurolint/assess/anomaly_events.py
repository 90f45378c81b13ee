"""From robust z-scores to ``anomaly`` events, quality and the suppression of explained ones.

:class:`_Scored` carries one recording's per channel-window z-scores with the features and
threshold they came from; :func:`_to_detection` turns flagged windows that touch in time into
one ``anomaly`` event each (with a quality grid and score traces), and :func:`suppress_known`
drops the anomalies, or the channels of them, that a finding of a known kind explains. Used by
the detectors of :mod:`neurolint.assess.anomaly`, which re-exports :func:`suppress_known`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import Finding
from ..core.timeseries import TimeSeries
from .anomaly_features import FEATURE_NAMES, StandardisedFeatures
from .base import Detection, runs
from .features import WindowFeatures


@dataclass(frozen=True)
class _Scored:
    """Per channel-window robust z-scores of one recording, and what they came from."""

    z: np.ndarray  # (n_windows, n_channels)
    features: StandardisedFeatures  # (n_windows, n_channels, n_features), made on demand
    wf: WindowFeatures
    threshold: float


def _to_detection(name: str, scored: _Scored, ts: TimeSeries) -> Detection:
    z, wf, threshold = scored.z, scored.wf, scored.threshold
    sfreq = wf.sampling_rate
    flagged = z > threshold
    names = wf.channels
    events: list[Finding] = []
    any_flag = flagged.any(axis=1)
    # Windows overlap when hop < window, so consecutive flagged windows touch in time.
    spans = list(runs(any_flag))
    peaks = [np.unravel_index(int(np.argmax(z[k0:k1])), z[k0:k1].shape) for k0, k1 in spans]
    # The features of every event's worst channel-window, made in one go.
    values = scored.features.at(
        np.array([k0 + w for (k0, _), (w, _) in zip(spans, peaks, strict=True)], np.int64),
        np.array([c for _, c in peaks], np.int64),
    )
    for (k0, k1), (w, c), vals in zip(spans, peaks, values, strict=True):
        chans = np.flatnonzero(flagged[k0:k1].any(axis=0))
        peak = float(z[k0 + w, c])
        top = np.argsort(-np.abs(vals))[:3]
        onset = float(wf.starts[k0]) / sfreq
        offset = float(wf.starts[k1 - 1] + wf.length) / sfreq
        events.append(
            Finding(
                onset=onset,
                duration=offset - onset,
                kind="anomaly",
                channels=tuple(names[i] for i in chans),
                confidence=float(peak / (peak + threshold)) if peak > 0 else 0.5,
                detector=name,
                extras={
                    "model": name,
                    "score": round(peak, 3),
                    "threshold": round(float(threshold), 3),
                    "features": {FEATURE_NAMES[i]: round(float(vals[i]), 2) for i in top},
                },
            )
        )
    quality = _quality_grid(z, threshold, wf, ts.n_times)
    return Detection(
        detector=name,
        events=events,
        quality=quality,
        window_duration=wf.length / sfreq if wf.length else None,
        traces={"score": z.max(axis=1), "times": wf.onsets},
    )


def _quality_grid(z: np.ndarray, threshold: float, wf: WindowFeatures, n_times: int) -> np.ndarray:
    """Quality on back-to-back windows of ``wf.length`` samples: the worst overlapping window."""
    q = np.clip(1.0 - np.maximum(z, 0.0) / (2.0 * threshold), 0.0, 1.0).astype(np.float32)
    n_grid = max(1, math.ceil(n_times / wf.length))
    centre = wf.starts + wf.length / 2
    cell = np.minimum((centre // wf.length).astype(np.int64), n_grid - 1)
    grid = np.ones((n_grid, z.shape[1]), np.float32)
    np.minimum.at(grid, cell, q)
    return grid


def _overlap(a: Finding, b: Finding) -> float:
    return min(a.offset, b.offset) - max(a.onset, b.onset)


def suppress_known(
    anomalies: Sequence[Finding], known: Sequence[Finding], min_overlap: float = 0.5
) -> list[Finding]:
    """Keep only the anomalies that no known-kind finding explains.

    A known finding (any kind but ``anomaly``) explains an anomaly on the channels they share
    (empty ``channels`` meaning every channel) when their time overlap is at least
    ``min_overlap`` of the shorter of the two, the rule events are matched by in benchmarks.
    An anomaly whose channels are all explained is dropped; one partly explained keeps only
    its unexplained channels. An anomaly without channels is dropped by any overlapping
    known finding.

    Parameters
    ----------
    anomalies : sequence of Finding
        Events of kind ``anomaly`` (others pass through unchanged).
    known : sequence of Finding
        Findings of known kinds from other detectors.
    min_overlap : float
        Fraction in [0, 1] of the shorter event. default: 0.5.

    Returns
    -------
    list of Finding
    """
    min_overlap = float(min_overlap)
    if not 0.0 <= min_overlap <= 1.0:
        raise ParameterError(f"min_overlap={min_overlap} must lie in [0, 1].")
    known = sorted((k for k in known if k.kind != "anomaly"), key=lambda k: k.onset)
    onsets = np.array([k.onset for k in known])
    # Known findings can be long (episodes), so search back by the longest one.
    longest = max((k.duration for k in known), default=0.0)
    out: list[Finding] = []
    for event in anomalies:
        if event.kind != "anomaly":
            out.append(event)
            continue
        lo = int(np.searchsorted(onsets, event.onset - longest, side="left"))
        hi = int(np.searchsorted(onsets, event.offset, side="right"))
        explained: set[str] = set()
        everything = False
        for k in known[lo:hi]:
            shorter = min(event.duration, k.duration)
            if _overlap(event, k) < min_overlap * shorter - 1e-9 or _overlap(event, k) < 0:
                continue
            if not k.channels or not event.channels:
                everything = True
                break
            explained.update(k.channels)
        if everything:
            continue
        if not event.channels:
            out.append(event)
            continue
        left = tuple(c for c in event.channels if c not in explained)
        if not left:
            continue
        out.append(event if len(left) == len(event.channels) else replace(event, channels=left))
    return out
