"""Gap imputation: missing samples (NaN, or runs of exact zeros) filled from their context.

Two classical fills, both from the samples on either side of each gap, per channel:

- ``"ar"`` (default): an autoregressive model fitted by least squares on the context before
  the gap predicts forward, one fitted on the context after predicts backward, and the two
  predictions are cross-faded across the gap. Oscillations (alpha, theta) continue through
  the gap instead of being flattened.
- ``"spline"``: a cubic spline through a few samples on each side; good for gaps of a
  few samples, not for longer ones (it cannot continue an oscillation).

With ``spatial=True`` (default), a gap on some channels while at least three others were
recorded is filled from them instead: a ridge regression of the channel on the recorded
channels, fitted on the second of context around the gap, predicts the missing samples.
Volume conduction makes neighbouring EEG channels far more informative than the channel's
own past; gaps on every channel fall back to the temporal fill.

Gaps longer than ``max_duration`` are left as they are and logged: a learned inpainting
model for long gaps is not part of this release.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.provenance import CorrectionStep, Region
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._regression import ridge_solve
from .base import Step

__all__ = ["GapFiller", "find_gaps"]


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(n, 2)`` start/stop of true runs in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return edges.reshape(-1, 2)


def find_gaps(
    ts: TimeSeries, *, min_zero_run: float = 0.01, chunk_duration: float = 60.0
) -> list[tuple[int, int, int]]:
    """Missing-sample runs ``(channel, start, stop)`` of ``ts``, found chunk by chunk.

    NaN/inf samples are missing; so are runs of exact zeros at least ``min_zero_run``
    seconds (and 3 samples) long, how many amplifiers write dropped packets. A channel that
    is missing for most of the recording is a bad channel (for channel repair), not a gap.
    """
    sfreq = ts.sampling_rate
    min_zero = max(3, round(min_zero_run * sfreq))
    core = max(1, round(chunk_duration * sfreq))
    open_runs: dict[int, int] = {}
    found: list[tuple[int, int, int]] = []
    for start in range(0, ts.n_samples, core):
        stop = min(ts.n_samples, start + core)
        x = ts.get_data(start, stop)
        nan = ~np.isfinite(x)
        zero = x == 0
        for ch in range(x.shape[0]):
            for kind, mask in (("nan", nan[ch]), ("zero", zero[ch])):
                key = (ch, kind)
                if key in open_runs and not mask[0]:
                    # A run from the previous chunk ended exactly at its last sample.
                    a = open_runs.pop(key)
                    if kind == "nan" or start - a >= min_zero:
                        found.append((ch, a, start))
                if not mask.any():
                    continue
                for a, z in _runs(mask):
                    a, z = int(a) + start, int(z) + start
                    if a == start and key in open_runs:
                        a = open_runs.pop(key)  # continues a run from the previous chunk
                    if z == stop and stop < ts.n_samples:
                        open_runs[key] = a
                        continue
                    if kind == "nan" or z - a >= min_zero:
                        found.append((ch, a, z))
    for (ch, kind), a in open_runs.items():
        if kind == "nan" or ts.n_samples - a >= min_zero:
            found.append((ch, a, ts.n_samples))
    return sorted(set(found), key=lambda g: (g[1], g[0]))


def _ar_fit(x: np.ndarray, order: int) -> np.ndarray | None:
    """Least-squares AR coefficients (most recent lag first), or None if too little data."""
    if len(x) < 3 * order:
        return None
    rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)
    lags, target = rows[:, :-1][:, ::-1], rows[:, -1]
    coef, *_ = np.linalg.lstsq(lags, target, rcond=None)
    return coef


def _ar_predict(history: np.ndarray, coef: np.ndarray, n: int) -> np.ndarray:
    """Continue ``history`` by ``n`` samples with the AR model (an IIR filter, no input)."""
    from scipy.signal import lfilter, lfiltic

    a = np.concatenate(([1.0], -coef))
    zi = lfiltic([1.0], a, history[::-1][: len(coef)])
    out, _ = lfilter([1.0], a, np.zeros(n), zi=zi)
    return out


def _fill_ar(before: np.ndarray, after: np.ndarray, n: int, order: int) -> np.ndarray:
    mean_b = before.mean() if len(before) else (after.mean() if len(after) else 0.0)
    mean_a = after.mean() if len(after) else mean_b
    fwd = bwd = None
    cb = _ar_fit(before - mean_b, order) if len(before) else None
    if cb is not None:
        fwd = _ar_predict(before - mean_b, cb, n) + mean_b
    ca = _ar_fit(after[::-1] - mean_a, order) if len(after) else None
    if ca is not None:
        bwd = (_ar_predict(after[::-1] - mean_a, ca, n) + mean_a)[::-1]
    if fwd is None and bwd is None:
        return _fill_linear(before, after, n)
    if fwd is None:
        return bwd
    if bwd is None:
        return fwd
    w = (np.arange(n) + 0.5) / n
    return (1 - w) * fwd + w * bwd


def _fill_spatial(
    window: np.ndarray, ch: int, a: int, z: int, min_channels: int = 3, ridge: float = 1e-2
) -> np.ndarray | None:
    """Predict ``window[ch, a:z]`` from the channels recorded throughout ``window``.

    Ridge regression (penalty ``ridge`` x mean eigenvalue) fitted on the samples of
    ``window`` where ``ch`` is finite; ``None`` when fewer than ``min_channels`` channels are
    complete over the window.
    """
    finite = np.isfinite(window)
    # Flat channels (dead, or zero-filled) carry nothing to predict from.
    others = [
        c for c in range(window.shape[0]) if c != ch and finite[c].all() and np.ptp(window[c]) > 0
    ]
    known = finite[ch].copy()
    known[a:z] = False
    if len(others) < min_channels or known.sum() < 4 * len(others):
        return None
    x = window[others].T.astype(np.float64)
    y = window[ch].astype(np.float64)
    mx, my = x[known].mean(axis=0), y[known].mean()
    xc = x[known] - mx
    try:
        w = ridge_solve(xc, y[known] - my, ridge)
    except np.linalg.LinAlgError:
        return None  # the temporal fill takes over
    if not np.isfinite(w).all():
        return None
    return (x[a:z] - mx) @ w + my


def _fill_linear(before: np.ndarray, after: np.ndarray, n: int) -> np.ndarray:
    a = before[-1] if len(before) else (after[0] if len(after) else 0.0)
    b = after[0] if len(after) else a
    return a + (b - a) * (np.arange(1, n + 1) / (n + 1))


def _fill_spline(before: np.ndarray, after: np.ndarray, n: int) -> np.ndarray:
    from scipy.interpolate import CubicSpline

    if len(before) < 2 or len(after) < 2:
        return _fill_linear(before, after, n)
    # A few samples per side: an interpolating spline through long noisy context wiggles.
    k = max(4, n)
    before, after = before[-k:], after[:k]
    t = np.concatenate((np.arange(-len(before), 0), np.arange(n, n + len(after))))
    return CubicSpline(t, np.concatenate((before, after)))(np.arange(n))


class GapFiller(Step):
    """Fill missing samples from the context around each gap.

    Parameters
    ----------
    method : {"ar", "spline"}
        Autoregressive forward/backward prediction, cross-faded, or a cubic spline.
        default: ``"ar"``.
    max_duration : float
        Longest gap filled, in seconds; longer ones are logged and left. default: 1.0.
    context : float
        Seconds of signal used on each side (at least twice the gap). default: 0.5.
    order : int
        AR model order. default: 20.
    min_zero_run : float
        Shortest run of exact zeros treated as missing, in seconds. default: 0.01.
    spatial : bool
        Fill from the other channels when at least three were recorded around the gap.
        default: ``True``.
    spatial_context : float
        Seconds on each side used to fit the spatial regression. default: 1.0.

    Attributes
    ----------
    gaps_ : list of (channel, start, stop)
        Gaps that are filled.
    left_ : list of (channel, start, stop)
        Gaps too long to fill.
    """

    name = "gaps"

    def __init__(
        self,
        method: str = "ar",
        max_duration: float = 1.0,
        context: float = 0.5,
        order: int = 20,
        min_zero_run: float = 0.01,
        spatial: bool = True,
        spatial_context: float = 1.0,
    ) -> None:
        self.method = method
        self.max_duration = max_duration
        self.context = context
        self.order = order
        self.min_zero_run = min_zero_run
        self.spatial = spatial
        self.spatial_context = spatial_context

    def fit(self, ts: TimeSeries, qc: Any = None) -> GapFiller:
        """Find the gaps and how much context filling them needs."""
        check_option("method", self.method, ("ar", "spline"))
        check_positive("max_duration", self.max_duration)
        check_positive("context", self.context)
        sfreq = ts.sampling_rate
        longest = round(self.max_duration * sfreq)
        self.skipped_ = None
        gaps = find_gaps(ts, min_zero_run=self.min_zero_run)
        # Mostly missing channels are bad channels, not gaps.
        per_channel = np.zeros(ts.n_channels)
        for ch, a, z in gaps:
            per_channel[ch] += z - a
        dead = per_channel > 0.5 * ts.n_samples
        gaps = [g for g in gaps if not dead[g[0]]]
        self.gaps_ = [g for g in gaps if g[2] - g[1] <= longest]
        self.left_ = [g for g in gaps if g[2] - g[1] > longest]
        self.names_ = list(ts.ch_names)
        self.sfreq_ = sfreq
        self._context = max(round(self.context * sfreq), 2 * self.order)
        widest = max((z - a for _, a, z in self.gaps_), default=0)
        self._spatial_ctx = round(check_positive("spatial_context", self.spatial_context) * sfreq)
        self.margin_ = widest + max(self._context, 2 * widest, self._spatial_ctx)
        self.n_spatial_ = 0
        self._starts = np.array([g[1] for g in self.gaps_], dtype=np.int64)
        if not self.gaps_:
            self.skipped_ = "no gaps" if not self.left_ else "every gap is too long to fill"
        return self

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with the fitted gaps that lie in it filled."""
        out = block.astype(np.float32, copy=True)
        stop = start + block.shape[1]
        lo = int(np.searchsorted(self._starts, start - self.margin_))
        for ch, a, z in self.gaps_[lo:]:
            if a >= stop:
                break
            if z <= start:
                continue
            n = z - a
            # Only the part of the gap inside this block is written.
            i0, i1 = max(a, start), min(z, stop)
            if self.spatial and start <= a and z <= stop:  # gaps of the core always are
                s0, s1 = max(start, a - self._spatial_ctx), min(stop, z + self._spatial_ctx)
                # Original samples (not earlier fills) so the result does not depend on order.
                fill = _fill_spatial(block[:, s0 - start : s1 - start], ch, a - s0, z - s0)
                if fill is not None:
                    out[ch, i0 - start : i1 - start] = fill[i0 - a : i1 - a]
                    continue
            ctx = max(self._context, 2 * n)
            b0, a1 = max(start, a - ctx), min(stop, z + ctx)
            row = out[ch].astype(np.float64)
            before = row[b0 - start : max(0, a - start)]
            after = row[min(block.shape[1], z - start) : a1 - start]
            before, after = before[np.isfinite(before)], after[np.isfinite(after)]
            if self.method == "spline":
                fill = _fill_spline(before, after, n)
            else:
                fill = _fill_ar(before, after, n, int(self.order))
            out[ch, i0 - start : i1 - start] = fill[i0 - a : i1 - a]
        return out

    def log(self) -> CorrectionStep:
        sfreq = getattr(self, "sfreq_", 1.0)
        names = getattr(self, "names_", [])
        regions = [Region(a / sfreq, (z - a) / sfreq, (names[ch],)) for ch, a, z in self.gaps_]
        params: dict[str, Any] = {
            "max_duration": self.max_duration,
            "context": self.context,
            "order": self.order,
            "n_gaps": len(self.gaps_),
            "spatial": bool(self.spatial),
            "spatial_context": self.spatial_context,
        }
        if self.left_:
            params["left_unfilled"] = [
                {"channel": names[ch], "onset": a / sfreq, "duration": (z - a) / sfreq}
                for ch, a, z in self.left_
            ]
        return CorrectionStep(
            name=self.name,
            method=self.method,
            parameters=params,
            regions=regions,
            skipped=self.skipped_,
        )
