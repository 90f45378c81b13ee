"""Event and bad-channel detection metrics: one-to-one event matching and P/R/F1 scores."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurolint.core.errors import ParameterError
from neurolint.core.findings import FINDING_KINDS, ChannelStatus, Finding
from neurolint.core.validate import check_option, check_positive

from ._common import _prf, _ratio

__all__ = ["EventMatch", "Tally", "channel_scores", "event_scores", "match_events"]

# Event times are compared with 1 ns of slack, so that a 50% overlap written as 0.5 s of
# 1 s is not lost to rounding (1.0 - 0.7 is 0.30000000000000004).
_SLACK = 1e-9


@dataclass
class Tally:
    """True/false positives and misses pooled over recordings, and the rates they give.

    Rates are ``nan`` where undefined (nothing predicted, or nothing true).
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += int(tp)
        self.fp += int(fp)
        self.fn += int(fn)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def prf(self) -> tuple[float, float, float]:
        """``(precision, recall, f1)``."""
        return self.precision, self.recall, self.f1


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
