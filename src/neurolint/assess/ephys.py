"""Extracellular (ephys) assessment: bad channels, saturation, common-mode transients, pops.

In the spirit of the International Brain Laboratory's channel detection
(``ibl-neuropixel`` ``detect_bad_channels``): channel features are computed on a few
snippets spread across the recording (so an hour-long, 384-channel recording costs the same
as a ten-second one), and timed events on one bounded, chunked pass over the whole
recording.

Channels (from the snippets, high-passed at ``highpass`` Hz):

- **flat**: noise level (robust MAD of the high-passed signal) below ``flat_ratio`` times
  that of the channel's neighbours, or no variance at all.
- **dead** (reason ``"flat"``): low similarity with the neighbours. The similarity is the
  zero-lag regression of the channel on the median of its neighbours (IBL's ``xcor``, with
  a local rather than a global reference), divided by its trend along the probe (a median
  over ``2 * trend_half_width + 1`` channels). Independent noise added to a channel leaves
  this slope unchanged, so noisy channels are not called dead; a disconnected channel's
  slope drops to 0.
- **noisy** (reason ``"noisy_channel"``): power above 80 % of Nyquist more than
  ``noisy_ratio`` times the neighbours' median (IBL's ``psd_hf``), or a relative similarity
  above ``coherent_ratio`` (a channel carrying too much of the shared signal).
- **outside the brain** (reason ``"outside_brain"``): a contiguous run of channels reaching
  the top of the probe (the largest depth coordinate) whose similarity with the probe-wide
  median, smoothed along the probe, is below ``outside_similarity`` (IBL's ``xcor_lf``).
  Only judged on probes of 16 channels or more that share a common signal at all (median
  correlation with the probe-wide median >= ``outside_min_coherence``), as real probes do;
  without one there is nothing to compare with.

Events (chunked pass; the "slow signal" is the mean of 1 ms bins, mains harmonics removed
by a least-squares fit per chunk):

- **saturation**: samples stuck (``saturation_min_samples`` equal samples in a row) at a value
  more than ``saturation_threshold`` noise levels from the channel's baseline.
- **movement** (common mode): the median slow signal of a group of ``group_size``
  neighbouring channels (along the probe) leaves its usual range by more than
  ``movement_threshold`` robust deviations (and at least ``movement_floor`` noise levels)
  for 8 ms or more with one sign (a large spike seen by a whole group flips sign sooner),
  outside saturation.
- **pop**: one channel's slow signal departs from the median of its neighbours by more than
  ``pop_threshold`` robust deviations (and at least ``pop_floor`` noise levels) for 3 ms or
  more with one sign, while its four nearest neighbours stay within a quarter of its
  excursion (so the edge of a common transient is not a pop), outside saturation.
- **line_noise**: a 50 or 60 Hz peak in the median spectrum more than ``line_ratio`` times
  the surrounding floor (one event over the whole recording).
- **gap**: NaN or infinite samples.

Every channel gets ``scores["noise_uV"]`` (or ``"noise"`` in the data's units when those are
not volts), and the detector grades windows of ``window`` seconds per channel in ``quality``
(1 minus the share of the window taken by events on that channel; 0 for bad channels).

Inputs: a :class:`~neurolint.core.timeseries.TimeSeries` sampled at >= 5 kHz. Channel types
are not checked (raw binary probes often come typed ``misc``); the rate is what tells
spikes from EEG. Positions (metres) define neighbours and the probe axis (the second
coordinate); without them the channel order is taken as the order along the probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.channels import UNIT_SCALE_TO_SI
from ..core.chunks import Chunk, job_options
from ..core.errors import DataValueError, ParameterError
from ..core.findings import ChannelStatus, Finding
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .base import Detection, runs
from .neighbours import neighbours

__all__ = ["MIN_SAMPLING_RATE", "EphysDetector"]

#: Lowest sampling rate the extracellular assessment accepts (Hz): below it there are no spikes.
MIN_SAMPLING_RATE = 5000.0

_DETECTOR = "ephys"
_MAD = 0.6745  # MAD of a standard normal: MAD / 0.6745 estimates the standard deviation
_BIN_S = 0.001  # slow signals are averaged in 1 ms bins
_MARGIN_S = 0.25  # context read on each side of a chunk (baseline, hysteresis)
_LINE_FREQS = (50.0, 60.0)
_HF_FRACTION = 0.8  # "high frequency" = above 80 % of Nyquist, as IBL
_SIM_SAMPLES = 4096  # high-passed samples per snippet for the similarity
_NOISE_SAMPLES = 4096  # high-passed samples per snippet for the noise level
_MERGE_S = 0.02  # pieces of one event closer than this are one event
_EPS = 1e-12
_OUTSIDE_MIN_CHANNELS = 16  # probes shorter than this are not judged for out-of-brain runs
_MOVE_MIN_BINS = 8  # a common-mode transient stays >= 8 ms above threshold, one sign
_POP_MIN_BINS = 3  # a pop stays >= 3 ms above threshold, one sign (spikes flip sooner)
_POP_LOCALITY = 0.25  # neighbours' excursion, at most this share of a popping channel's


@dataclass
class _Interval:
    """A piece of an event in samples, before it becomes a Finding."""

    kind: str
    start: int
    stop: int
    channels: set[int] = field(default_factory=set)
    value: float = 0.0  # peak feature value (robust deviations, or a fraction)
    threshold: float = 0.0


class EphysDetector:
    """Assess an extracellular recording: dead, noisy and out-of-brain channels, saturation,
    common-mode (movement) transients, pops, line noise and per-channel noise level.

    See the module docstring for the features and rules. ``fit`` judges the channels and
    measures the per-channel and per-group scales on snippets of a recording; ``detect``
    runs the chunked pass for events over a recording with the same channels and returns
    them with the fitted channel verdicts. The usual call fits and detects on the recording
    to be checked, ``EphysDetector().fit(ts).detect(ts)``; fitting on a reference recording
    of the same probe and detecting on another judges the other's events with the
    reference's scales (and reports the reference's channel verdicts).

    Parameters
    ----------
    n_snippets : int
        Snippets spread evenly over the recording for the channel features. default: 10.
    snippet_duration : float
        Seconds per snippet. default: 1.0.
    highpass : float
        High-pass cut-off in Hz for the channel features (spike band). default: 300.
    n_neighbors : int
        Nearest channels whose median is a channel's reference. default: 8.
    trend_half_width : int
        Half-width, in channels along the probe, of the median that gives the similarity
        trend. default: 5 (11 channels, as IBL).
    flat_ratio : float
        Flat when the noise level is below this fraction of the neighbours'. default: 0.1.
    dead_similarity : float
        Dead when the similarity is below this fraction of its trend. default: 0.3.
    noisy_ratio : float
        Noisy when the power above 80 % of Nyquist exceeds this multiple of the neighbours'
        median. default: 2.0.
    coherent_ratio : float
        Noisy when the similarity exceeds this multiple of its trend. default: 3.0.
    outside_similarity : float
        Outside the brain when the smoothed similarity with the probe-wide median is below
        this (IBL: 0.25). default: 0.25.
    outside_min_coherence : float
        Median correlation with the probe-wide median needed to judge outside channels.
        default: 0.2.
    line_ratio : float
        Line noise when the 50/60 Hz peak exceeds this multiple of the spectral floor.
        default: 10.
    saturation_threshold : float
        Noise levels from the baseline beyond which stuck samples are saturation. default: 5.
    saturation_min_samples : int
        Equal samples in a row that make a channel stuck. default: 4.
    movement_threshold, movement_floor : float
        A group median must exceed ``movement_threshold`` robust deviations and
        ``movement_floor`` median noise levels. default: 10, 1.
    pop_threshold, pop_floor : float
        A channel's departure from its neighbours must exceed ``pop_threshold`` robust
        deviations and ``pop_floor`` noise levels. default: 10, 4.
    group_size : int
        Channels per group (consecutive along the probe) for the common mode. default: 8.
    window : float
        Seconds per row of the quality matrix (the chunk length of the pass). default: 1.0.
    n_jobs : int | None
        Workers for the chunked pass (see :mod:`neurolint.core.chunks`). default: ``None``
        (the global job options).
    progress_bar : bool | None
        Show a progress bar over chunks. default: ``None`` (global job options).

    Attributes
    ----------
    features_ : dict of str to numpy.ndarray
        Per-channel features of the fitted recording: ``noise`` (µV or data units),
        ``noise_ratio``, ``hf_ratio``, ``similarity``, ``outside_similarity``.
    statuses_ : list of ChannelStatus
        Channel verdicts of the fitted recording.
    line_freq_ : float | None
        Mains frequency found (Hz), ``None`` if no line noise stands out.
    line_peak_ratio_ : float
        Largest 50/60 Hz peak over the spectral floor.
    noise_ : numpy.ndarray
        Noise level per channel (µV, or data units), as in ``features_["noise"]``.
    baseline_ : numpy.ndarray
        Median of each channel (µV or data units).
    group_scale_ : numpy.ndarray
        Robust deviation of each group's median slow signal.
    pop_scale_ : numpy.ndarray
        Robust deviation of each channel's slow departure from its neighbours.
    """

    def __init__(
        self,
        *,
        n_snippets: int = 10,
        snippet_duration: float = 1.0,
        highpass: float = 300.0,
        n_neighbors: int = 8,
        trend_half_width: int = 5,
        flat_ratio: float = 0.1,
        dead_similarity: float = 0.3,
        noisy_ratio: float = 2.0,
        coherent_ratio: float = 3.0,
        outside_similarity: float = 0.25,
        outside_min_coherence: float = 0.2,
        line_ratio: float = 10.0,
        saturation_threshold: float = 5.0,
        saturation_min_samples: int = 4,
        movement_threshold: float = 10.0,
        movement_floor: float = 1.0,
        pop_threshold: float = 10.0,
        pop_floor: float = 4.0,
        group_size: int = 8,
        window: float = 1.0,
        n_jobs: int | None = None,
        progress_bar: bool | None = None,
    ) -> None:
        self.n_snippets = n_snippets
        self.snippet_duration = snippet_duration
        self.highpass = highpass
        self.n_neighbors = n_neighbors
        self.trend_half_width = trend_half_width
        self.flat_ratio = flat_ratio
        self.dead_similarity = dead_similarity
        self.noisy_ratio = noisy_ratio
        self.coherent_ratio = coherent_ratio
        self.outside_similarity = outside_similarity
        self.outside_min_coherence = outside_min_coherence
        self.line_ratio = line_ratio
        self.saturation_threshold = saturation_threshold
        self.saturation_min_samples = saturation_min_samples
        self.movement_threshold = movement_threshold
        self.movement_floor = movement_floor
        self.pop_threshold = pop_threshold
        self.pop_floor = pop_floor
        self.group_size = group_size
        self.window = window
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar

    # -- parameters --------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in ("n_snippets", "n_neighbors", "saturation_min_samples", "group_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"{name}={value!r} must be a whole number >= 1.")
        half = self.trend_half_width
        if isinstance(half, bool) or not isinstance(half, (int, np.integer)) or half < 0:
            raise ParameterError(f"trend_half_width={half!r} must be a whole number >= 0.")
        for name in (
            "snippet_duration",
            "highpass",
            "flat_ratio",
            "dead_similarity",
            "noisy_ratio",
            "coherent_ratio",
            "outside_similarity",
            "line_ratio",
            "saturation_threshold",
            "movement_threshold",
            "pop_threshold",
            "window",
        ):
            check_positive(name, getattr(self, name))
        for name in ("outside_min_coherence", "movement_floor", "pop_floor"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if self.window < 10 * _BIN_S:
            raise ParameterError(f"window={self.window} s is too short; use at least 0.01 s.")

    @staticmethod
    def _check_input(ts: Any) -> TimeSeries:
        if not isinstance(ts, TimeSeries):
            raise ParameterError(
                f"EphysDetector takes a TimeSeries (from neurolint.read), not {type(ts).__name__}; "
                "wrap arrays with neurolint.TimeSeries(data, sampling_rate)."
            )
        if ts.sampling_rate < MIN_SAMPLING_RATE:
            raise ParameterError(
                f"sampling_rate={ts.sampling_rate:g} Hz is too low for the extracellular "
                f"assessment (spikes need >= {MIN_SAMPLING_RATE:g} Hz); check EEG, LFP or "
                "downsampled data with the 'rules' detector instead."
            )
        return ts

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, ts: TimeSeries) -> EphysDetector:
        """Compute channel features and event scales on snippets of ``ts``.

        Parameters
        ----------
        ts : TimeSeries
            An extracellular recording (>= 5 kHz), never modified.

        Returns
        -------
        EphysDetector
            ``self``, fitted.
        """
        self._check_params()
        ts = self._check_input(ts)
        geometry = _Geometry.from_series(ts, self.n_neighbors, self.group_size)
        fs = ts.sampling_rate
        snippets = _snippet_starts(ts.n_samples, fs, self.snippet_duration, self.n_snippets)
        length = min(ts.n_samples, round(self.snippet_duration * fs))
        scale = _to_uv(ts)
        acc = _Accumulator(ts.n_channels, fs, length, self.highpass)
        bins: list[np.ndarray] = []
        for start in snippets:
            x = ts.get_data(start, start + length)
            if scale is not None:
                x *= scale[:, None]
            finite = np.isfinite(x)
            if not finite.any():
                continue
            if not finite.all():
                x = np.where(finite, x, np.float32(0.0))
            acc.add(x, geometry)
            bins.append(_bin_means(x, _bin_len(fs)))
        if acc.n == 0:
            raise DataValueError(
                "The recording holds no finite values where sampled (all NaN or infinite); "
                "check the file and its scaling."
            )
        feats = acc.features(geometry, self.trend_half_width)
        self.features_ = feats
        self.noise_ = feats["noise"]
        self.baseline_ = acc.baseline()
        self.line_freq_, self.line_peak_ratio_ = acc.line(self.line_ratio)
        self.statuses_ = self._verdicts(ts, feats, geometry)
        self.geometry_ = geometry.without(self._unusable(self.statuses_))
        # Scales of the slow signals, measured like the chunked pass measures them.
        group_dev, pop_dev = [], []
        for start, b in zip(snippets, bins, strict=False):
            slow_x = self._slow_from_bins(b - self.baseline_[:, None], start, fs)
            group_dev.append(_robust_std(self.geometry_.group_medians(slow_x), axis=1))
            pop_dev.append(_robust_std(self.geometry_.residual(slow_x), axis=1))
        self.group_scale_ = np.maximum(np.median(np.array(group_dev), axis=0), _EPS)
        self.pop_scale_ = np.maximum(np.median(np.array(pop_dev), axis=0), _EPS)
        return self

    def _verdicts(
        self, ts: TimeSeries, feats: dict[str, np.ndarray], geometry: _Geometry
    ) -> list[ChannelStatus]:
        n = ts.n_channels
        flat = (feats["noise_ratio"] < self.flat_ratio) | (feats["noise"] <= _EPS)
        dead = ~flat & (feats["similarity"] < self.dead_similarity)
        noisy = ~flat & (
            (feats["hf_ratio"] > self.noisy_ratio) | (feats["similarity"] > self.coherent_ratio)
        )
        outside = np.zeros(n, bool)
        # Only a probe long enough to span brain and what lies above it has a "top".
        if n >= _OUTSIDE_MIN_CHANNELS and feats["coherence"] >= self.outside_min_coherence:
            low = feats["outside_similarity"] < self.outside_similarity
            # A contiguous run from the top of the probe (largest depth) downwards.
            order = geometry.depth_order[::-1]
            run = np.cumprod(low[order]).astype(bool)
            outside[order[run]] = True
        outside &= ~flat
        noise_key = "noise_uV" if self._units_known(ts) else "noise"
        out = []
        for i, name in enumerate(ts.ch_names):
            reasons = []
            if flat[i] or dead[i]:
                reasons.append("flat")
            if noisy[i]:
                reasons.append("noisy_channel")
            if outside[i]:
                reasons.append("outside_brain")
            scores = {
                noise_key: float(feats["noise"][i]),
                "noise_ratio": float(feats["noise_ratio"][i]),
                "hf_ratio": float(feats["hf_ratio"][i]),
                "similarity": float(feats["similarity"][i]),
                "outside_similarity": float(feats["outside_similarity"][i]),
            }
            out.append(
                ChannelStatus(
                    name=name,
                    type=ts.channels.types[i],
                    status="bad" if reasons else "good",
                    reasons=tuple(reasons),
                    scores={k: (v if math.isfinite(v) else 0.0) for k, v in scores.items()},
                )
            )
        return out

    @staticmethod
    def _unusable(statuses: list[ChannelStatus]) -> np.ndarray:
        """Channels that record nothing useful (flat or dead): no reference, no events."""
        return np.array(["flat" in s.reasons for s in statuses], bool)

    @staticmethod
    def _units_known(ts: TimeSeries) -> bool:
        return all(u in UNIT_SCALE_TO_SI for u in ts.channels.units)

    def _slow_from_bins(
        self, slow: np.ndarray, start: int, fs: float, skip: np.ndarray | None = None
    ) -> np.ndarray:
        """1 ms bin means with mains removed and each channel's median at 0.

        ``skip`` marks bins left out of the mains fit (saturation), and bins where the probe
        median leaves its usual range are left out too, so that an artifact does not bend
        the fit and leave a sinusoid over the whole chunk.
        """
        slow -= np.median(slow, axis=1, keepdims=True)
        if self.line_freq_ is not None:
            probe = np.median(slow, axis=0)
            usable = np.abs(probe) <= 5.0 * max(float(_robust_std(probe, axis=0)), _EPS)
            if skip is not None:
                usable &= ~skip
            slow = _remove_line(slow, start, fs, _bin_len(fs), self.line_freq_, usable)
            slow -= np.median(slow, axis=1, keepdims=True)
        return slow

    # -- detect ------------------------------------------------------------------------------
    def detect(self, ts: TimeSeries) -> Detection:
        """Find events chunk by chunk and return them with the channel verdicts.

        Fits on ``ts`` first if the detector is not fitted.

        Parameters
        ----------
        ts : TimeSeries
            The recording to check (>= 5 kHz), never modified.

        Returns
        -------
        Detection
            ``detector="ephys"``: events (``saturation``, ``movement``, ``pop``,
            ``line_noise``, ``gap``), channel verdicts with scores, the window x channel
            ``quality`` and, in ``traces``, the channel features.
        """
        ts = self._check_input(ts)
        if not hasattr(self, "statuses_"):
            self.fit(ts)
        if ts.n_channels != len(self.statuses_):
            raise ParameterError(
                f"The detector was fitted on {len(self.statuses_)} channels and given "
                f"{ts.n_channels}; fit it on this recording first."
            )
        statuses = self.statuses_
        fs = ts.sampling_rate
        bin_len = _bin_len(fs)
        chunk = max(10, round(self.window * fs / bin_len)) * bin_len
        margin = round(_MARGIN_S * fs / bin_len) * bin_len
        opts = job_options(n_jobs=self.n_jobs, progress_bar=self.progress_bar)
        bad = np.array([s.is_bad for s in statuses], bool)
        dead = self._unusable(statuses)
        scale = _to_uv(ts)
        results = ts.map_chunks(
            lambda data, c: self._chunk(data, c, fs, scale, dead),
            margin=margin,
            trim=False,
            chunk_size=chunk,
            n_jobs=opts.n_jobs,
            progress_bar=opts.progress_bar,
        )
        intervals: list[_Interval] = []
        quality = np.ones((len(results), ts.n_channels), np.float32)
        for k, (pieces, q) in enumerate(results):
            intervals.extend(pieces)
            quality[k] = q
        events = self._events(intervals, ts, dead)
        if self.line_freq_ is not None:
            events.append(
                Finding(
                    onset=0.0,
                    duration=ts.duration,
                    kind="line_noise",
                    channels=(),
                    confidence=_confidence(self.line_peak_ratio_, self.line_ratio),
                    detector=_DETECTOR,
                    extras={
                        "feature": "line_peak_ratio",
                        "value": float(self.line_peak_ratio_),
                        "threshold": float(self.line_ratio),
                        "frequency": float(self.line_freq_),
                    },
                )
            )
        events.sort(key=lambda e: (e.onset, e.kind))
        quality[:, bad] = 0.0
        feats = self.features_
        return Detection(
            detector=_DETECTOR,
            events=events,
            channels=list(statuses),
            quality=quality,
            window_duration=chunk / fs,
            traces={k: np.asarray(v) for k, v in feats.items() if np.ndim(v) == 1},
        )

    def _chunk(
        self,
        data: np.ndarray,
        chunk: Chunk,
        fs: float,
        scale: np.ndarray | None,
        dead: np.ndarray,
    ) -> tuple[list[_Interval], np.ndarray]:
        """Events of one padded chunk (clipped to its core) and its quality row."""
        bin_len = _bin_len(fs)
        n_ch = data.shape[0]
        x = data  # a fresh array per chunk: safe to modify in place
        if scale is not None:
            x *= scale[:, None]
        x -= self.baseline_[:, None]
        pieces: list[_Interval] = []
        core_lo = chunk.before // bin_len
        core_hi = core_lo + -(-(chunk.stop - chunk.start) // bin_len)
        affected = np.zeros((n_ch, core_hi - core_lo), bool)

        def add(kind: str, b0: int, b1: int, chans: set[int], value: float, thr: float) -> None:
            lo, hi = max(b0, core_lo), min(b1, core_hi)
            if hi <= lo:
                return
            start = chunk.read_start + lo * bin_len
            stop = min(chunk.read_start + hi * bin_len, chunk.stop)
            pieces.append(_Interval(kind, start, stop, set(chans), value, thr))
            rows = list(chans) if chans else slice(None)
            affected[rows, lo - core_lo : hi - core_lo] = True

        # Gaps: NaN / inf samples.
        if not np.isfinite(np.add.reduce(x, axis=1)).all():  # no full-size mask when clean
            finite = np.isfinite(x)
            missing = _bin_any(~finite, bin_len)
            for ch in np.flatnonzero(missing.any(axis=1)):
                for b0, b1 in runs(missing[ch]):
                    add("gap", b0, b1, {int(ch)}, 1.0, 0.0)
            x[~finite] = 0.0

        # Saturation: runs of equal samples far from the baseline.
        thr = self.saturation_threshold * np.maximum(self.noise_, _EPS)
        sat_bins = _stuck_bins(x, thr, self.saturation_min_samples, bin_len, dead)
        sat_any = _dilate(sat_bins.any(axis=0), round(_MERGE_S / _BIN_S))
        for b0, b1 in runs(sat_any):
            chans = set(np.flatnonzero(sat_bins[:, b0:b1].any(axis=1)).tolist())
            if not chans:
                continue
            frac = len(chans) / max(1, int((~dead).sum()))
            add("saturation", b0, b1, chans, frac, 0.0)
        # Slow signals are unreliable around saturation (clipped, unequal gains): skip them.
        guard = _dilate(sat_any, round(2 * _MERGE_S / _BIN_S))

        slow = self._slow_from_bins(_bin_means(x, bin_len), chunk.read_start, fs, guard)
        geo = self.geometry_
        # Common mode: group medians.
        alive = ~dead
        floor = self.movement_floor * float(np.median(self.noise_[alive])) if alive.any() else 0
        cm = geo.group_medians(slow)
        cm_thr = np.maximum(self.movement_threshold * self.group_scale_, floor)
        z = np.abs(cm) / cm_thr[:, None]
        # A transient keeps one sign for many milliseconds; a large spike seen by a whole
        # group (or tetrode) flips sign within two or three.
        hot = _signed_runs(cm, cm_thr[:, None], _MOVE_MIN_BINS) & ~guard[None, :]
        lo_mask = (z >= 0.3) & ~guard[None, :]
        move_any = _hysteresis(lo_mask.any(axis=0), hot.any(axis=0))
        for b0, b1 in runs(_close(move_any, round(_MERGE_S / _BIN_S))):
            groups = np.flatnonzero(hot[:, b0:b1].any(axis=1))
            chans = set(np.concatenate([geo.groups[g] for g in groups]).tolist())
            g, t = np.unravel_index(np.argmax(z[:, b0:b1]), (z.shape[0], b1 - b0))
            add("movement", b0, b1, chans, float(abs(cm[g, b0 + t])), float(cm_thr[g]))

        # Pops: one channel leaves its neighbours.
        resid = geo.residual(slow)
        pop_thr = np.maximum(self.pop_threshold * self.pop_scale_, self.pop_floor * self.noise_)
        zp = np.abs(resid) / np.maximum(pop_thr, _EPS)[:, None]
        zp[dead] = 0.0
        zp[:, guard] = 0.0
        # The departure must be the channel's own (most of its excursion), not its share of
        # a common transient whose gain varies along the probe; and longer than a spike.
        size = np.abs(slow)
        own = (np.abs(resid) >= 0.5 * size) & (geo.nearest_max(size) <= _POP_LOCALITY * size)
        hot_pop = _signed_runs(np.where(own, resid, 0.0), pop_thr[:, None], _POP_MIN_BINS)
        hot_pop[zp == 0] = False  # flat channels and saturation
        for ch in np.flatnonzero(hot_pop.any(axis=1)):
            seg = _hysteresis(zp[ch] >= 0.3, hot_pop[ch])
            for b0, b1 in runs(_close(seg, round(_MERGE_S / _BIN_S))):
                peak = float(np.abs(resid[ch, b0:b1]).max())
                add("pop", b0, b1, {int(ch)}, peak, float(pop_thr[ch]))

        quality = 1.0 - affected.mean(axis=1).astype(np.float32)
        return pieces, quality

    def _events(self, pieces: list[_Interval], ts: TimeSeries, dead: np.ndarray) -> list[Finding]:
        """Join pieces across chunk edges and turn them into Findings."""
        fs = ts.sampling_rate
        gap = round(_MERGE_S * fs)
        merged: list[_Interval] = []
        open_: dict[tuple, int] = {}
        for p in sorted(pieces, key=lambda p: (p.kind, p.start)):
            key = (p.kind, tuple(sorted(p.channels))) if p.kind in ("pop", "gap") else (p.kind,)
            i = open_.get(key)
            if i is not None and p.start - merged[i].stop <= gap:
                m = merged[i]
                m.stop = max(m.stop, p.stop)
                m.channels |= p.channels
                m.value = max(m.value, p.value)
            else:
                open_[key] = len(merged)
                merged.append(
                    _Interval(p.kind, p.start, p.stop, set(p.channels), p.value, p.threshold)
                )
        names = ts.ch_names
        n_good = max(1, int((~dead).sum()))
        unit = "uV" if self._units_known(ts) else "data units"
        out = []
        for m in merged:
            everywhere = len(m.channels) >= 0.9 * n_good
            chans = () if everywhere else tuple(names[c] for c in sorted(m.channels))
            if m.kind == "saturation":
                frac = len(m.channels) / n_good
                extras = {
                    "feature": "stuck_channel_fraction",
                    "value": float(frac),
                    "threshold": 0.0,
                    "noise_multiple": float(self.saturation_threshold),
                }
                conf = float(np.clip(0.7 + 0.3 * frac, 0.0, 1.0))
            elif m.kind == "movement":
                # Peak of the median slow signal of a group of neighbouring channels, and the
                # threshold of that group (movement_threshold robust deviations, at least
                # movement_floor noise levels).
                extras = {
                    "feature": "group_median_amplitude",
                    "value": float(m.value),
                    "threshold": float(m.threshold),
                    "unit": unit,
                }
                conf = _confidence(m.value, m.threshold)
            elif m.kind == "pop":
                # Peak departure of the channel's slow signal from its neighbours' median.
                extras = {
                    "feature": "neighbour_departure",
                    "value": float(m.value),
                    "threshold": float(m.threshold),
                    "unit": unit,
                }
                conf = _confidence(m.value, m.threshold)
            else:  # gap
                extras = {"feature": "non_finite_samples", "value": 1.0, "threshold": 0.0}
                conf = 1.0
            out.append(
                Finding(
                    onset=m.start / fs,
                    duration=(m.stop - m.start) / fs,
                    kind=m.kind,
                    channels=chans,
                    confidence=conf,
                    detector=_DETECTOR,
                    extras=extras,
                )
            )
        return out


# -- geometry ----------------------------------------------------------------------------------
class _Geometry:
    """Neighbours, order along the probe and channel groups of a probe.

    ``ranked`` lists every channel's nearest channels, nearest first; ``nbrs`` keeps the
    first ``k`` of them that are usable as a reference (not flat or dead).
    """

    def __init__(
        self, ranked: np.ndarray, k: int, depth_order: np.ndarray, groups: list[np.ndarray]
    ) -> None:
        self.ranked = ranked
        self.k = k
        self.depth_order = depth_order
        self.groups = groups
        self.nbrs = ranked[:, :k]

    @classmethod
    def from_series(cls, ts: TimeSeries, k: int, group_size: int) -> _Geometry:
        info = ts.channels
        n = ts.n_channels
        # Enough ranked candidates to replace a few bad neighbours, not an n x n table.
        ranked = neighbours(info, min(n - 1, 4 * k + 16)) if n > 1 else np.zeros((1, 0), int)
        pos = info.positions
        index = np.arange(n, dtype=float)
        if pos is not None and np.isfinite(pos[:, :2]).all():
            # Along the shank (y), then across it (x), then by index.
            depth_order = np.lexsort((index, pos[:, 0], pos[:, 1]))
        else:
            depth_order = np.arange(n)
        n_groups = max(1, round(n / group_size))
        groups = [g for g in np.array_split(depth_order, n_groups) if g.size]
        return cls(ranked, min(k, ranked.shape[1]), depth_order, groups)

    def without(self, unusable: np.ndarray) -> _Geometry:
        """The same probe with ``unusable`` channels left out of every reference."""
        if not unusable.any() or unusable.all():
            return self
        ok = ~unusable[self.ranked]
        k = int(min(self.k, ok.sum(axis=1).min()))
        # Stable argsort on "not ok" moves usable neighbours first, keeping their order.
        order = np.argsort(~ok, axis=1, kind="stable")[:, :k]
        geo = _Geometry(np.take_along_axis(self.ranked, order, axis=1), k, self.depth_order, [])
        groups = [g[~unusable[g]] for g in self.groups]
        geo.groups = [g for g in groups if g.size] or [np.flatnonzero(~unusable)]
        return geo

    def neighbour_median(self, x: np.ndarray) -> np.ndarray:
        """Median over each channel's neighbours, ``x`` of shape (n_ch, n)."""
        k = self.nbrs.shape[1]
        if k == 0:
            return np.zeros_like(x)
        stack = x[self.nbrs]  # (n_ch, k, n)
        stack.sort(axis=1)  # a small-axis sort beats np.median's partition here
        if k % 2:
            return stack[:, k // 2]
        return 0.5 * (stack[:, k // 2 - 1] + stack[:, k // 2])

    def nearest_max(self, x: np.ndarray, m: int = 4) -> np.ndarray:
        """Largest value among each channel's ``m`` nearest usable neighbours."""
        m = min(m, self.nbrs.shape[1])
        if m == 0:
            return np.zeros_like(x)
        return x[self.nbrs[:, :m]].max(axis=1)

    def residual(self, x: np.ndarray) -> np.ndarray:
        return x - self.neighbour_median(x)

    def group_medians(self, x: np.ndarray) -> np.ndarray:
        """Common signal of each group: its median, or for one or two channels the smaller
        deflection where both agree in sign (a median of two would follow one channel)."""
        out = []
        for g in self.groups:
            if g.size >= 3:
                out.append(np.median(x[g], axis=0))
                continue
            v = x[g]
            agree = np.all(v > 0, axis=0) | np.all(v < 0, axis=0)
            smallest = v[np.argmin(np.abs(v), axis=0), np.arange(v.shape[1])]
            out.append(np.where(agree, smallest, 0.0).astype(x.dtype))
        return np.stack(out)


# -- snippet features -------------------------------------------------------------------------
class _Accumulator:
    """Channel features of each snippet, combined by medians over snippets (so that one
    snippet with an artifact does not decide)."""

    def __init__(self, n_ch: int, fs: float, length: int, highpass: float) -> None:
        from scipy.signal import butter

        self.fs, self.length, self.n = fs, length, 0
        self.sos = butter(3, min(highpass, 0.45 * fs) / (fs / 2), "highpass", output="sos")
        self.rows: dict[str, list[Any]] = {
            k: [] for k in ("median", "noise", "hf", "spectrum", "slope", "slope_g", "corr_g")
        }
        self.freqs = np.zeros(0)

    def add(self, x: np.ndarray, geometry: _Geometry) -> None:
        from scipy import fft
        from scipy.signal import sosfilt

        self.n += 1
        rows = self.rows
        # Medians of every 8th sample: as good an estimate, an eighth of the work.
        rows["median"].append(np.median(x[:, ::8], axis=1))
        spec = fft.rfft(x, axis=1, workers=-1)  # the DC bin, the only one the median moves,
        freqs = np.fft.rfftfreq(x.shape[1], 1.0 / self.fs)  # is not used
        top = spec[:, freqs > _HF_FRACTION * self.fs / 2]
        rows["hf"].append(np.mean(top.real**2 + top.imag**2, axis=1))
        low = spec[:, freqs < 200.0]
        rows["spectrum"].append(np.median(low.real**2 + low.imag**2, axis=0))
        self.freqs = freqs[freqs < 200.0]
        del spec, top, low
        # Spike band, on the first part of the snippet (enough samples for a noise level and
        # a similarity); the first 10 ms hold the filter's start-up transient.
        skip = round(0.01 * self.fs)
        seg = x[:, : min(x.shape[1], skip + max(_NOISE_SAMPLES, 2 * _SIM_SAMPLES))]
        seg = seg - rows["median"][-1][:, None]
        hp = sosfilt(self.sos.astype(np.float32), seg, axis=1)
        if hp.shape[1] > 10 * skip:
            hp = hp[:, skip:]
        thin = hp[:, :: max(1, hp.shape[1] // _NOISE_SAMPLES)]
        mad = np.median(np.abs(thin - np.median(thin, axis=1, keepdims=True)), axis=1)
        rows["noise"].append(mad / _MAD)
        # Zero-lag similarity on a thinned copy (every k-th sample: same expectation).
        step = max(1, hp.shape[1] // _SIM_SAMPLES)
        h = np.ascontiguousarray(hp[:, ::step], dtype=np.float32)
        ref = geometry.neighbour_median(h)
        glob = np.median(h, axis=0).astype(np.float64)
        xr = np.einsum("ij,ij->i", h, ref, dtype=np.float64)
        rr = np.einsum("ij,ij->i", ref, ref, dtype=np.float64)
        xx = np.einsum("ij,ij->i", h, h, dtype=np.float64)
        xm = np.einsum("ij,j->i", h, glob.astype(np.float32), dtype=np.float64)
        mm = float(glob @ glob)
        with np.errstate(all="ignore"):
            rows["slope"].append(np.where(rr > _EPS, xr / rr, 0.0))
            rows["slope_g"].append(xm / mm if mm > _EPS else np.zeros_like(xm))
            rows["corr_g"].append(np.where(xx * mm > _EPS, xm / np.sqrt(xx * mm), 0.0))

    def _median(self, key: str) -> np.ndarray:
        return np.median(np.array(self.rows[key]), axis=0)

    def baseline(self) -> np.ndarray:
        return self._median("median").astype(np.float32)

    def features(self, geometry: _Geometry, half: int) -> dict[str, Any]:
        noise, hf = self._median("noise"), self._median("hf")
        slope, slope_g = self._median("slope"), self._median("slope_g")
        corr_g = self._median("corr_g")
        nb_noise = _nbr_stat(noise, geometry)
        nb_hf = _nbr_stat(hf, geometry)
        with np.errstate(all="ignore"):
            noise_ratio = np.where(nb_noise > _EPS, noise / nb_noise, 1.0)
            hf_ratio = np.where(nb_hf > _EPS, hf / nb_hf, 1.0)
        order = geometry.depth_order
        trend = np.empty_like(slope)
        trend[order] = _running_median(slope[order], half)
        with np.errstate(all="ignore"):
            similarity = np.where(np.abs(trend) > _EPS, slope / trend, 1.0)
        outside = np.empty_like(slope_g)
        outside[order] = _running_median(slope_g[order], half)
        return {
            "noise": noise.astype(np.float64),
            "noise_ratio": noise_ratio,
            "hf_ratio": hf_ratio,
            "similarity": similarity,
            "outside_similarity": outside,
            "coherence": float(np.median(corr_g)) if corr_g.size > 1 else 0.0,
        }

    def line(self, threshold: float) -> tuple[float | None, float]:
        """Mains frequency whose peak in the median spectrum stands out, and the ratio."""
        if not self.rows["spectrum"]:
            return None, 0.0
        med = self._median("spectrum")
        freqs = self.freqs
        res = freqs[1] - freqs[0] if freqs.size > 1 else 1.0
        best, best_ratio = None, 0.0
        for f0 in _LINE_FREQS:
            near = np.abs(freqs - f0) <= max(1.0, res)
            ring = (np.abs(freqs - f0) > max(3.0, 3 * res)) & (np.abs(freqs - f0) <= 15.0)
            if not near.any() or not ring.any():
                continue
            ratio = float(med[near].max() / max(np.median(med[ring]), _EPS))
            if ratio > best_ratio:
                best, best_ratio = f0, ratio
        return (best if best_ratio > threshold else None), best_ratio


def _nbr_stat(values: np.ndarray, geometry: _Geometry) -> np.ndarray:
    """Median of each channel's neighbours' ``values`` (the probe's median without any)."""
    nbrs = geometry.nbrs
    if nbrs.shape[1] == 0:
        return np.full_like(values, np.median(values))
    return np.median(values[nbrs], axis=1)


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    """Median over ``2 * half + 1`` neighbours along a 1-D array, edges padded."""
    if half == 0 or values.size < 2:
        return values.copy()
    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.pad(values, half, mode="edge")
    return np.median(sliding_window_view(padded, 2 * half + 1), axis=1)


def _snippet_starts(n: int, fs: float, duration: float, count: int) -> list[int]:
    length = min(n, round(duration * fs))
    count = max(1, min(count, n // max(length, 1)))
    return [int(s) for s in np.linspace(0, n - length, count).round()]


def _to_uv(ts: TimeSeries) -> np.ndarray | None:
    """Per-channel factor to microvolts, or ``None`` when no conversion is needed or known."""
    units = ts.channels.units
    if not all(u in UNIT_SCALE_TO_SI for u in units):
        return None
    scale = np.array([UNIT_SCALE_TO_SI[u] / 1e-6 for u in units], np.float32)
    return None if np.all(scale == 1) else scale


# -- chunk helpers ----------------------------------------------------------------------------
def _bin_len(fs: float) -> int:
    return max(1, round(_BIN_S * fs))


def _bin_means(x: np.ndarray, b: int) -> np.ndarray:
    n = x.shape[1]
    edges = np.arange(0, n, b)
    counts = np.diff(np.append(edges, n)).astype(np.float32)
    return np.add.reduceat(x, edges, axis=1) / counts


def _bin_any(mask: np.ndarray, b: int) -> np.ndarray:
    n = mask.shape[1]
    return np.logical_or.reduceat(mask, np.arange(0, n, b), axis=1)


def _stuck_bins(
    x: np.ndarray, thr: np.ndarray, min_samples: int, bin_len: int, skip: np.ndarray
) -> np.ndarray:
    """Bins holding ``min_samples`` equal samples in a row beyond ``thr`` from 0, per channel.

    Equal neighbouring samples are rare in real-valued data and sparse even in integer data,
    so the search works on their indices, not on full-size masks.
    """
    n_ch, n = x.shape
    n_bins = -(-n // bin_len)
    out = np.zeros((n_ch, n_bins), bool)
    if n < min_samples:
        return out
    same = x[:, 1:] == x[:, :-1]
    idx = np.flatnonzero(same)  # pair (j, j + 1) of row r at r * (n - 1) + j
    if idx.size == 0:
        return out
    rows, cols = np.divmod(idx, n - 1)
    far = np.abs(x[rows, cols]) > thr[rows]
    far &= ~skip[rows]
    rows, cols = rows[far], cols[far]
    if rows.size == 0:
        return out
    # Runs of consecutive pairs in one row; a run of m pairs is m + 1 equal samples.
    flat = rows * n + cols
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [flat.size]))
    long = (stops - starts) + 1 >= min_samples
    for s0, s1 in zip(starts[long].tolist(), stops[long].tolist(), strict=True):
        r, c0, c1 = int(rows[s0]), int(cols[s0]), int(cols[s1 - 1]) + 2
        out[r, c0 // bin_len : -(-c1 // bin_len)] = True
    return out


def _signed_runs(x: np.ndarray, thr: np.ndarray, length: int) -> np.ndarray:
    """Where ``x`` stays beyond ``thr`` with one sign for at least ``length`` samples."""
    return _min_runs(x >= thr, length) | _min_runs(x <= -thr, length)


def _min_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """Keep only runs of at least ``length`` true values along the last axis."""
    if length <= 1 or not mask.any():
        return mask
    from scipy.ndimage import binary_opening

    shape = (1,) * (mask.ndim - 1) + (length,)
    return binary_opening(mask, np.ones(shape, bool))


def _dilate(mask: np.ndarray, width: int) -> np.ndarray:
    """Grow true runs by ``width`` on each side."""
    if width <= 0 or not mask.any():
        return mask
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, np.ones(2 * width + 1, bool))


def _close(mask: np.ndarray, width: int) -> np.ndarray:
    """Fill gaps of at most ``width`` between true runs."""
    if width <= 0 or not mask.any():
        return mask
    from scipy.ndimage import binary_closing

    padded = np.pad(mask, width)
    return binary_closing(padded, np.ones(width + 1, bool))[width:-width]


def _hysteresis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Runs of ``low`` that contain at least one ``high``."""
    out = np.zeros_like(low)
    if not high.any():
        return out
    for b0, b1 in runs(low):
        if high[b0:b1].any():
            out[b0:b1] = True
    return out


def _remove_line(
    slow: np.ndarray, start: int, fs: float, b: int, f0: float, usable: np.ndarray
) -> np.ndarray:
    """Subtract the least-squares fit of mains harmonics (fitted on ``usable`` bins) from
    each channel's bin means."""
    n = slow.shape[1]
    rate = fs / b
    t = (start + (np.arange(n) + 0.5) * b) / fs
    harmonics = [k * f0 for k in range(1, 8) if k * f0 < 0.45 * rate]
    if not harmonics or usable.sum() < 8 * len(harmonics):
        return slow
    basis = np.concatenate(
        [
            np.column_stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)])
            for f in harmonics
        ],
        axis=1,
    )
    # Normal equations: a (2h x 2h) solve, far cheaper than an SVD-based lstsq here.
    # einsum, not BLAS: these products are small, and a threaded BLAS on busy cores costs
    # more in synchronisation than the arithmetic.
    fit_on = basis[usable]
    gram = np.einsum("tk,tj->kj", fit_on, fit_on)
    rhs = np.einsum("tk,ct->kc", fit_on, slow[:, usable].astype(np.float64))
    coef = np.linalg.solve(gram, rhs)  # (2h, n_ch)
    return (slow - np.einsum("tk,kc->ct", basis, coef)).astype(np.float32)


def _robust_std(x: np.ndarray, axis: int) -> np.ndarray:
    med = np.median(x, axis=axis, keepdims=True)
    return np.median(np.abs(x - med), axis=axis) / _MAD


def _confidence(value: float, threshold: float) -> float:
    """0.5 at the threshold, towards 1 as the value grows past it."""
    if not math.isfinite(value) or value <= 0:
        return 0.5
    return float(np.clip(1.0 - 0.5 * threshold / value, 0.5, 1.0))
