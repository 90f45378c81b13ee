"""Per-channel, per-window features: the shared input of rules, anomaly and quality scores.

Windows of ``window`` seconds start every ``hop`` seconds; the recording is read in blocks of
windows, so memory is bounded by the block, not the recording. Spectral features come from one
Hann-windowed FFT per channel-window (NaN read as 0).

Features (arrays ``(n_windows, n_channels)``, float32):

==============  =====================================================================
name            meaning
==============  =====================================================================
``mean``        mean (NaN ignored)
``rms``         standard deviation around the window mean (NaN ignored)
``ptp``         peak-to-peak amplitude (NaN ignored)
``max_step``    largest absolute sample-to-sample change
``nan_frac``    fraction of NaN samples
``zero_frac``   fraction of samples exactly 0
``flat_frac``   fraction of sample-to-sample changes below 1e-12 of the data's scale
``clip_frac``   fraction of samples equal to the window's max or min (a plateau)
``kurtosis``    excess kurtosis (0 for Gaussian)
``lf_power``    power below 2 Hz (slow drifts, movement, eye movements)
``band_<b>``    power in delta 1-4, theta 4-8, alpha 8-13, beta 13-30 Hz
``hf_power``    power from 20 Hz to 0.45 x rate, mains bands (±2 Hz) left out (muscle)
``line_50``     power within ±1 Hz of 50 Hz and its harmonics, over total power
``line_60``     the same for 60 Hz
==============  =====================================================================

Powers are mean squared amplitude per window (the unit of the data, squared).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..core.errors import DataValueError, ParameterError
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .base import window_starts

_MIN_SAMPLES = 8  # the shortest window whose features mean anything

__all__ = ["FEATURES", "WindowFeatures", "shared_features", "window_features"]

BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
FEATURES = (
    "mean",
    "rms",
    "ptp",
    "max_step",
    "nan_frac",
    "zero_frac",
    "flat_frac",
    "clip_frac",
    "kurtosis",
    "lf_power",
    *(f"band_{b}" for b in BANDS),
    "hf_power",
    "line_50",
    "line_60",
)


@dataclass
class WindowFeatures:
    """Features of every channel in every window.

    Attributes
    ----------
    starts : numpy.ndarray
        Start sample of each window, ``(n_windows,)``.
    length : int
        Window length in samples.
    sampling_rate : float
    channels : tuple of str
    values : dict of str to numpy.ndarray
        Feature name → ``(n_windows, n_channels)`` float32.
    """

    starts: np.ndarray
    length: int
    sampling_rate: float
    channels: tuple[str, ...]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    @property
    def n_windows(self) -> int:
        return len(self.starts)

    @property
    def onsets(self) -> np.ndarray:
        """Window start times in seconds."""
        return self.starts / self.sampling_rate

    @property
    def duration(self) -> float:
        """Window length in seconds."""
        return self.length / self.sampling_rate

    def matrix(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """``(n_windows, n_channels, n_features)`` stacked in ``names`` order."""
        return np.stack([self.values[n] for n in (names or FEATURES)], axis=-1)

    def subset(self, rows: np.ndarray) -> WindowFeatures:
        """The windows at indices ``rows`` (fewer windows, same channels), read-only.

        Evenly spaced rows (a hop of 1 s read from a hop of 0.5 s) give views, not copies,
        so the shared feature pass is not held twice.
        """
        rows = np.asarray(rows)
        step = np.diff(rows)
        if len(rows) > 1 and step[0] > 0 and np.all(step == step[0]):
            rows = slice(int(rows[0]), int(rows[-1]) + 1, int(step[0]))
        values = {name: _read_only(value[rows]) for name, value in self.values.items()}
        return WindowFeatures(
            self.starts[rows], self.length, self.sampling_rate, self.channels, values
        )

    def pick(self, judged: np.ndarray) -> WindowFeatures:
        """The channels where the boolean mask ``judged`` is true (same windows); a copy."""
        judged = np.asarray(judged, bool)
        if judged.all():
            return self
        names = tuple(n for n, keep in zip(self.channels, judged, strict=True) if keep)
        values = {name: _read_only(value[:, judged]) for name, value in self.values.items()}
        return WindowFeatures(self.starts, self.length, self.sampling_rate, names, values)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@lru_cache(maxsize=16)
def _band_matrix(n: int, sfreq: float) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names, a ``(n_bins, n_names)`` 0/1 matrix summing each band's FFT bins, and which
    names are ratios to total power; all of :func:`_spectral`'s bands in one product."""
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    cols: dict[str, np.ndarray] = {"lf_power": (freqs > 0) & (freqs < 2.0)}
    for name, (lo, hi) in BANDS.items():
        cols[f"band_{name}"] = (freqs >= lo) & (freqs < hi)
    mains = np.zeros_like(freqs, dtype=bool)
    for base in (50.0, 60.0):
        near = np.zeros_like(freqs, dtype=bool)
        for harmonic in np.arange(base, sfreq / 2, base):
            near |= np.abs(freqs - harmonic) <= 1.0
            mains |= np.abs(freqs - harmonic) <= 2.0
        cols[f"line_{int(base)}"] = near
    cols["hf_power"] = (freqs >= 20.0) & (freqs <= 0.45 * sfreq) & ~mains
    cols["_total"] = freqs > 0
    names = tuple(cols)
    ratio = np.array([name.startswith("line_") for name in names])
    return names, np.stack(list(cols.values()), axis=1).astype(np.float32), ratio


def _spectral(x: np.ndarray, sfreq: float) -> dict[str, np.ndarray]:
    """Band powers of ``x`` ``(..., n)`` from one Hann-windowed FFT per row."""
    from scipy import fft

    n = x.shape[-1]
    taper = np.hanning(n).astype(np.float32)
    spec = fft.rfft(x * taper, axis=-1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    # Scale so the sum over bins is the mean squared amplitude (Parseval with the taper).
    power *= 2.0 / (n * float(np.sum(taper**2)))
    names, bands, ratio = _band_matrix(n, float(sfreq))
    sums = power @ bands  # every band at once: one matrix product instead of masked copies
    total = sums[..., -1:] + 1e-30
    sums[..., ratio] /= total
    return {name: sums[..., i] for i, name in enumerate(names[:-1])}


def _block_features(block: np.ndarray, sfreq: float, scale: float) -> dict[str, np.ndarray]:
    """Features of windows ``block`` shaped ``(n_windows, n_channels, n)``."""
    nan = np.isnan(block)
    has_nan = bool(nan.any())
    nan_frac = _frac(nan) if has_nan else np.zeros(block.shape[:-1], np.float32)
    filled = np.where(nan, 0.0, block).astype(np.float32) if has_nan else block
    count = np.maximum((~nan).sum(-1), 1) if has_nan else block.shape[-1]
    mean = filled.sum(-1) / count
    centred = filled - mean[..., None]
    if has_nan:
        centred[nan] = 0.0
    squared = centred * centred  # x*x, not x**4: float32 powers are ~20x slower
    var = squared.sum(-1) / count
    rms = np.sqrt(var)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # An all-NaN window (a gap) has no extremes; it reads as 0 below.
        warnings.simplefilter("ignore", RuntimeWarning)
        hi = np.nanmax(block, axis=-1) if has_nan else block.max(-1)
        lo = np.nanmin(block, axis=-1) if has_nan else block.min(-1)
        fourth = np.einsum("...k,...k->...", squared, squared)  # no x**4 temporary
        kurt = fourth / count / np.maximum(var, 1e-30) ** 2 - 3.0
    hi, lo = np.nan_to_num(hi), np.nan_to_num(lo)
    step = np.abs(np.diff(filled, axis=-1))
    out = {
        "mean": mean,
        "rms": rms,
        "ptp": hi - lo,
        "max_step": step.max(-1),
        "nan_frac": nan_frac,
        "zero_frac": _frac(block == 0),
        "flat_frac": _frac(step <= 1e-12 * scale),
        "clip_frac": _clip_frac(block, hi, lo),
        "kurtosis": np.where(var > 0, kurt, 0.0),
    }
    out.update(_spectral(centred, sfreq))
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def _frac(mask: np.ndarray) -> np.ndarray:
    """Share of true samples along the last axis (counting, not averaging floats)."""
    if not mask.any():  # the usual case, and ~20x faster to tell than to count
        return np.zeros(mask.shape[:-1])
    return np.count_nonzero(mask, axis=-1) / max(1, mask.shape[-1])


def _clip_frac(block: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Share of samples at the window's maximum or minimum (all of them when flat)."""
    at_hi = np.count_nonzero(block == hi[..., None], axis=-1)
    at_lo = np.count_nonzero(block == lo[..., None], axis=-1)
    return np.where(hi == lo, at_hi, at_hi + at_lo) / max(1, block.shape[-1])


# While shared_features() is active: [(recording, WindowFeatures)] computed so far.
_SHARED: list[tuple[TimeSeries, WindowFeatures]] | None = None
_SHARED_LOCK = threading.Lock()
_SHARED_DEPTH = 0


@contextmanager
def shared_features() -> Iterator[None]:
    """Within this block, :func:`window_features` computes each window of a recording once.

    A request whose windows (same recording object, same length) were already computed is
    answered from them, also when it asks for a subset (e.g. a hop of 1 s after a hop of
    0.5 s). ``check()`` uses this so rules and anomaly detection share one feature pass.
    The cache is dropped when the outermost block exits.
    """
    global _SHARED, _SHARED_DEPTH
    with _SHARED_LOCK:
        _SHARED_DEPTH += 1
        if _SHARED is None:
            _SHARED = []
    try:
        yield
    finally:
        with _SHARED_LOCK:
            _SHARED_DEPTH -= 1
            if _SHARED_DEPTH == 0:
                _SHARED = None


def _shared_lookup(ts: TimeSeries, length: int, starts: np.ndarray) -> WindowFeatures | None:
    with _SHARED_LOCK:
        entries = list(_SHARED or [])
    for seen, wf in entries:
        if seen is not ts or wf.length != length:
            continue
        rows = np.searchsorted(wf.starts, starts)
        if np.any(rows >= wf.n_windows) or not np.array_equal(wf.starts[rows], starts):
            continue
        return wf if len(rows) == wf.n_windows else wf.subset(rows)
    return None


def _blocks(n_windows: int, per_block: int) -> Iterator[slice]:
    for start in range(0, n_windows, per_block):
        yield slice(start, min(n_windows, start + per_block))


def window_features(
    ts: TimeSeries,
    *,
    window: float = 1.0,
    hop: float | None = None,
    block_windows: int | None = None,
) -> WindowFeatures:
    """Compute :data:`FEATURES` for every channel and window of ``ts``.

    Parameters
    ----------
    ts : TimeSeries
    window : float
        Window length in seconds. default: 1.
    hop : float | None
        Seconds between window starts. default: ``window`` (no overlap).
    block_windows : int | None
        Windows read per block; bounds memory at about ``block_windows x n_channels x
        window samples x 40`` bytes. default: as many as fit in ~64 MB.

    Returns
    -------
    WindowFeatures
    """
    sfreq = ts.sampling_rate
    length = round(check_positive("window", window) * sfreq)
    step = round(check_positive("hop", hop if hop is not None else window) * sfreq)
    if length < _MIN_SAMPLES:
        raise ParameterError(
            f"window={window} s is only {length} samples at {sfreq:g} Hz; use a longer window."
        )
    if step < 1:
        raise ParameterError(f"hop={hop} s is shorter than one sample; use a longer hop.")
    if 0 < ts.n_times < _MIN_SAMPLES:  # a shorter window has no spectrum or steps to judge
        raise DataValueError(
            f"The recording is only {ts.n_times} sample(s) long ({1e3 * ts.duration:.3g} ms "
            f"at {sfreq:g} Hz); assessing it needs at least {_MIN_SAMPLES}. Check that the "
            "whole recording was read."
        )
    starts = window_starts(ts.n_times, min(length, ts.n_times), step)
    length = min(length, ts.n_times)
    if _SHARED is not None:
        hit = _shared_lookup(ts, length, starts)
        if hit is not None:
            return hit
    n_ch = ts.n_channels
    if block_windows is None:
        block_windows = max(1, int(64e6 // (40 * n_ch * length)))
    # One scale for the whole recording: 'flat' means flat relative to the data's size.
    probe = ts.get_data(0, min(ts.n_times, round(10 * sfreq)))
    scale = float(np.nanmax(np.abs(probe))) if np.isfinite(probe).any() else 1.0
    values = {name: np.empty((len(starts), n_ch), np.float32) for name in FEATURES}
    for block in _blocks(len(starts), block_windows):
        first, last = int(starts[block.start]), int(starts[block.stop - 1]) + length
        data = ts.get_data(first, last)
        offsets = starts[block] - first
        index = offsets[:, None] + np.arange(length)
        windows = data[:, index].transpose(1, 0, 2)  # (n_windows, n_channels, length)
        for name, value in _block_features(windows, sfreq, max(scale, 1e-30)).items():
            values[name][block] = value
    result = WindowFeatures(starts, length, sfreq, tuple(ts.ch_names), values)
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.append((ts, result))
    return result
