"""Metrics shared by the benchmark suites: events, channels, signals, spike sorting, speed.

Everything here is plain numpy/scipy and cheap to import: SciPy submodules are imported by
the functions that use them, SpikeInterface only by :func:`sorting_scores`. Each function's
docstring states the exact definition it computes, so that a number in a benchmark table
can be traced to one formula.

Conventions
-----------
- Undefined ratios are ``nan``, never silently 0 or 1: precision is ``nan`` when nothing
  was predicted, recall is ``nan`` when nothing was true, F1 is ``nan`` only when both are
  empty. Averages over kinds skip what has no support (see :func:`event_scores`).
- Signal metrics take arrays shaped ``(..., n_samples)``: every leading index is one row
  (an epoch, a channel, ...). With ``reduce="mean"`` they return the mean over rows as a
  float; with ``reduce=None`` an array of the leading shape. They compute in float64.

Modules
-------
- :mod:`.events`: :func:`match_events`, :func:`event_scores`, :func:`channel_scores`.
- :mod:`.signals`: :func:`rrmse_t`, :func:`rrmse_s`, :func:`correlation`, :func:`snr_db`,
  :func:`snr_gain`, :func:`band_power_error`.
- :mod:`.spikes`: :func:`sorting_scores`, :func:`spike_detection_scores`.
- :mod:`.speed`: :func:`throughput`, :func:`realtime_factor`, :func:`latency_percentiles`.
"""

from .events import EventMatch, Tally, channel_scores, event_scores, match_events
from .signals import (
    DEFAULT_BANDS,
    band_power_error,
    correlation,
    rrmse_s,
    rrmse_t,
    snr_db,
    snr_gain,
)
from .speed import latency_percentiles, realtime_factor, throughput
from .spikes import sorting_scores, spike_detection_scores

__all__ = [
    "DEFAULT_BANDS",
    "EventMatch",
    "Tally",
    "band_power_error",
    "channel_scores",
    "correlation",
    "event_scores",
    "latency_percentiles",
    "match_events",
    "realtime_factor",
    "rrmse_s",
    "rrmse_t",
    "snr_db",
    "snr_gain",
    "sorting_scores",
    "spike_detection_scores",
    "throughput",
]
