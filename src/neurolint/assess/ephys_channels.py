"""Channel checks of the extracellular assessment: snippet features and the dead, noisy and
outside-the-brain verdicts.

Private helpers of :class:`~neurolint.assess.ephys.EphysDetector` (see
:mod:`neurolint.assess.ephys` for the features and rules): the probe geometry (neighbours,
order along the probe, channel groups), the per-snippet feature accumulator (which also
measures the 50/60 Hz line peak) and the verdict step, a mixin of the detector.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.channels import UNIT_SCALE_TO_SI
from ..core.findings import ChannelStatus
from ..core.timeseries import TimeSeries
from .neighbours import neighbours

_MAD = 0.6745  # MAD of a standard normal: MAD / 0.6745 estimates the standard deviation
_LINE_FREQS = (50.0, 60.0)
_HF_FRACTION = 0.8  # "high frequency" = above 80 % of Nyquist, as IBL
_SIM_SAMPLES = 4096  # high-passed samples per snippet for the similarity
_NOISE_SAMPLES = 4096  # high-passed samples per snippet for the noise level
_EPS = 1e-12
_OUTSIDE_MIN_CHANNELS = 16  # probes shorter than this are not judged for out-of-brain runs


class _ChannelChecks:
    """Channel verdicts of :class:`~neurolint.assess.ephys.EphysDetector` (a mixin: the
    thresholds are the detector's parameters)."""

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

    def keep(self, measured: dict[str, Any]) -> None:
        """Add one snippet's :meth:`measure` (snippets may be measured in any thread)."""
        self.n += 1
        self.freqs = measured.pop("freqs")
        for key, value in measured.items():
            self.rows[key].append(value)

    def measure(self, x: np.ndarray, geometry: _Geometry, workers: int = -1) -> dict[str, Any]:
        """One snippet's channel features (reads only the accumulator's settings)."""
        from scipy import fft
        from scipy.signal import sosfilt

        rows: dict[str, Any] = {}
        # Medians of every 8th sample: as good an estimate, an eighth of the work.
        rows["median"] = np.median(x[:, ::8], axis=1)
        spec = fft.rfft(x, axis=1, workers=workers)  # the DC bin, the only one the median
        freqs = np.fft.rfftfreq(x.shape[1], 1.0 / self.fs)  # moves, is not used
        top = spec[:, freqs > _HF_FRACTION * self.fs / 2]
        rows["hf"] = np.mean(top.real**2 + top.imag**2, axis=1)
        low = spec[:, freqs < 200.0]
        rows["spectrum"] = np.median(low.real**2 + low.imag**2, axis=0)
        rows["freqs"] = freqs[freqs < 200.0]
        del spec, top, low
        # Spike band, on the first part of the snippet (enough samples for a noise level and
        # a similarity); the first 10 ms hold the filter's start-up transient.
        skip = round(0.01 * self.fs)
        seg = x[:, : min(x.shape[1], skip + max(_NOISE_SAMPLES, 2 * _SIM_SAMPLES))]
        seg = seg - rows["median"][:, None]
        hp = sosfilt(self.sos.astype(np.float32), seg, axis=1)
        if hp.shape[1] > 10 * skip:
            hp = hp[:, skip:]
        thin = hp[:, :: max(1, hp.shape[1] // _NOISE_SAMPLES)]
        mad = np.median(np.abs(thin - np.median(thin, axis=1, keepdims=True)), axis=1)
        rows["noise"] = mad / _MAD
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
            rows["slope"] = np.where(rr > _EPS, xr / rr, 0.0)
            rows["slope_g"] = xm / mm if mm > _EPS else np.zeros_like(xm)
            rows["corr_g"] = np.where(xx * mm > _EPS, xm / np.sqrt(xx * mm), 0.0)
        return rows

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
