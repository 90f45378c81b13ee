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

from typing import Any

import numpy as np

from ..core.chunks import job_options
from ..core.errors import DataValueError, ParameterError
from ..core.findings import Finding
from ..core.threads import map_in_threads, n_workers
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .base import Detection
from .ephys_channels import _EPS, _Accumulator, _ChannelChecks, _Geometry, _snippet_starts, _to_uv
from .ephys_events import (
    _BIN_S,
    _DETECTOR,
    _MARGIN_S,
    _bin_len,
    _bin_means,
    _confidence,
    _EventScan,
    _Interval,
    _robust_std,
)

__all__ = ["MIN_SAMPLING_RATE", "EphysDetector"]

#: Lowest sampling rate the extracellular assessment accepts (Hz): below it there are no spikes.
MIN_SAMPLING_RATE = 5000.0


class EphysDetector(_ChannelChecks, _EventScan):
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
        workers = n_workers(job_options(n_jobs=self.n_jobs).n_jobs, len(snippets))

        def measure(start: int) -> tuple[dict[str, Any], np.ndarray] | None:
            x = ts.get_data(start, start + length)
            if scale is not None:
                x *= scale[:, None]
            finite = np.isfinite(x)
            if not finite.any():
                return None
            if not finite.all():
                x = np.where(finite, x, np.float32(0.0))
            # Snippets side by side, each FFT on one thread; alone, the FFT takes the cores.
            return acc.measure(x, geometry, 1 if workers > 1 else -1), _bin_means(x, _bin_len(fs))

        bins: list[tuple[int, np.ndarray]] = []  # (snippet start, its bin means)
        found = map_in_threads(measure, snippets, workers, "neurolint-ephys")
        for start, measured in zip(snippets, found, strict=True):
            if measured is not None:
                acc.keep(measured[0])
                bins.append((start, measured[1]))
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
        for start, b in bins:
            slow_x = self._slow_from_bins(b - self.baseline_[:, None], start, fs)
            group_dev.append(_robust_std(self.geometry_.group_medians(slow_x), axis=1))
            pop_dev.append(_robust_std(self.geometry_.residual(slow_x), axis=1))
        self.group_scale_ = np.maximum(np.median(np.array(group_dev), axis=0), _EPS)
        self.pop_scale_ = np.maximum(np.median(np.array(pop_dev), axis=0), _EPS)
        return self

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
                        "line_freq": float(self.line_freq_),  # as the rules name it
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
