"""Event scan of the extracellular assessment: saturation, movement (common mode), pops,
gaps and the per-window quality, on one chunked pass (line noise is reported from the fitted
spectrum).

Private helpers of :class:`~neurolint.assess.ephys.EphysDetector` (see
:mod:`neurolint.assess.ephys` for the rules): the per-chunk scan and the merge of its pieces
into findings, a mixin of the detector, and the mask and bin helpers they use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.chunks import Chunk
from ..core.findings import Finding
from ..core.timeseries import TimeSeries
from .base import runs
from .ephys_channels import _EPS, _MAD

_DETECTOR = "ephys"
_BIN_S = 0.001  # slow signals are averaged in 1 ms bins
_MARGIN_S = 0.25  # context read on each side of a chunk (baseline, hysteresis)
_MERGE_S = 0.02  # pieces of one event closer than this are one event
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


class _EventScan:
    """Chunked event pass of :class:`~neurolint.assess.ephys.EphysDetector` (a mixin: the
    thresholds are the detector's parameters, the scales its fitted attributes)."""

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
