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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurolint.core.errors import ParameterError, ShapeError
from neurolint.core.findings import FINDING_KINDS, ChannelStatus, Finding
from neurolint.core.validate import check_option, check_positive, import_optional

__all__ = [
    "DEFAULT_BANDS",
    "EventMatch",
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

# Event times are compared with 1 ns of slack, so that a 50% overlap written as 0.5 s of
# 1 s is not lost to rounding (1.0 - 0.7 is 0.30000000000000004).
_SLACK = 1e-9

#: Default EEG bands in Hz, ``[low, high)``; clipped to the Nyquist frequency when used.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 80.0),
}

# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float:
    """``num / den``, or ``nan`` when ``den`` is 0 (an undefined rate, not a zero one)."""
    return float(num) / float(den) if den else math.nan


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts; F1 = 2tp / (2tp + fp + fn)."""
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def _check_reduce(reduce: str | None) -> str | None:
    return check_option("reduce", reduce, ("mean", None))


def _reduce(values: np.ndarray, reduce: str | None) -> float | np.ndarray:
    # A plain mean: one undefined row makes the mean undefined, which is what a table should
    # show rather than hide.
    return float(np.mean(values)) if reduce == "mean" else values


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays of the same shape ``(..., n_samples)`` as float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ShapeError(
            f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; pass arrays "
            "of the same shape (..., n_samples)."
        )
    if a.ndim == 0 or a.shape[-1] < 2 or a.size == 0:
        raise ShapeError(
            f"{names[0]} has shape {a.shape}; pass arrays shaped (..., n_samples) with at "
            "least one row of at least 2 samples."
        )
    return a, b


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x), axis=-1))


def _welch(x: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD along the last axis: Hann, 1 s segments (or the whole row), 50% overlap."""
    from scipy import signal as _signal  # slow to import; only signal metrics need it

    n = x.shape[-1]
    nperseg = max(2, min(n, round(sfreq)))
    return _signal.welch(
        x,
        fs=sfreq,
        window="hann",
        nperseg=nperseg,
        noverlap=nperseg // 2,
        detrend="constant",
        return_onesided=True,
        scaling="density",
        axis=-1,
    )


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventMatch:
    """Outcome of :func:`match_events`.

    Attributes
    ----------
    tp, fp, fn : int
        Matched pairs, unmatched predicted events, unmatched true events.
    pairs : list of (int, int)
        ``(index in true, index in pred)`` of each match, sorted by the true index.
    unmatched_true, unmatched_pred : list of int
        Indices of the events left without a partner.
    """

    tp: int
    fp: int
    fn: int
    pairs: list[tuple[int, int]] = field(default_factory=list)
    unmatched_true: list[int] = field(default_factory=list)
    unmatched_pred: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); ``nan`` when nothing was predicted."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """tp / (tp + fn); ``nan`` when nothing was true."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """2tp / (2tp + fp + fn); ``nan`` when both lists are empty."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def _starts_within(
    a_on: np.ndarray, a_off: np.ndarray, b_on: np.ndarray, tolerance: float, strict: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ia, ib) where b starts in [a_on, a_off + tolerance] (``(a_on, ...]`` if strict)."""
    order = np.argsort(b_on, kind="stable")
    sorted_on = b_on[order]
    lo = np.searchsorted(sorted_on, a_on, side="right" if strict else "left")
    hi = np.searchsorted(sorted_on, a_off + tolerance + _SLACK, side="right")
    counts = np.maximum(hi - lo, 0)
    ia = np.repeat(np.arange(a_on.size), counts)
    # Position k of a's run maps to sorted index lo[a] + k.
    first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return ia, order[first + np.arange(ia.size)]


def _time_pairs(
    t_on: np.ndarray,
    t_off: np.ndarray,
    p_on: np.ndarray,
    p_off: np.ndarray,
    min_overlap: float,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j) whose times allow a match, with its closeness in (0, 1]."""
    # Two events touch (gap <= tolerance) exactly when one starts within the other, widened
    # by the tolerance: the later-starting one (or the prediction, on a tie) starts in
    # [onset, offset + tolerance] of the other. Sorting finds these pairs without comparing
    # every pair, so the work grows with the number of touching pairs.
    i1, j1 = _starts_within(t_on, t_off, p_on, tolerance, strict=False)
    j2, i2 = _starts_within(p_on, p_off, t_on, tolerance, strict=True)
    i, j = np.concatenate([i1, i2]), np.concatenate([j1, j2])
    overlap = np.maximum(np.minimum(t_off[i], p_off[j]) - np.maximum(t_on[i], p_on[j]), 0.0)
    shorter = np.minimum(t_off[i] - t_on[i], p_off[j] - p_on[j])
    ok = overlap >= min_overlap * shorter - _SLACK
    i, j, overlap = i[ok], j[ok], overlap[ok]
    union = np.maximum(t_off[i], p_off[j]) - np.minimum(t_on[i], p_on[j])
    # Two point events at the same time have an empty union: call their IoU 1.
    iou = np.divide(overlap, union, out=np.ones_like(union), where=union > 0)
    centre = np.abs((t_on[i] + t_off[i]) - (p_on[j] + p_off[j])) / 2
    return i, j, (iou + 1.0 / (1.0 + centre)) / 2


def _candidate_pairs(
    true: Sequence[Finding],
    pred: Sequence[Finding],
    min_overlap: float,
    tolerance: float,
    by_kind: bool,
    by_channel: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j) that may match (time, kind, channel), with its closeness in (0, 1]."""
    t_on = np.array([e.onset for e in true], dtype=np.float64)
    t_off = np.array([e.offset for e in true], dtype=np.float64)
    p_on = np.array([e.onset for e in pred], dtype=np.float64)
    p_off = np.array([e.offset for e in pred], dtype=np.float64)
    if by_kind:
        t_kind = np.array([e.kind for e in true], dtype=object)
        p_kind = np.array([e.kind for e in pred], dtype=object)
        groups = [
            (np.flatnonzero(t_kind == k), np.flatnonzero(p_kind == k))
            for k in {e.kind for e in true} & {e.kind for e in pred}
        ]
    else:
        groups = [(np.arange(len(true)), np.arange(len(pred)))]
    rows, cols, close = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for ti, pj in groups:
        i, j, q = _time_pairs(t_on[ti], t_off[ti], p_on[pj], p_off[pj], min_overlap, tolerance)
        rows.append(ti[i])
        cols.append(pj[j])
        close.append(q)
    i, j, q = np.concatenate(rows), np.concatenate(cols), np.concatenate(close)
    if by_channel and i.size:
        t_ch = [frozenset(e.channels) for e in true]
        p_ch = [frozenset(e.channels) for e in pred]
        # Empty channels mean "all channels", which shares a channel with anything.
        keep = np.fromiter(
            (
                not t_ch[a] or not p_ch[b] or not t_ch[a].isdisjoint(p_ch[b])
                for a, b in zip(i.tolist(), j.tolist(), strict=True)
            ),
            dtype=bool,
            count=i.size,
        )
        i, j, q = i[keep], j[keep], q[keep]
    return i, j, q


def _max_matching(
    n_true: int, n_pred: int, i: np.ndarray, j: np.ndarray, q: np.ndarray
) -> list[tuple[int, int]]:
    """One-to-one matching of most pairs, then greatest total closeness among those."""
    if i.size == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    # A true and a predicted event that are each other's only candidate match outright
    # (the usual case); the rest goes to a sparse assignment solver.
    deg_t = np.bincount(i, minlength=n_true)
    deg_p = np.bincount(j, minlength=n_pred)
    alone = (deg_t[i] == 1) & (deg_p[j] == 1)
    pairs = list(zip(i[alone].tolist(), j[alone].tolist(), strict=True))
    i, j, q = i[~alone], j[~alone], q[~alone]
    if i.size:
        ti, ri = np.unique(i, return_inverse=True)
        pj, rj = np.unique(j, return_inverse=True)
        nt, npd, k = ti.size, pj.size, min(ti.size, pj.size)
        # Full matching on rows = true + one dummy per prediction, columns = predictions +
        # one dummy per true event. A true event left alone takes its dummy column and an
        # unmatched prediction its dummy row, each at cost `alone_cost`; a matched pair
        # (t, p) frees dummy row p and dummy column t, which pair up at cost 1. A matched
        # pair thus costs 2 + (1 - q) < 3 against 2 * alone_cost = 2k + 6 for leaving both
        # alone, which outweighs any closeness total: the most pairs win, then closeness.
        alone_cost = k + 3.0
        rows = np.concatenate([ri, np.arange(nt), nt + rj])
        cols = np.concatenate([rj, npd + np.arange(nt), npd + ri])
        cost = np.concatenate([2.0 - q, np.full(nt, alone_cost), np.ones(ri.size)])
        rows = np.concatenate([rows, nt + np.arange(npd)])
        cols = np.concatenate([cols, np.arange(npd)])
        cost = np.concatenate([cost, np.full(npd, alone_cost)])
        graph = coo_matrix((cost, (rows, cols)), shape=(nt + npd, npd + nt)).tocsr()
        r, c = min_weight_full_bipartite_matching(graph)
        real = (r < nt) & (c < npd)
        pairs.extend(zip(ti[r[real]].tolist(), pj[c[real]].tolist(), strict=True))
    return sorted(pairs)


def match_events(
    true: Sequence[Finding],
    pred: Sequence[Finding],
    *,
    min_overlap: float = 0.5,
    tolerance: float = 0.0,
    by_kind: bool = True,
    by_channel: bool = False,
) -> EventMatch:
    """Match predicted events to true events one to one.

    A true event ``t`` and a predicted event ``p`` may match when

    - ``t.kind == p.kind`` (if ``by_kind``),
    - they share at least one channel, an empty ``channels`` meaning all (if ``by_channel``),
    - their intervals ``[onset, onset + duration]`` overlap by at least
      ``min_overlap * min(t.duration, p.duration)`` seconds, and
    - the gap between them is at most ``tolerance`` seconds (overlapping intervals have a
      negative gap). This is what lets zero-duration events match: a point event matches an
      interval that contains it, or that it lies within ``tolerance`` of, and two point
      events match when they are at most ``tolerance`` apart.

    Among the possible pairs, the matching maximises the number of matches (so an event is
    never counted twice), and among those the summed closeness of the pairs, closeness being
    the mean of their intersection-over-union and ``1 / (1 + |centre distance in s|)``
    (a sparse assignment, :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`).

    Parameters
    ----------
    true, pred : sequence of Finding
        Ground-truth and predicted events.
    min_overlap : float, default: 0.5
        Fraction in [0, 1] of the shorter event that must overlap the other.
    tolerance : float, default: 0.0
        Largest gap in seconds still counted as touching (matters for zero-duration events).
    by_kind : bool, default: True
        Match only events of the same kind.
    by_channel : bool, default: False
        Match only events that share a channel.

    Returns
    -------
    EventMatch
        ``tp`` (matches), ``fp`` (unmatched predictions), ``fn`` (unmatched truths), the
        matched ``pairs`` of indices and the unmatched indices.
    """
    min_overlap = float(min_overlap)
    if not 0.0 <= min_overlap <= 1.0:
        raise ParameterError(f"min_overlap={min_overlap} must lie in [0, 1].")
    tolerance = check_positive("tolerance", tolerance, allow_zero=True)
    true, pred = list(true), list(pred)
    for name, events in (("true", true), ("pred", pred)):
        if not all(isinstance(e, Finding) for e in events):
            raise ParameterError(
                f"{name} must be a sequence of neurolint Finding objects; build them with "
                "Finding(onset, duration, kind)."
            )
    i, j, q = _candidate_pairs(true, pred, min_overlap, tolerance, by_kind, by_channel)
    pairs = _max_matching(len(true), len(pred), i, j, q)
    used_t = {a for a, _ in pairs}
    used_p = {b for _, b in pairs}
    unmatched_true = [a for a in range(len(true)) if a not in used_t]
    unmatched_pred = [b for b in range(len(pred)) if b not in used_p]
    return EventMatch(
        tp=len(pairs),
        fp=len(unmatched_pred),
        fn=len(unmatched_true),
        pairs=pairs,
        unmatched_true=unmatched_true,
        unmatched_pred=unmatched_pred,
    )


def event_scores(
    true: Sequence[Finding],
    pred: Sequence[Finding],
    kinds: Iterable[str] | None = None,
    *,
    min_overlap: float = 0.5,
    tolerance: float = 0.0,
    by_channel: bool = False,
) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 of event detection, per kind and averaged.

    Events are matched kind by kind with :func:`match_events`. For each kind,
    precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2tp / (2tp + fp + fn) and
    support = number of true events. Undefined values are ``nan``: precision when nothing
    of that kind was predicted, recall when nothing was true, and all three for a kind
    absent from both lists.

    ``"macro"`` averages precision, recall and F1 over the kinds with support > 0 (kinds
    with no true event are left out, also when they were predicted; their false positives
    count in ``"micro"``). ``"micro"`` computes the three from the counts pooled over all
    kinds scored.

    Parameters
    ----------
    true, pred : sequence of Finding
        Ground-truth and predicted events.
    kinds : iterable of str | None, default: None
        Kinds to score; events of other kinds are ignored. ``None``: every kind present in
        ``true`` or ``pred``.
    min_overlap, tolerance, by_channel
        As in :func:`match_events`.

    Returns
    -------
    dict
        ``{kind: {"precision", "recall", "f1", "support", "tp", "fp", "fn"}}`` plus
        ``"macro"`` ``{"precision", "recall", "f1", "n_kinds"}`` and ``"micro"``
        ``{"precision", "recall", "f1", "support", "tp", "fp", "fn"}``.
    """
    true, pred = list(true), list(pred)
    if kinds is None:
        present = {e.kind for e in true} | {e.kind for e in pred}
        kinds = [k for k in FINDING_KINDS if k in present]
    else:
        kinds = [kinds] if isinstance(kinds, str) else list(dict.fromkeys(kinds))
        for kind in kinds:
            check_option("kinds", kind, FINDING_KINDS)

    out: dict[str, dict[str, float]] = {}
    totals = np.zeros(3, dtype=np.int64)
    for kind in kinds:
        t = [e for e in true if e.kind == kind]
        p = [e for e in pred if e.kind == kind]
        m = match_events(
            t, p, min_overlap=min_overlap, tolerance=tolerance, by_kind=True, by_channel=by_channel
        )
        totals += (m.tp, m.fp, m.fn)
        out[kind] = {
            **_prf(m.tp, m.fp, m.fn),
            "support": len(t),
            "tp": m.tp,
            "fp": m.fp,
            "fn": m.fn,
        }

    supported = [out[k] for k in kinds if out[k]["support"] > 0]

    def _mean(key: str) -> float:
        values = [s[key] for s in supported if not math.isnan(s[key])]
        return float(np.mean(values)) if values else math.nan

    out["macro"] = {
        "precision": _mean("precision"),
        "recall": _mean("recall"),
        "f1": _mean("f1"),
        "n_kinds": len(supported),
    }
    tp, fp, fn = (int(v) for v in totals)
    out["micro"] = {**_prf(tp, fp, fn), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
    return out


# --------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------


def _bad_names(channels: Iterable[str | ChannelStatus]) -> set[str]:
    names = set()
    for ch in channels:
        if isinstance(ch, ChannelStatus):
            if ch.is_bad:
                names.add(ch.name)
        else:
            names.add(str(ch))
    return names


def channel_scores(
    true_bad: Iterable[str | ChannelStatus],
    pred_bad: Iterable[str | ChannelStatus],
    all_channels: Iterable[str] | None = None,
) -> dict[str, float]:
    """Precision, recall and F1 of bad-channel detection.

    With T the true and P the predicted sets of bad channels: tp = |T ∩ P|, fp = |P − T|,
    fn = |T − P|, precision = tp / (tp + fp), recall = tp / (tp + fn),
    F1 = 2tp / (2tp + fp + fn), ``nan`` where the denominator is 0. With ``all_channels``
    (N channels) also tn = N − |T ∪ P|, accuracy = (tp + tn) / N and
    specificity = tn / (tn + fp).

    Parameters
    ----------
    true_bad, pred_bad : iterable of str or ChannelStatus
        Names of bad channels; from :class:`ChannelStatus` objects only those with status
        ``"bad"`` are kept, so a full channel list can be passed as is.
    all_channels : iterable of str | None, default: None
        Every channel name, to count true negatives.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn`` and, with ``all_channels``,
        ``tn``, ``accuracy``, ``specificity``.
    """
    t, p = _bad_names(true_bad), _bad_names(pred_bad)
    tp, fp, fn = len(t & p), len(p - t), len(t - p)
    out: dict[str, float] = {**_prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}
    if all_channels is not None:
        names = {str(c) for c in all_channels}
        unknown = sorted((t | p) - names)
        if unknown:
            raise ParameterError(
                f"Bad channels {unknown} are not in all_channels; pass every channel name."
            )
        tn = len(names) - len(t | p)
        out.update(tn=tn, accuracy=_ratio(tp + tn, len(names)), specificity=_ratio(tn, tn + fp))
    return out


# --------------------------------------------------------------------------------------
# Signals (EEGdenoiseNet conventions)
# --------------------------------------------------------------------------------------


def rrmse_t(clean: Any, denoised: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Relative root-mean-square error in time: RMS(denoised − clean) / RMS(clean).

    0 for a perfect estimate, 1 for an all-zero one; ``inf`` (or ``nan``) for an all-zero
    clean row. RMS is taken along the last axis.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _rms(denoised - clean) / _rms(clean)
    return _reduce(values, reduce)


def rrmse_s(
    clean: Any, denoised: Any, sfreq: float, *, reduce: str | None = "mean"
) -> float | np.ndarray:
    """Relative RMS error of the spectrum: RMS(PSD(denoised) − PSD(clean)) / RMS(PSD(clean)).

    EEGdenoiseNet's RRMSE_spectral. PSD is Welch's estimate (:func:`scipy.signal.welch`):
    Hann window, ``nperseg = min(n_samples, round(sfreq))`` (1 s segments), 50% overlap,
    constant detrend, one-sided, density scaling; RMS is over all its frequency bins.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    sfreq : float
        Sampling rate in Hz.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    sfreq = check_positive("sfreq", sfreq)
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    _, p_clean = _welch(clean, sfreq)
    _, p_den = _welch(denoised, sfreq)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _rms(p_den - p_clean) / _rms(p_clean)
    return _reduce(values, reduce)


def correlation(clean: Any, denoised: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Pearson correlation coefficient of each row pair (EEGdenoiseNet's CC).

    CC = Σ(x − x̄)(y − ȳ) / sqrt(Σ(x − x̄)² Σ(y − ȳ)²) along the last axis; ``nan`` for a
    constant row.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    x, y = _pair(clean, denoised, ("clean", "denoised"))
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.sum(x * y, axis=-1) / np.sqrt(np.sum(x * x, axis=-1) * np.sum(y * y, axis=-1))
    return _reduce(values, reduce)


def snr_db(signal: Any, noise: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Signal-to-noise ratio in dB, EEGdenoiseNet convention: 10·log10(RMS(signal) / RMS(noise)).

    Note the ratio of RMS values (amplitudes) under 10·log10, as in EEGdenoiseNet (Zhang et
    al., 2021), not the power ratio: an amplitude ratio of 10 gives 10 dB here, 20 dB in the
    power convention.

    Parameters
    ----------
    signal, noise : array_like, shape (..., n_samples)
        The clean signal and the noise added to it.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    signal, noise = _pair(signal, noise, ("signal", "noise"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(_rms(signal) / _rms(noise))
    return _reduce(values, reduce)


def snr_gain(
    clean: Any, noisy: Any, denoised: Any, *, reduce: str | None = "mean"
) -> float | np.ndarray:
    """SNR improvement in dB: snr_db(clean, denoised − clean) − snr_db(clean, noisy − clean).

    Equals 10·log10(RMS(noisy − clean) / RMS(denoised − clean)) (EEGdenoiseNet convention,
    see :func:`snr_db`); positive when denoising helped.

    Parameters
    ----------
    clean, noisy, denoised : array_like, shape (..., n_samples)
        Reference, input to the denoiser and its output.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    clean, noisy = _pair(clean, noisy, ("clean", "noisy"))
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(_rms(noisy - clean) / _rms(denoised - clean))
    return _reduce(values, reduce)


def band_power_error(
    clean: Any,
    estimate: Any,
    sfreq: float,
    bands: Mapping[str, tuple[float, float]] | None = None,
    *,
    reduce: str | None = "mean",
) -> dict[str, float | np.ndarray]:
    """Relative error of band power: |P_band(estimate) − P_band(clean)| / P_band(clean).

    Band power is the Welch PSD (same settings as :func:`rrmse_s`) summed over the bins
    with ``low <= f < high`` times the bin width. Bands are clipped to the Nyquist
    frequency; bands starting at or above it are left out.

    Parameters
    ----------
    clean, estimate : array_like, shape (..., n_samples)
        Reference and estimate.
    sfreq : float
        Sampling rate in Hz.
    bands : mapping of str to (float, float) | None, default: None
        ``{name: (low, high)}`` in Hz; ``None``: :data:`DEFAULT_BANDS` (delta 1–4, theta 4–8,
        alpha 8–13, beta 13–30, gamma 30–80).
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    dict
        Band name → mean relative error (or per-row array).
    """
    _check_reduce(reduce)
    sfreq = check_positive("sfreq", sfreq)
    clean, estimate = _pair(clean, estimate, ("clean", "estimate"))
    bands = DEFAULT_BANDS if bands is None else bands
    nyquist = sfreq / 2
    freqs, p_clean = _welch(clean, sfreq)
    _, p_est = _welch(estimate, sfreq)
    df = freqs[1] - freqs[0]
    out: dict[str, float | np.ndarray] = {}
    for name, (low, high) in bands.items():
        low, high = float(low), float(high)
        if not 0 <= low < high:
            raise ParameterError(f"Band {name!r} = ({low}, {high}) Hz needs 0 <= low < high.")
        if low >= nyquist:
            continue
        sel = (freqs >= low) & (freqs < min(high, nyquist))
        if not sel.any():
            raise ParameterError(
                f"Band {name!r} ({low}-{high} Hz) holds no frequency bin at the {df:g} Hz "
                "resolution of these rows; pass longer rows or wider bands."
            )
        pow_clean = p_clean[..., sel].sum(axis=-1) * df
        pow_est = p_est[..., sel].sum(axis=-1) * df
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = _reduce(np.abs(pow_est - pow_clean) / pow_clean, reduce)
    return out


# --------------------------------------------------------------------------------------
# Spikes
# --------------------------------------------------------------------------------------


def sorting_scores(
    gt_sorting: Any,
    sorting: Any,
    *,
    delta_time: float = 0.4,
    well_detected_score: float = 0.8,
    exhaustive_gt: bool = True,
) -> dict[str, float | int | None]:
    """Spike-sorting accuracy against ground truth, by SpikeInterface's comparison.

    Uses :func:`spikeinterface.comparison.compare_sorter_to_ground_truth`: spikes match
    within ``delta_time`` ms, ground-truth units are paired with sorted units by the
    Hungarian method on agreement scores, and per ground-truth unit
    accuracy = tp / (tp + fn + fp), precision = tp / (tp + fp), recall = tp / (tp + fn)
    (0 for an unmatched unit). The scores here are their means over ground-truth units.
    A unit is well detected when its accuracy is >= ``well_detected_score``. Needs
    SpikeInterface and numba.

    Parameters
    ----------
    gt_sorting, sorting : spikeinterface.core.BaseSorting
        Ground truth and the sorting under test.
    delta_time : float, default: 0.4
        Matching window in milliseconds.
    well_detected_score : float, default: 0.8
        Accuracy from which a unit counts as well detected.
    exhaustive_gt : bool, default: True
        Whether the ground truth holds every unit (true for simulations); needed to count
        false-positive, redundant, overmerged and bad units, which are ``None`` otherwise.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``false_discovery_rate``, ``miss_rate``
        (means over ground-truth units), ``n_gt_units``, ``n_sorted_units``,
        ``n_well_detected``, ``n_false_positive``, ``n_redundant``, ``n_overmerged``,
        ``n_bad``.
    """
    comparison_mod = import_optional("spikeinterface.comparison", "ephys")
    # SpikeInterface counts matching spikes with a numba kernel and has no fallback.
    import_optional("numba", "ephys")
    delta_time = check_positive("delta_time", delta_time)
    cmp = comparison_mod.compare_sorter_to_ground_truth(
        gt_sorting,
        sorting,
        delta_time=delta_time,
        well_detected_score=well_detected_score,
        exhaustive_gt=exhaustive_gt,
    )
    perf = cmp.get_performance(method="by_unit", output="pandas")
    means = {key: float(perf[key].mean()) for key in perf.columns}
    out: dict[str, float | int | None] = {
        "accuracy": means["accuracy"],
        "precision": means["precision"],
        "recall": means["recall"],
        "false_discovery_rate": means.get("false_discovery_rate", math.nan),
        "miss_rate": means.get("miss_rate", math.nan),
        "n_gt_units": len(gt_sorting.unit_ids),
        "n_sorted_units": len(sorting.unit_ids),
        "n_well_detected": int(cmp.count_well_detected_units(well_detected_score)),
        "n_false_positive": None,
        "n_redundant": None,
        "n_overmerged": None,
        "n_bad": None,
    }
    if exhaustive_gt:
        out.update(
            n_false_positive=int(cmp.count_false_positive_units()),
            n_redundant=int(cmp.count_redundant_units()),
            n_overmerged=int(cmp.count_overmerged_units()),
            n_bad=int(cmp.count_bad_units()),
        )
    return out


def _greedy_window_matching(t: np.ndarray, p: np.ndarray, tol: float) -> int:
    """Most one-to-one matches with |t − p| <= tol; both sorted.

    Each true time in order takes the earliest free prediction in its window. All windows
    have the same width, so this earliest-deadline rule is optimal.
    """
    count, k = 0, 0
    for time in t:
        while k < p.size and p[k] < time - tol:
            k += 1
        if k < p.size and p[k] <= time + tol:
            count += 1
            k += 1
    return count


def spike_detection_scores(
    true_times: Any, pred_times: Any, tolerance_samples: float
) -> dict[str, float]:
    """Precision, recall and F1 of single-channel spike detection.

    Detected spikes are matched one to one with true spikes at most ``tolerance_samples``
    apart, choosing the matching with the most pairs. Then tp = matches,
    fp = detections − tp, fn = true spikes − tp, precision = tp / (tp + fp),
    recall = tp / (tp + fn), F1 = 2tp / (2tp + fp + fn) (``nan`` when undefined).

    Parameters
    ----------
    true_times, pred_times : array_like of shape (n,)
        Spike times in samples (or any unit, the same as ``tolerance_samples``).
    tolerance_samples : float
        Largest distance at which a detection still matches a true spike.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``.
    """
    tol = check_positive("tolerance_samples", tolerance_samples, allow_zero=True)
    t = np.sort(np.asarray(true_times, dtype=np.float64).ravel())
    p = np.sort(np.asarray(pred_times, dtype=np.float64).ravel())
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ParameterError("Spike times must be finite; drop NaN/inf times first.")
    tp = 0
    if t.size and p.size:
        # Split the merged, sorted times wherever consecutive ones are more than `tol` apart:
        # no match crosses such a gap. A group of one true and one detected spike matches
        # outright (the common case, done in bulk); larger groups use the greedy rule.
        times = np.concatenate([t, p])
        is_pred = np.concatenate([np.zeros(t.size, bool), np.ones(p.size, bool)])
        order = np.argsort(times, kind="stable")
        times, is_pred = times[order], is_pred[order]
        group = np.concatenate([[0], np.cumsum(np.diff(times) > tol)])
        n_pred = np.bincount(group, weights=is_pred).astype(np.int64)
        n_all = np.bincount(group)
        n_true = n_all - n_pred
        simple = (n_true == 1) & (n_pred == 1)
        tp = int(simple.sum())
        starts = np.concatenate([[0], np.cumsum(n_all)])  # groups are contiguous
        for g in np.flatnonzero((n_true > 0) & (n_pred > 0) & ~simple):
            seg_t = times[starts[g] : starts[g + 1]]
            seg_p = is_pred[starts[g] : starts[g + 1]]
            tp += _greedy_window_matching(seg_t[~seg_p], seg_t[seg_p], tol)
    fp, fn = int(p.size) - tp, int(t.size) - tp
    return {**_prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}


# --------------------------------------------------------------------------------------
# Speed
# --------------------------------------------------------------------------------------


def throughput(n_samples_total: float, seconds: float) -> float:
    """Samples processed per second of wall-clock time: n_samples_total / seconds.

    Parameters
    ----------
    n_samples_total : float
        Samples processed (summed over channels if that is what is being compared).
    seconds : float
        Wall-clock time taken, > 0.

    Returns
    -------
    float
    """
    n = check_positive("n_samples_total", n_samples_total, allow_zero=True)
    return n / check_positive("seconds", seconds)


def realtime_factor(duration_s: float, seconds: float) -> float:
    """How many times faster than real time: recording duration / processing time.

    Greater than 1 means faster than the data arrive (1 h of data in 6 min gives 10).

    Parameters
    ----------
    duration_s : float
        Duration of the processed recording in seconds.
    seconds : float
        Wall-clock time taken, > 0.

    Returns
    -------
    float
    """
    duration = check_positive("duration_s", duration_s, allow_zero=True)
    return duration / check_positive("seconds", seconds)


def latency_percentiles(latencies_s: Any, q: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Percentiles of latencies, in milliseconds.

    Computed with :func:`numpy.percentile` (linear interpolation) on ``latencies_s × 1000``.

    Parameters
    ----------
    latencies_s : array_like
        Latencies in seconds, finite.
    q : sequence of float, default: (50, 95, 99)
        Percentiles in [0, 100].

    Returns
    -------
    dict
        ``{"p50": ms, "p95": ms, "p99": ms}``, keys ``f"p{q:g}"``.
    """
    lat = np.asarray(latencies_s, dtype=np.float64).ravel()
    if lat.size == 0 or not np.isfinite(lat).all():
        raise ParameterError("latencies_s must hold at least one finite latency in seconds.")
    q = [float(v) for v in q]
    if not all(0.0 <= v <= 100.0 for v in q):
        raise ParameterError(f"q={q} must hold percentiles in [0, 100].")
    values = np.percentile(lat * 1000.0, q)
    return {f"p{v:g}": float(x) for v, x in zip(q, values, strict=True)}
