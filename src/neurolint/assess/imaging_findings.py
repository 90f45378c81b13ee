"""Findings of :class:`~neurolint.assess.imaging.MovieDetector` from the per-frame statistics
of :func:`~neurolint.assess.imaging_scan._scan_movie`: gaps, saturation, brightness spikes and
steps, motion jumps and displacement, bleaching, and the frame-quality and other traces.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import DataValueError
from ..core.findings import Finding
from ..core.imaging import Movie
from ._frames import _event, _gap_events, _outliers, _robust_scale
from ._motion import _null_peak
from .base import Detection, runs

_DETECTOR = "imaging"  # the name MovieDetector reports (its ``detector_name``)
# Pixels at the maximum needed before a frame can count as saturated (a lone bright pixel
# attains the maximum of any movie).
_MIN_SATURATED_PIXELS = 3


def _steps(
    values: np.ndarray, level: float, width: int, z_thr: float, min_change: float
) -> tuple[list[int], np.ndarray, float]:
    """Positions ``k`` (first frame after) of sustained steps, their relative sizes, threshold."""
    n = len(values)
    if n < 2 * width:
        return [], np.zeros(n), np.inf
    from numpy.lib.stride_tricks import sliding_window_view

    med = np.median(sliding_window_view(values, width), axis=1)  # med[i] = median(v[i:i+w])
    step = np.zeros(n)
    k = np.arange(width, n - width + 1)
    step[k] = (med[k] - med[k - width]) / level
    scale = float(_robust_scale(step[k]))
    threshold = max(z_thr * scale, min_change)
    size = np.abs(step)
    # Medians flag a step on a plateau of positions; the difference of means peaks sharply
    # at the step itself, so it places it.
    cs = np.concatenate([[0.0], np.cumsum(values)])
    sharp = np.zeros(n)
    sharp[k] = np.abs(cs[k + width] - 2 * cs[k] + cs[k - width])
    out = []
    for start, stop in runs(size > threshold):
        out.append(start + int(np.argmax(sharp[start:stop])))
    # Keep the largest of steps closer than a window (one step seen from both sides).
    kept: list[int] = []
    for pos in sorted(out, key=lambda i: -size[i]):
        if all(abs(pos - q) >= width for q in kept):
            kept.append(pos)
    return sorted(kept), step, threshold


def _bleaching(mean: np.ndarray, valid: np.ndarray, rate: float) -> float:
    """Fraction of brightness lost from the first to the last frame (exponential fit of the
    frame mean, on the medians of up to 50 blocks of frames so activity and spikes do not
    steer it); NaN when the mean is not positive."""
    idx = np.flatnonzero(valid)
    if idx.size < 4:
        return float("nan")
    bins = np.array_split(idx, min(50, idx.size // 2))
    t = np.array([np.median(b) for b in bins]) / rate
    y = np.array([np.median(mean[b]) for b in bins])
    if np.any(y <= 0) or np.ptp(t) == 0:
        return float("nan")
    slope = np.polyfit(t, np.log(y), 1)[0]
    span = (idx[-1] - idx[0]) / rate
    return float(1.0 - np.exp(slope * span))


def _movie_detection(
    movie: Movie, s: dict[str, Any], reference: np.ndarray, p: dict[str, Any]
) -> Detection:
    """Turn the per-frame statistics into findings and traces."""
    n, h, w = movie.shape
    rate = movie.frame_rate
    name = _DETECTOR
    events: list[Finding] = []

    nan_gap = s["nonfinite"] >= p["gap_nan_fraction"]
    const_gap = ~nan_gap & s["constant"]
    repeated = s["repeated"]
    gap = nan_gap | const_gap | repeated
    valid = ~gap
    if not valid.any():
        raise DataValueError(
            "The movie has no usable frame (every frame is NaN, inf or constant); check that "
            "the right file or channel was read."
        )
    cases = (
        (nan_gap, "nonfinite_fraction", s["nonfinite"], p["gap_nan_fraction"]),
        (const_gap, "frame_range", s["max"] - s["min"], 0.0),
        (repeated, "repeated_frame", repeated.astype(float), 1.0),
    )
    events += _gap_events(cases, rate, name, "frames")

    # Saturation: pixels at the movie's maximum (the clipping level). Ties at a frame's own
    # maximum are common in quantised (photon-count) data; at the movie's, they are not.
    top = float(s["max"][valid].max())
    sat = np.where(valid & (s["max"] == top), s["n_at_max"] / float(h * w), 0.0)
    saturated = (sat > p["saturation_fraction"]) & (s["n_at_max"] >= _MIN_SATURATED_PIXELS)
    for a, b in runs(saturated):
        events.append(
            _event(
                "saturation",
                a,
                b,
                rate,
                name,
                "saturated_fraction",
                float(sat[a:b].max()),
                p["saturation_fraction"],
                frames=[a, b],
                saturation_value=top,
            )
        )

    # Brightness: spikes and steps of the frame mean, over the usable frames only.
    idx = np.flatnonzero(valid)
    values = s["mean"][idx]
    med_mean = float(np.median(values))
    level = med_mean if med_mean > 0 else max(float(np.median(s["std"][idx])), 1e-30)
    spike_mask = np.zeros(n, dtype=bool)
    rel_dev = np.zeros(n)
    spike_thr = float("inf")
    if idx.size >= 3:
        flags, rel, spike_thr = _outliers(
            values, level, p["spike_window"], p["spike_threshold"], p["spike_min_change"]
        )
        spike_thr = float(spike_thr)
        spike_mask[idx[flags]] = True
        rel_dev[idx] = rel
        for a, b in runs(flags):
            frames = idx[a:b]
            events.append(
                _event(
                    "intensity_spike",
                    int(frames[0]),
                    int(frames[-1]) + 1,
                    rate,
                    name,
                    "frame_mean_change",
                    float(np.abs(rel[a:b]).max()),
                    spike_thr,
                    frames=[int(frames[0]), int(frames[-1]) + 1],
                )
            )
    step_pos, step_size, step_thr = _steps(
        values, level, p["step_window"], p["step_threshold"], p["step_min_change"]
    )
    step_mask = np.zeros(n, dtype=bool)
    for k in step_pos:
        frame = int(idx[k])
        step_mask[frame] = True
        events.append(
            _event(
                "intensity_spike",
                frame,
                frame + 1,
                rate,
                name,
                "brightness_step",
                float(abs(step_size[k])),
                step_thr,
                frames=[frame, frame + 1],
                relative_step=float(step_size[k]),
            )
        )

    # Motion: jumps between consecutive usable frames, and displacement from the reference,
    # where the registration is better than chance (twice the peak unrelated images give).
    peak = s["peak"]
    registered = valid & (np.nan_to_num(peak) >= 2.0 * _null_peak((h, w), p["smooth_sigma"]))
    shift = np.where(registered[:, None], s["shift"], np.nan)
    jump = np.zeros(n)
    idx = np.flatnonzero(registered)
    if idx.size >= 2:
        delta = np.diff(shift[idx], axis=0)
        size = np.hypot(delta[:, 0], delta[:, 1])
        # Across gap frames the scene drifts for longer: take the typical frame-to-frame
        # drift off for each extra frame, so slow drift is not charged as a jump.
        elapsed = np.diff(idx)
        typical = float(np.median(size[elapsed == 1])) if np.any(elapsed == 1) else 0.0
        jump[idx[1:]] = np.maximum(size - typical * (elapsed - 1), 0.0)
    jump_mask = jump > p["motion_threshold"]
    for a, b in runs(jump_mask):
        k = a + int(np.argmax(jump[a:b]))
        prev = idx[np.searchsorted(idx, k) - 1]
        dy, dx = (shift[k] - shift[prev]).tolist()
        # After gap frames the jump happened somewhere since the last usable frame.
        a = int(idx[np.searchsorted(idx, a) - 1]) + 1
        events.append(
            _event(
                "motion",
                a,
                b,
                rate,
                name,
                "jump_px",
                float(jump[a:b].max()),
                p["motion_threshold"],
                frames=[a, b],
                dy=dy,
                dx=dx,
            )
        )
    max_disp = p["max_displacement"] or 0.1 * min(h, w)
    disp = np.where(registered, np.hypot(shift[:, 0], shift[:, 1]), 0.0)
    disp_mask = disp > max_disp
    for a, b in runs(disp_mask):
        events.append(
            _event(
                "motion",
                a,
                b,
                rate,
                name,
                "displacement_px",
                float(disp[a:b].max()),
                max_disp,
                frames=[a, b],
            )
        )

    bleaching = _bleaching(s["mean"], valid & ~spike_mask, rate)
    if (
        p["bleaching_threshold"] is not None
        and np.isfinite(bleaching)
        and bleaching > p["bleaching_threshold"]
    ):
        events.append(
            _event(
                "anomaly",
                0,
                n,
                rate,
                name,
                "bleaching",
                bleaching,
                p["bleaching_threshold"],
                frames=[0, n],
            )
        )

    # Quality: registration peak against the typical frame, 0 on gaps, at most 0.5 in events.
    typical = float(np.nanmedian(peak[valid])) if valid.any() else 1.0
    quality = np.clip(np.nan_to_num(peak / max(typical, 1e-30)), 0.0, 1.0)
    flagged = spike_mask | step_mask | jump_mask | disp_mask | saturated
    quality = np.where(flagged, np.minimum(quality, 0.5), quality)
    quality[gap] = 0.0

    events.sort(key=lambda e: (e.onset, e.kind))
    traces = {
        "motion": shift,
        "frame_quality": quality.astype(np.float32),
        "frame_mean": np.where(s["nonfinite"] < 1.0, s["mean"], np.nan),
        "snr_map": s["snr_map"],
        "bleaching": bleaching,
        "registration_peak": peak,
        "registered": registered,
        "saturated_fraction": sat,
        "frame_mean_change": rel_dev,
        "reference": np.asarray(reference, dtype=np.float32),
    }
    return Detection(detector=name, events=events, traces=traces)
