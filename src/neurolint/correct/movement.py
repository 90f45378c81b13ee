"""Movement artifacts: the slow deflection under each movement finding, subtracted.

A movement (cable sway, head or electrode shift) adds a large, slow wave (below ~2 Hz) to a
group of channels for a second or a few. Where the assessment found one, each listed channel
is low-passed over the finding plus ``pad`` seconds on each side; the line joining the
low-passed signal's two ends stands for the background's own slow drift and is kept, and
what rises above it is the artifact estimate. It is subtracted under a raised-cosine weight
over the pads, so the correction fades in and out. Faster activity is untouched, and so is
every sample outside the findings: a recording without movement findings passes through
unchanged. The delta activity of the corrected stretch goes with the artifact (it cannot be
told apart there); the log lists every region.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.provenance import CorrectionStep, Region
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .artifacts import _EEG_LIKE  # the channel types the artifact steps clean
from .base import Step

__all__ = ["MovementRemover"]


class MovementRemover(Step):
    """Subtract the slow deflection of each movement finding from its channels.

    Parameters
    ----------
    cutoff : float
        Low-pass edge of the artifact estimate, Hz. default: 1.5 (simulated and recorded
        movements sit below 2 Hz; alpha and faster stay untouched).
    pad : float
        Seconds corrected on each side of a finding, under the fade. default: 1.0.
    max_duration : float
        Longest finding corrected, in seconds; longer ones are logged and left. default: 30.

    Attributes
    ----------
    regions_ : list of (start, stop, channel indices)
        Sample spans corrected (findings merged where their padded spans overlap).
    left_ : int
        Findings longer than ``max_duration``, left as they are.
    """

    name = "movement"

    def __init__(self, cutoff: float = 1.5, pad: float = 1.0, max_duration: float = 30.0) -> None:
        self.cutoff = cutoff
        self.pad = pad
        self.max_duration = max_duration

    def fit(self, ts: TimeSeries, qc: Any = None) -> MovementRemover:
        """Collect the movement findings of ``qc`` on good EEG-like channels."""
        check_positive("cutoff", self.cutoff)
        check_positive("pad", self.pad)
        check_positive("max_duration", self.max_duration)
        sfreq = ts.sampling_rate
        self.sfreq_ = sfreq
        self.names_ = list(ts.ch_names)
        self.skipped_ = None
        self.left_ = 0
        self.regions_: list[tuple[int, int, tuple[int, ...]]] = []
        pad = round(self.pad * sfreq)
        self._pad = pad
        bad = set(getattr(qc, "bad_channels", []) or [])
        eeg = [
            i
            for i, (n, t) in enumerate(zip(ts.ch_names, ts.channels.types, strict=True))
            if t in _EEG_LIKE and n not in bad
        ]
        if qc is None:
            self.skipped_ = "no assessment given: pass qc (from check)"
            return self
        if 2 * self.cutoff >= 0.9 * sfreq or ts.n_samples < 4 * pad:
            self.skipped_ = f"{sfreq:g} Hz recording too short or too slow for the filter"
            return self
        lookup = {n: i for i, n in enumerate(ts.ch_names)}
        usable = set(eeg)
        spans = []
        for e in qc.events:
            if e.kind != "movement":
                continue
            if e.duration > self.max_duration:
                self.left_ += 1
                continue
            chans = [lookup[c] for c in e.channels if c in lookup] or eeg
            chans = [c for c in chans if c in usable]
            a = max(0, round(e.onset * sfreq) - pad)
            z = min(ts.n_samples, round(e.offset * sfreq) + pad)
            if chans and z - a > 2 * pad:
                spans.append([a, z, set(chans)])
        # Overlapping padded spans become one region (the channels pooled).
        spans.sort(key=lambda s: s[0])
        merged: list[list[Any]] = []
        for a, z, chans in spans:
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], z)
                merged[-1][2] |= chans
            else:
                merged.append([a, z, chans])
        self.regions_ = [(a, z, tuple(sorted(c))) for a, z, c in merged]
        self._starts = np.array([r[0] for r in self.regions_], dtype=np.int64)
        widest = max((z - a for a, z, _ in self.regions_), default=0)
        self.margin_ = widest
        if not self.regions_:
            self.skipped_ = "no movement findings to correct"
        return self

    def changes(self, lo: int, hi: int) -> bool:
        """Whether a region overlaps ``[lo, hi)`` (only regions' samples are written)."""
        first = int(np.searchsorted(self._starts, lo - self.margin_))
        last = int(np.searchsorted(self._starts, hi))
        return any(z > lo for _, z, _ in self.regions_[first:last])

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with every region that lies wholly inside it corrected.

        ``margin_`` covers the widest region, so each region is wholly inside the block
        that owns its samples: the result does not depend on where blocks fall.
        """
        from scipy.signal import butter, sosfiltfilt

        out = block.astype(np.float32, copy=True)
        stop = start + block.shape[1]
        sos = butter(2, self.cutoff, "lowpass", fs=self.sfreq_, output="sos")
        lo = int(np.searchsorted(self._starts, start))
        for a, z, chans in self.regions_[lo:]:
            if a >= stop:
                break
            if z > stop:
                continue
            rows = list(chans)
            seg = block[rows, a - start : z - start].astype(np.float64)
            if not np.isfinite(seg).all():
                continue  # gaps are the gap step's; a filter would smear them
            slow = sosfiltfilt(sos, seg, axis=1)
            n = z - a
            ramp = np.arange(n) / max(1, n - 1)
            drift = slow[:, :1] + (slow[:, -1:] - slow[:, :1]) * ramp
            fade = np.ones(n)
            k = min(self._pad, n // 2)
            if k:
                rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
                fade[:k], fade[n - k :] = rise, rise[::-1]
            out[rows, a - start : z - start] = (seg - (slow - drift) * fade).astype(np.float32)
        return out

    def log(self) -> CorrectionStep:
        sfreq = getattr(self, "sfreq_", 1.0)
        names = getattr(self, "names_", [])
        regions = [
            Region(a / sfreq, (z - a) / sfreq, tuple(names[c] for c in chans))
            for a, z, chans in getattr(self, "regions_", [])
        ]
        params: dict[str, Any] = {
            "cutoff_hz": self.cutoff,
            "pad_s": self.pad,
            "max_duration_s": self.max_duration,
            "n_regions": len(regions),
        }
        if getattr(self, "left_", 0):
            params["left_too_long"] = self.left_
        return CorrectionStep(
            name=self.name,
            method="slow-wave subtraction",
            parameters=params,
            regions=regions,
            skipped=self.skipped_,
        )
