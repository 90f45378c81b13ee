"""Gap imputation: missing samples (NaN, or runs of exact zeros) filled from their context.

``"learned"`` (default): gaps of 20-500 ms are filled by the shipped inpainting network
(``gap-inpainter``, :mod:`neurolint.models.nets.inpainter`), conditioned on 3 s of the
channel around the gap and on its neighbours' ridge prediction, at 256 Hz whatever the
recording's rate (resampled there and back, see :mod:`._inpaint`). It refines the classical
fill below, trained to keep the band power that a least-squares fill (a conditional mean)
loses. Shorter gaps, recordings below 128 Hz, channels whose power lies mostly above 100 Hz
(spike-band extracellular data), gaps with less than half of their 3 s recorded, and a
model that cannot be loaded are left to the classical fill; the decision is made once in
``fit``, and the log counts the gaps each method filled, with the reasons.

Two classical fills, both from the samples on either side of each gap, per channel:

- ``"ar"``: an autoregressive model fitted by least squares on the context before
  the gap predicts forward, one fitted on the context after predicts backward, and the two
  predictions are cross-faded across the gap. Oscillations (alpha, theta) continue through
  the gap instead of being flattened. The learned method's fallback.
- ``"spline"``: a cubic spline through a few samples on each side; good for gaps of a
  few samples, not for longer ones (it cannot continue an oscillation).

With ``spatial=True`` (default), a gap on some channels while at least three others were
recorded is filled from them instead: a ridge regression of the channel on the recorded
channels, fitted on the second of context around the gap, predicts the missing samples.
Volume conduction makes neighbouring EEG channels far more informative than the channel's
own past; gaps on every channel fall back to the temporal fill.

Gaps longer than ``max_duration`` are left as they are and logged.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.gaps import find_gaps
from ..core.provenance import CorrectionStep, Region
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._regression import ridge_solve
from .base import Step

__all__ = ["GapFiller", "find_gaps"]

log = logging.getLogger("neurolint")


def _ar_fit(x: np.ndarray, order: int) -> np.ndarray | None:
    """Least-squares AR coefficients (most recent lag first), or None if too little data.

    The order is cut to a fifth of the samples: AR(20) fitted on 64 samples (0.5 s at
    128 Hz) overfits into a filter whose prediction grows instead of fading.
    """
    order = min(order, len(x) // 5)
    if order < 2:
        return None
    rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)
    lags, target = rows[:, :-1][:, ::-1], rows[:, -1]
    coef, *_ = np.linalg.lstsq(lags, target, rcond=None)
    return _stabilised(coef)


def _stabilised(coef: np.ndarray, limit: float = 0.995) -> np.ndarray:
    """``coef`` with every pole of the AR filter moved inside radius ``limit``.

    Poles outside are reflected (radius ``1/r``), those on or near the circle pulled in, so
    a prediction decays rather than explodes; a stable fit comes back unchanged.
    """
    poles = np.roots(np.concatenate(([1.0], -coef)))
    radius = np.abs(poles)
    if radius.size == 0 or radius.max() < limit:
        return coef
    shrink = np.where(radius > limit, np.minimum(1.0 / radius, limit) / radius, 1.0)
    return -np.real(np.poly(poles * shrink))[1:]


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


_MAX_FIT_SAMPLES = 8192
#: Context a side, in samples, whatever the rate: up to 4 kHz the default seconds apply;
#: at 30 kHz it is 0.14 s, plenty for AR(20) and 64 ridge weights. Seconds there made the
#: margin 1.1 s a side, and every step of ``fix()`` then processed 2.5 times each 1.5 s block
#: of a 384-channel probe.
MAX_CONTEXT_SAMPLES = 4096


def _fill_spatial(
    window: np.ndarray,
    ch: int,
    a: int,
    z: int,
    min_channels: int = 3,
    ridge: float = 1e-2,
    max_peers: int = 64,
) -> np.ndarray | None:
    """Predict ``window[ch, a:z]`` from the channels recorded throughout ``window``.

    Ridge regression (penalty ``ridge`` x mean eigenvalue) fitted on the samples of
    ``window`` where ``ch`` is finite; ``None`` when fewer than ``min_channels`` channels are
    complete over the window. Of more than ``max_peers`` such channels (a probe), the
    ``max_peers`` most correlated with ``ch`` there: all 383 of a Neuropixels probe made
    every gap a 383-column regression over 60,000 samples.
    """
    finite = np.isfinite(window)
    # Flat channels (dead, or zero-filled) carry nothing to predict from.
    complete = finite.all(axis=1)
    complete[ch] = False
    with np.errstate(invalid="ignore"):
        varies = window.max(axis=1) > window.min(axis=1)
    others = np.flatnonzero(complete & varies)
    known = finite[ch].copy()
    known[a:z] = False
    if len(others) < min_channels or known.sum() < 4 * len(others):
        return None
    if len(others) > max_peers:
        # Correlations from up to 4096 of the known samples are enough to rank peers.
        idx = np.flatnonzero(known)
        idx = idx[:: max(1, len(idx) // 4096)]
        sub = window[np.ix_(others, idx)].astype(np.float64)
        sub -= sub.mean(axis=1, keepdims=True)
        own = window[ch, idx].astype(np.float64)
        own -= own.mean()
        r = np.abs(sub @ own) / (np.sqrt(np.einsum("ij,ij->i", sub, sub)) + 1e-30)
        others = np.sort(others[np.argsort(r)[::-1][:max_peers]])
    # Fitted on at most 8192 of the known samples, evenly spread (a 30 kHz probe's window
    # has 60,000; a few thousand settle 64 weights).
    fit_at = np.flatnonzero(known)
    fit_at = fit_at[:: max(1, -(-len(fit_at) // _MAX_FIT_SAMPLES))]
    x = window[np.ix_(others, fit_at)].T.astype(np.float64)
    y = window[ch, fit_at].astype(np.float64)
    mx, my = x.mean(axis=0), y.mean()
    x -= mx
    try:
        w = ridge_solve(x, y - my, ridge)
    except np.linalg.LinAlgError:
        return None  # the temporal fill takes over
    if not np.isfinite(w).all():
        return None
    return (window[others, a:z].T.astype(np.float64) - mx) @ w + my


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


class _FillCache:
    """The learned fills computed so far, by gap, least recently used first out, within
    ``max_bytes``. A learned fill reads only its window, which lies wholly in any block that
    computes it, so it is the same whichever block asks; the steps fitted after the gap step
    read through it, and blocks overlap by their margins, so each gap is asked for two or
    three times."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._fills: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int]) -> np.ndarray | None:
        with self._lock:
            fill = self._fills.get(key)
            if fill is not None:
                self._fills.move_to_end(key)
            return fill

    def put(self, key: tuple[int, int, int], fill: np.ndarray) -> None:
        fill = np.array(fill, dtype=np.float32)  # a copy of its own, not a view of a block
        fill.flags.writeable = False
        with self._lock:
            if key in self._fills or fill.nbytes > self.max_bytes:
                return
            self._fills[key] = fill
            self._bytes += fill.nbytes
            while self._bytes > self.max_bytes:
                _, old = self._fills.popitem(last=False)
                self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._fills.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._fills)

    def __getstate__(self) -> dict[str, Any]:
        return {"max_bytes": self.max_bytes}  # a copy in another process starts empty

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_bytes"])


def _core_copy(block: np.ndarray, c0: int, c1: int, rows: set[int]) -> np.ndarray:
    """A float32 copy of ``block``'s columns ``[c0, c1)`` and of its whole ``rows``, zeros
    elsewhere. The margins outside ``[c0, c1)`` are not read after the step, and on a probe
    they are twice the block: zeros from ``np.zeros`` are pages never touched, where a full
    copy spent a third of a second per block faulting them in."""
    out = np.zeros(block.shape, dtype=np.float32)
    out[:, c0:c1] = block[:, c0:c1]
    for r in rows:
        out[r] = block[r]
    return out


class GapFiller(Step):
    """Fill missing samples from the context around each gap.

    Parameters
    ----------
    method : {"learned", "ar", "spline"}
        The learned inpainter for gaps in its range (20-500 ms for the shipped model) and
        the classical ridge/AR fill for the others; autoregressive forward/backward
        prediction, cross-faded; or a cubic spline. default: ``"learned"`` (on development
        seeds it kept more band power than the AR fill, and was closer in time, on LFP and
        EEG alike).
    max_duration : float
        Longest gap filled, in seconds; longer ones are logged and left. default: 1.0.
    context : float
        Seconds of signal used on each side (at least twice the gap), at most
        :data:`MAX_CONTEXT_SAMPLES` samples. default: 0.5.
    order : int
        AR model order. default: 20.
    min_zero_run : float
        Shortest run of exact zeros treated as missing, in seconds. default: 0.01.
    spatial : bool
        Fill from the other channels when at least three were recorded around the gap (the
        learned fill then gets their prediction too). default: ``True``.
    spatial_context : float
        Seconds on each side used to fit the spatial regression, at most
        :data:`MAX_CONTEXT_SAMPLES` samples. default: 1.0.
    model : str | path | torch.nn.Module
        The learned inpainter: a registered name, a ``.safetensors`` path with its card, or
        a module. default: ``"gap-inpainter"``.

    Attributes
    ----------
    gaps_ : list of (channel, start, stop)
        Gaps that are filled.
    left_ : list of (channel, start, stop)
        Gaps too long to fill.
    learned_ : ndarray of bool
        Per gap of ``gaps_``, whether the learned model fills it.
    reasons_ : dict
        Why gaps were left to the classical fill under ``method="learned"``, with counts.
    """

    name = "gaps"

    def __init__(
        self,
        method: str = "learned",
        max_duration: float = 1.0,
        context: float = 0.5,
        order: int = 20,
        min_zero_run: float = 0.01,
        spatial: bool = True,
        spatial_context: float = 1.0,
        model: Any = "gap-inpainter",
    ) -> None:
        self.method = method
        self.max_duration = max_duration
        self.context = context
        self.order = order
        self.min_zero_run = min_zero_run
        self.spatial = spatial
        self.spatial_context = spatial_context
        self.model = model

    def fit(self, ts: TimeSeries, qc: Any = None) -> GapFiller:
        """Find the gaps, how much context filling them needs, and which the learned model
        fills."""
        check_option("method", self.method, ("ar", "spline", "learned"))
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
        self.n_samples_ = ts.n_samples
        self._context = max(min(round(self.context * sfreq), MAX_CONTEXT_SAMPLES), 2 * self.order)
        widest = max((z - a for _, a, z in self.gaps_), default=0)
        spatial_ctx = round(check_positive("spatial_context", self.spatial_context) * sfreq)
        self._spatial_ctx = min(spatial_ctx, MAX_CONTEXT_SAMPLES)
        self.margin_ = widest + max(self._context, 2 * widest, self._spatial_ctx)
        self._starts = np.array([g[1] for g in self.gaps_], dtype=np.int64)
        self._widest = widest
        # Every known gap, filled or not: the learned fill must not read them as signal.
        self._all = sorted(self.gaps_ + self.left_, key=lambda g: g[1])
        self._all_starts = np.array([g[1] for g in self._all], dtype=np.int64)
        self._all_widest = max((z - a for _, a, z in self._all), default=0)
        self.learned_ = np.zeros(len(self.gaps_), dtype=bool)
        self.reasons_: dict[str, int] = {}
        self._net = None
        self._fills = _FillCache()
        if self.method == "learned" and self.gaps_:
            self._plan_learned(ts)
        if not self.gaps_:
            self.skipped_ = "no gaps" if not self.left_ else "every gap is too long to fill"
        return self

    def _leave(self, reason: str, count: int) -> None:
        """Count ``count`` gaps left to the classical fill for ``reason`` and say so."""
        if count:
            self.reasons_[reason] = self.reasons_.get(reason, 0) + count
            log.info("gaps: %d gap(s) filled classically: %s", count, reason)

    def _plan_learned(self, ts: TimeSeries) -> None:
        """Decide, once, which gaps the learned model fills (so the log is exact)."""
        from ._inpaint import MIN_RATE, load_inpainter

        sfreq = self.sfreq_
        n = len(self.gaps_)
        if sfreq < MIN_RATE:
            self._leave(
                f"sampling rate {sfreq:g} Hz is below the learned model's {MIN_RATE:g} Hz", n
            )
            return
        try:
            net, config = load_inpainter(self.model)
        except Exception as exc:  # noqa: BLE001 - any load failure falls back, with its reason
            reason = f"learned model unavailable ({type(exc).__name__}: {exc})"
            log.warning("gaps: %s; the classical fill is used instead", reason)
            self._leave(reason, n)
            return
        lo_s, hi_s = config.get("input", {}).get("gap_range_s", [0.02, 0.5])
        length = np.array([z - a for _, a, z in self.gaps_])
        short, long_ = length < lo_s * sfreq, length > hi_s * sfreq
        self._leave(
            f"shorter than {lo_s * 1000:g} ms (the AR fill bridges them well)", int(short.sum())
        )
        self._leave(f"longer than the learned model's {hi_s * 1000:g} ms", int(long_.sum()))
        ok = ~short & ~long_
        ok &= self._enough_context(ok)
        ok &= self._low_band(ts, ok)
        self.learned_ = ok
        if ok.any():
            from ._inpaint import half_span

            self._net = net
            # Two samples of slack for the rounding of the window's centre.
            self._reach = half_span(sfreq) + 2
            self.margin_ = max(self.margin_, self._reach + int(length.max()))

    def _enough_context(self, ok: np.ndarray) -> np.ndarray:
        """Gaps with at least half of the model's 3 s window recorded on their channel."""
        from ._inpaint import RATE, WINDOW

        half = round(WINDOW / 2 * self.sfreq_ / RATE)
        keep = np.ones(len(self.gaps_), dtype=bool)
        spans: dict[int, list[tuple[int, int]]] = {}
        for ch, a, z in self._all:
            spans.setdefault(ch, []).append((a, z))
        # Per channel, gaps sorted by start with the running end: a search finds the few
        # that can touch a window (no quadratic scan on a recording with thousands).
        runs = {}
        for ch, items in spans.items():
            arr = np.array(sorted(items), dtype=np.int64)
            runs[ch] = (arr, np.maximum.accumulate(arr[:, 1]))
        for i, (ch, a, z) in enumerate(self.gaps_):
            if not ok[i]:
                continue
            c = (a + z) // 2
            w0, w1 = c - half, c + half
            arr, ends = runs[ch]
            j0, j1 = int(np.searchsorted(ends, w0, "right")), int(np.searchsorted(arr[:, 0], w1))
            near = arr[j0:j1]
            inside = np.minimum(near[:, 1], min(w1, self.n_samples_)) - np.maximum(
                near[:, 0], max(w0, 0)
            )
            missing = (
                max(0, -w0) + max(0, w1 - self.n_samples_) + int(np.clip(inside, 0, None).sum())
            )
            keep[i] = missing <= half
        self._leave("less than half of the 3 s around the gap recorded", int((ok & ~keep).sum()))
        return keep

    def _low_band(self, ts: TimeSeries, ok: np.ndarray) -> np.ndarray:
        """Gaps on channels whose power lies mostly below 100 Hz (the model works at
        256 Hz: a spike-band recording is left to the classical fill)."""
        from scipy.signal import welch

        from ._inpaint import SPIKE_BAND_HZ

        sfreq = self.sfreq_
        keep = np.ones(len(self.gaps_), dtype=bool)
        if sfreq <= 2.5 * SPIKE_BAND_HZ or not ok.any():
            return keep  # little or no room above 100 Hz
        rows = sorted({self.gaps_[i][0] for i in np.flatnonzero(ok)})
        candidates = [self.gaps_[i] for i in np.flatnonzero(ok)]
        # The second before a few gaps spread over the recording, candidate channels only.
        spread = np.unique(np.linspace(0, len(candidates) - 1, 3).round().astype(int))
        picks = [candidates[j] for j in spread]
        low = np.zeros(len(rows))
        total = np.zeros(len(rows))
        span = round(sfreq)
        for _, a, _z in picks:
            x = ts.get_data(max(0, a - span), a, channels=rows)
            x = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            if x.shape[1] < 16:
                continue
            f, p = welch(x, sfreq, nperseg=min(x.shape[1], round(0.25 * sfreq)), axis=-1)
            low += p[:, f < SPIKE_BAND_HZ].sum(axis=1)
            total += p.sum(axis=1)
        high = {r for r, lo_, t in zip(rows, low, total, strict=True) if t > 0 and lo_ < 0.5 * t}
        for i, (ch, _, _) in enumerate(self.gaps_):
            keep[i] = ch not in high
        self._leave(
            f"most of the channel's power lies above {SPIKE_BAND_HZ:g} Hz (spike band); the "
            "learned model covers 0-128 Hz",
            int((ok & ~keep).sum()),
        )
        return keep

    def changes(self, lo: int, hi: int) -> bool:
        """Whether a filled gap overlaps ``[lo, hi)`` (only gap samples are written)."""
        first = int(np.searchsorted(self._starts, lo - self._widest))
        last = int(np.searchsorted(self._starts, hi))
        return any(self.gaps_[i][2] > lo for i in range(first, last))

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with the fitted gaps that lie in it filled (the block itself when
        none does: most blocks of a long recording)."""
        stop = start + block.shape[1]
        # Only the block less the margins is read afterwards (they hold the context), so
        # gaps wholly in the margins are left.
        first = start + self.margin_ if start > 0 else 0
        last = stop - self.margin_ if stop < self.n_samples_ else stop
        lo = int(np.searchsorted(self._starts, first - self.margin_))
        hi = int(np.searchsorted(self._starts, last))
        here = [i for i in range(lo, hi) if self.gaps_[i][2] > first]
        if not here:
            return block
        out = _core_copy(block, first - start, last - start, {self.gaps_[i][0] for i in here})
        learned: list[tuple[int, int, int]] = []
        for i in here:
            ch, a, z = self.gaps_[i]
            n = z - a
            # Only the part of the gap inside this block is written.
            i0, i1 = max(a, start), min(z, stop)
            if self.learned_[i] and self._window_inside(a, z, start, stop):
                learned.append((ch, a, z))
                continue
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
        if learned:
            self._apply_learned(block, start, learned, out)
        return out

    def _window_inside(self, a: int, z: int, start: int, stop: int) -> bool:
        """Whether the model's window around ``[a, z)`` lies in the block (or is cut only by
        the recording's ends), so the fill does not depend on where blocks fall. Gaps whose
        fill reaches the output always qualify (``margin_`` covers the window)."""
        c = (a + z) // 2
        reach = self._reach
        return (c - reach >= start or start == 0) and (c + reach <= stop or stop == self.n_samples_)

    def _apply_learned(
        self, block: np.ndarray, start: int, gaps: list[tuple[int, int, int]], out: np.ndarray
    ) -> None:
        """Fill ``gaps`` (wholly inside ``block``) with the learned model, in place."""
        from ._inpaint import native_fill, prepare, run_inpainter

        cache = getattr(self, "_fills", None)
        if cache is not None:
            todo = []
            for ch, a, z in gaps:
                fill = cache.get((ch, a, z))
                if fill is None:
                    todo.append((ch, a, z))
                else:
                    out[ch, a - start : z - start] = fill
            gaps = todo
        if not gaps:
            return
        stop = start + block.shape[1]
        missing = ~np.isfinite(block)
        lo = int(np.searchsorted(self._all_starts, start - self._all_widest))
        hi = int(np.searchsorted(self._all_starts, stop))
        for ch, a, z in self._all[lo:hi]:
            if z > start:
                missing[ch, max(a, start) - start : min(z, stop) - start] = True
        # Batches of gaps: inputs for 64 gaps are 1 MB, whatever the block's length.
        for k in range(0, len(gaps), 64):
            part = gaps[k : k + 64]
            items = [
                prepare(
                    block,
                    missing,
                    ch,
                    a - start,
                    z - start,
                    self.sfreq_,
                    spatial=bool(self.spatial),
                )
                for ch, a, z in part
            ]
            outputs = run_inpainter(self._net, np.stack([it.inputs for it in items]))
            for (ch, a, z), item, output in zip(part, items, outputs, strict=True):
                fill = native_fill(item, output, a - start, z - start)
                out[ch, a - start : z - start] = fill
                if cache is not None:
                    cache.put((ch, a, z), fill)

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
        if self.method == "learned":
            n_learned = int(np.sum(getattr(self, "learned_", [])))
            model = self.model
            params["model"] = str(model) if isinstance(model, (str, Path)) else "module given"
            params["filled_by"] = {
                "learned": n_learned,
                "classical": len(self.gaps_) - n_learned,
            }
            if getattr(self, "reasons_", None):
                params["classical_reasons"] = dict(self.reasons_)
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
