"""Spike metrics: sorting accuracy (via SpikeInterface) and single-channel detection P/R/F1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurolint.core.errors import ParameterError
from neurolint.core.validate import check_positive, import_optional

from ._common import _prf

__all__ = ["sorting_scores", "spike_detection_scores"]


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
