"""Rule-based detectors: fast, explainable, and our classical baselines.

Each finding carries the feature it rests on, its value and the threshold it passed
(``extras = {"feature", "value", "threshold"}`` for events; ``scores`` hold ``<feature>``
and ``threshold_<feature>`` for channels). Channel rules live in
:mod:`~neurolint.assess.rules_channels`, event rules in :mod:`~neurolint.assess.rules_events`.

The low-predictability rule reports ``noisy_channel``: a channel its neighbours cannot
predict carries something the head does not, which is what a noisy electrode is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import ChannelStatus
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .base import REFERENCE_TYPES, Detection, judged_channels
from .features import window_features
from .rules_channels import CHANNEL_DEFAULTS, channel_rules
from .rules_events import EVENT_DEFAULTS, event_rules

__all__ = ["DEFAULT_THRESHOLDS", "RuleDetector"]

#: Every threshold, by name; override any with ``RuleDetector(thresholds={...})``.
DEFAULT_THRESHOLDS: dict[str, float] = {**CHANNEL_DEFAULTS, **EVENT_DEFAULTS}


def _check_ts(ts: TimeSeries) -> TimeSeries:
    if not isinstance(ts, TimeSeries):
        raise ParameterError(
            f"RuleDetector needs a neurolint TimeSeries, got {type(ts).__name__}; wrap arrays "
            "with neurolint.TimeSeries(data, sampling_rate)."
        )
    return ts.inf_as_missing()  # infinite samples are missing ones, as NaN are


class RuleDetector:
    """Rule-based detection of bad channels and artifact events in EEG-like recordings.

    Parameters
    ----------
    window : float
        Seconds per window of the features and of the quality matrix. default: 1.
    hop : float | None
        Seconds between feature windows. default: ``window``.
    thresholds : mapping | None
        Overrides of :data:`DEFAULT_THRESHOLDS` by name. default: ``None``.
    line_freq : float | None
        Mains frequency (50 or 60 Hz); ``None`` picks the one with more power. default: None.
    n_jobs : int | None
        Segments of the event rules run side by side in this many threads (``-1``: one per
        core); each adds a segment's memory. default: ``None`` (one at a time).
    """

    def __init__(
        self,
        window: float = 1.0,
        hop: float | None = None,
        thresholds: Mapping[str, float] | None = None,
        line_freq: float | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.window = window
        self.hop = hop
        self.thresholds = thresholds
        self.line_freq = line_freq
        self.n_jobs = n_jobs

    # -- parameters ---------------------------------------------------------------------------
    def _resolved(self, ts: TimeSeries) -> tuple[dict[str, float], float, float]:
        window = check_positive("window", self.window)
        hop = check_positive("hop", self.hop if self.hop is not None else window)
        if round(window * ts.sampling_rate) < 8:
            raise ParameterError(
                f"window={window} s is only {round(window * ts.sampling_rate)} samples at "
                f"{ts.sampling_rate:g} Hz; use a window of at least 8 samples."
            )
        unknown = sorted(set(self.thresholds or {}) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise ParameterError(
                f"Unknown threshold(s) {', '.join(unknown)}; use names from "
                "neurolint.assess.rules.DEFAULT_THRESHOLDS."
            )
        if self.line_freq is not None and self.line_freq not in (50, 60):
            raise ParameterError(f"line_freq={self.line_freq} must be 50, 60 or None.")
        return {**DEFAULT_THRESHOLDS, **dict(self.thresholds or {})}, window, hop

    def feature_windows(self, ts: TimeSeries) -> list[tuple[float, float]]:
        """``(window, hop)`` in seconds of the window features fit/detect will ask for."""
        _, window, hop = self._resolved(ts)
        return [(window, hop)]

    def fit(self, ts: TimeSeries) -> RuleDetector:
        """Check parameters against ``ts`` and settle the mains frequency.

        Parameters
        ----------
        ts : TimeSeries

        Returns
        -------
        RuleDetector
            ``self``, with ``thresholds_`` and ``line_freq_``.
        """
        ts = _check_ts(ts)
        self.thresholds_, window, hop = self._resolved(ts)
        feats = window_features(ts, window=window, hop=hop)
        self.line_freq_ = self._line_freq(feats)
        # detect() on the same recording reuses these features instead of a second pass.
        self._seen = (ts, feats)
        return self

    def _line_freq(self, feats) -> float:
        if self.line_freq is not None:
            return float(self.line_freq)
        # The mains family with more power in its loudest windows and channels.
        score = {f: float(np.percentile(feats[f"line_{f}"], 99)) for f in (50, 60)}
        return float(max(score, key=score.get))

    def detect(self, ts: TimeSeries) -> Detection:
        """Find bad channels and artifact events.

        Parameters
        ----------
        ts : TimeSeries
            The recording. Channels typed eeg, meg, ecog, seeg or lfp are judged
            (:func:`~neurolint.assess.base.judged_channels`); EOG, ECG and EMG leads are
            only checked for a missing or flat signal.

        Returns
        -------
        Detection
            ``detector="rules"``, events, one status per channel, and a quality matrix of
            windows of ``window`` seconds.
        """
        ts = _check_ts(ts)
        t, window, hop = self._resolved(ts)
        if hasattr(self, "thresholds_"):
            t = {**t, **self.thresholds_}
        seen = getattr(self, "_seen", None)
        if seen is not None and seen[0] is ts:
            feats = seen[1]
        else:
            feats = window_features(ts, window=window, hop=hop)
        line_freq = getattr(self, "line_freq_", None) or self._line_freq(feats)
        usable = judged_channels(ts.channels.types)
        leads = np.array([ty in REFERENCE_TYPES for ty in ts.channels.types], bool) & ~usable
        statuses, bad, _ = channel_rules(ts, feats, t, usable, leads=leads)
        good = usable & ~bad
        events = []
        if good.any():
            beats = _lead_beats(ts, leads & ~bad)
            events = event_rules(ts, feats, good, t, line_freq, n_jobs=self.n_jobs, beats=beats)
        found = events + _lead_gaps(ts, leads & ~bad, events, t)
        events = sorted(found, key=lambda e: (e.onset, e.kind))
        quality = _quality(ts, events, statuses, window)
        return Detection(
            detector="rules",
            events=events,
            channels=statuses,
            quality=quality,
            window_duration=window,
            traces={"line_freq": line_freq},
        )


def _lead_beats(ts: TimeSeries, leads: np.ndarray) -> np.ndarray | None:
    """Heartbeats from the first ECG lead that has them, else ``None``."""
    from .rules_ecg import heartbeats

    for i in np.flatnonzero(leads):
        if ts.channels.types[i] == "ecg":
            beats = heartbeats(ts, int(i))
            if beats is not None:
                return beats
    return None


def _lead_gaps(ts: TimeSeries, leads: np.ndarray, events, t: dict) -> list:
    """Dropped samples on the reference leads, as ``gap`` events on the lead (the event
    rules see the judged channels only); those inside a gap of every channel are not
    repeated."""
    from ..core.gaps import find_gaps
    from .rules_events import _finding

    idx = np.flatnonzero(leads)
    if len(idx) == 0:
        return []
    sfreq = ts.sampling_rate
    everywhere = [e for e in events if e.kind == "gap" and not e.channels]
    out = []
    for ch, a, z in find_gaps(ts.pick(idx)):
        on, off = a / sfreq, z / sfreq
        if z - a < 2 or any(e.onset <= on and off <= e.offset for e in everywhere):
            continue
        name = ts.ch_names[idx[ch]]
        out.append(_finding("gap", on, off, [name], "missing_channel_frac", 1.0, t["gap_channels"]))
    return out


def _quality(ts: TimeSeries, events, statuses: list[ChannelStatus], window: float) -> np.ndarray:
    """Window x channel quality: 1 - the strongest finding's confidence; 0 on bad channels."""
    n_win = max(1, int(np.ceil(ts.duration / window)))
    q = np.ones((n_win, ts.n_channels), np.float32)
    lookup = {n: i for i, n in enumerate(ts.ch_names)}
    for e in events:
        a = int(e.onset // window)
        z = max(a + 1, int(np.ceil(e.offset / window)))
        cols = [lookup[c] for c in e.channels if c in lookup] if e.channels else slice(None)
        q[a:z, cols] = np.minimum(q[a:z, cols], 1.0 - e.confidence)
    for i, st in enumerate(statuses):
        if st.is_bad:
            q[:, i] = 0.0
    return q
