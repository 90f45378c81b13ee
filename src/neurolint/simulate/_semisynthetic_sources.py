"""Source preparation for the semisynthetic simulator.

Reads the source recordings, picks clean (posterior EEG) and EOG channels, resamples and
band-passes each train/test segment on its own, cuts blink-free clean epochs and
blink-centred EOG epochs from it, and simulates EMG-like artifact epochs. SciPy is imported
inside the functions that use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import DataValueError, ParameterError
from ._truth import iter_runs

MISSING_SOURCE = (
    "semisynthetic needs real EEG to start from: pass source=PATH (--source PATH), "
    "e.g. ../shared/data/eeg/eeglab_data.set"
)

# Channel names: posterior EEG (P*, PO*, O*), EOG, and frontal-polar channels that see blinks.
_POSTERIOR = re.compile(r"^(p|po|o)(\d+|z)?$", re.IGNORECASE)
_EOG_NAME = re.compile(r"^[vh]?eog", re.IGNORECASE)
_FRONTOPOLAR = re.compile(r"^fp(\d+|z)$", re.IGNORECASE)
# Blink-band and EEG robust z-scores use the MAD scaled to a Gaussian standard deviation.
_MAD_TO_SD = 1.4826
# Smallest RMS (volts) of a usable clean epoch: rejects flat or disconnected channels.
_MIN_RMS = 1e-9


@dataclass
class _Epochs:
    """Epochs cut from one split of the sources, with their catalogue."""

    data: np.ndarray  # (n, n_samples) float64 volts
    source: np.ndarray
    channel: np.ndarray
    onset: np.ndarray

    @classmethod
    def empty(cls, length: int) -> _Epochs:
        return cls(np.zeros((0, length)), np.zeros(0, np.int64), np.zeros(0, "<U1"), np.zeros(0))

    @classmethod
    def concat(cls, parts: list[_Epochs], length: int) -> _Epochs:
        parts = [p for p in parts if len(p.data)] or [cls.empty(length)]
        return cls(
            np.concatenate([p.data for p in parts]),
            np.concatenate([p.source for p in parts]).astype(np.int64),
            np.concatenate([p.channel.astype(str) for p in parts]),
            np.concatenate([p.onset for p in parts]).astype(np.float64),
        )


def _as_sources(source: Any) -> list[Any]:
    from ..core.timeseries import TimeSeries

    if source is None:
        raise ParameterError(MISSING_SOURCE)
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise ParameterError(MISSING_SOURCE)
    out = []
    for item in items:
        if isinstance(item, TimeSeries):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            from ..io import read

            ts = read(item)
            if not isinstance(ts, TimeSeries):
                raise ParameterError(
                    f"source {item} is not a time series recording; pass an EEG recording."
                )
            out.append(ts)
        else:
            raise ParameterError(
                f"source={item!r} is neither a path nor a TimeSeries; pass a recording path "
                "(--source PATH) or a TimeSeries."
            )
    return out


def _source_name(ts: Any, index: int) -> str:
    return Path(ts.source).name if ts.source else f"timeseries{index}"


def _pick(ts: Any, names: Sequence[str] | None, auto: np.ndarray) -> np.ndarray:
    if names is not None:
        return ts.channels.index(list(names))
    return np.flatnonzero(auto)


def _clean_channels(ts: Any, names: Sequence[str] | None) -> np.ndarray:
    info = ts.channels
    is_eeg = np.array([t == "eeg" for t in info.types])
    by_name = np.array([bool(_POSTERIOR.match(n)) for n in info.names]) & is_eeg
    auto = by_name
    if not by_name.any() and info.positions is not None:
        y = info.positions[:, 1]
        auto = is_eeg & np.isfinite(y) & (y < 0)
    index = _pick(ts, names, auto)
    if len(index) == 0:
        raise ParameterError(
            f"No posterior EEG channel (P*, PO*, O* or position y < 0) in "
            f"{_source_name(ts, 0)}; name clean channels with clean_channels=[...]."
        )
    return index


def _eog_channels(ts: Any, names: Sequence[str] | None) -> np.ndarray:
    info = ts.channels
    auto = np.array(
        [
            t == "eog" or bool(_EOG_NAME.match(n)) or bool(_FRONTOPOLAR.match(n))
            for n, t in zip(info.names, info.types, strict=True)
        ]
    )
    return _pick(ts, names, auto)


def _robust_z(x: np.ndarray) -> np.ndarray:
    """Per-row (x - median) / (1.4826 MAD); flat rows give zeros."""
    med = np.median(x, axis=-1, keepdims=True)
    mad = _MAD_TO_SD * np.median(np.abs(x - med), axis=-1, keepdims=True)
    return (x - med) / np.where(mad > 0, mad, np.inf)


def _bandpass(x: np.ndarray, band: tuple[float, float], fs: float) -> np.ndarray:
    from scipy import signal

    sos = signal.butter(4, band, btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, axis=-1)


def _resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    from scipy import signal

    ratio = Fraction(rate_out / rate_in).limit_denominator(1000)
    if ratio == 1:
        return x
    return signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


def _segment_bounds(duration: float, test_fraction: float, guard: float) -> dict[str, tuple]:
    """Seconds ``(start, stop)`` of each split: train first, a guard gap, then test."""
    boundary = (1.0 - test_fraction) * duration
    return {"train": (0.0, boundary - guard), "test": (boundary, duration)}


def _prepare_split(
    ts: Any,
    src: int,
    start_s: float,
    stop_s: float,
    clean_idx: np.ndarray,
    eog_idx: np.ndarray,
    cfg: dict[str, Any],
) -> tuple[_Epochs, _Epochs, list[dict[str, Any]]]:
    """Clean and blink epochs of one time segment of one source."""
    from scipy import signal

    from ..core.channels import unit_scale

    fs_in = ts.sampling_rate
    fs = cfg["sampling_rate"]
    length = cfg["length"]
    a, b = int(np.ceil(start_s * fs_in)), int(np.floor(stop_s * fs_in))
    picks = np.concatenate([clean_idx, eog_idx]).astype(np.int64)
    info = ts.channels
    scale = np.array([unit_scale(info.units[i], info.names[i]) for i in picks])
    raw = ts.get_data(a, b, channels=picks).astype(np.float64) * scale[:, None]
    if not np.isfinite(raw).all():
        raise DataValueError(
            f"{_source_name(ts, src)} holds NaN or infinite samples; interpolate or crop them."
        )
    # Filter each segment on its own: no filter memory crosses the train/test boundary.
    x = _resample(raw, fs_in, fs)
    n = x.shape[1]
    t0 = a / fs_in
    eeg = _bandpass(x[: len(clean_idx)], cfg["eeg_band"], fs)
    names = np.array(info.names)

    # Blink-band EOG and its robust z (statistics of this segment only).
    bad = np.zeros(n, dtype=bool)
    blinks: list[dict[str, Any]] = []
    eog_parts: list[_Epochs] = []
    if len(eog_idx):
        eog = _bandpass(x[len(clean_idx) :], cfg["eog_band"], fs)
        z = np.abs(_robust_z(eog))
        zmax = z.max(axis=0)
        margin = round(cfg["margin"] * fs)
        busy = np.convolve((zmax > cfg["clean_threshold"]).astype(float), np.ones(2 * margin + 1))
        bad = busy[margin : margin + n] > 0.5
        half = length // 2
        peaks, _ = signal.find_peaks(
            zmax, height=cfg["blink_threshold"], distance=max(round(1.0 * fs), 1)
        )
        peaks = peaks[(peaks - half >= 0) & (peaks + half <= n)]
        if len(peaks):
            # A channel contributes a waveform where the blink itself crosses the threshold.
            near = max(round(0.1 * fs), 1)
            win = peaks[:, None] + np.arange(-near, near + 1)
            peak_z = z[:, np.clip(win, 0, n - 1)].max(axis=2)  # (n_eog, n_peaks)
            ch, pk = np.nonzero(peak_z >= cfg["blink_threshold"])
            starts = peaks[pk] - half
            seg = signal.detrend(eog[ch[:, None], starts[:, None] + np.arange(length)], axis=-1)
            # Keep epochs whose largest deflection is the blink at their centre (not a
            # neighbour in a flurry of blinks or an eye movement at the edge).
            centred = np.abs(np.argmax(np.abs(seg), axis=1) - half) <= round(0.25 * fs)
            ch, pk, starts, seg = ch[centred], pk[centred], starts[centred], seg[centred]
            eog_parts.append(
                _Epochs(
                    seg,
                    np.full(len(ch), src),
                    names[eog_idx[ch]],
                    t0 + starts / fs,
                )
            )
            for j, p in enumerate(peaks):
                used = ch[pk == j]
                if len(used):
                    blinks.append(
                        {
                            "onset": float(t0 + (p - half) / fs),
                            "peak": float(t0 + p / fs),
                            "channels": tuple(names[eog_idx[used]].tolist()),
                            "z": float(peak_z[:, j].max()),
                        }
                    )

    # Clean epochs: tile each blink-free run with whole epochs, then drop epochs whose own
    # channel has large deflections (robust z above max_clean_z) or is flat.
    starts = np.concatenate(
        [np.arange(s, e - length + 1, length) for s, e in iter_runs(~bad)] or [np.zeros(0, int)]
    ).astype(np.int64)
    clean = _Epochs.empty(length)
    if len(starts):
        zc = np.abs(_robust_z(eeg))
        idx = starts[:, None] + np.arange(length)
        ep = eeg[:, idx]  # (n_clean_ch, n_windows, length)
        peak = zc[:, idx].max(axis=2)
        ep = signal.detrend(ep, axis=-1)
        rms = np.sqrt(np.mean(ep**2, axis=-1))
        ok = (peak <= cfg["max_clean_z"]) & (rms > _MIN_RMS)
        ch, w = np.nonzero(ok)
        clean = _Epochs(ep[ch, w], np.full(len(ch), src), names[clean_idx[ch]], t0 + starts[w] / fs)
    eog_epochs = _Epochs.concat(eog_parts, length)
    return clean, eog_epochs, blinks


# -- simulated EMG ---------------------------------------------------------------------------
def _simulate_emg(
    rng: np.random.Generator, n: int, length: int, fs: float, band: tuple[float, float]
) -> np.ndarray:
    """EMG-like epochs: band-limited Gaussian noise under a bursty envelope (arbitrary units).

    The spectrum is a 4th-order Butterworth band-pass (broad, like the facial EMG of
    EEGdenoiseNet); the envelope is a tonic floor plus 1-4 Gaussian bursts 0.2-0.8 s long,
    smooth enough (a few Hz wide) to leave the power above the band's lower edge.
    """
    from scipy import signal

    freqs = np.fft.rfftfreq(length, 1.0 / fs)
    sos = signal.butter(4, band, btype="bandpass", fs=fs, output="sos")
    _, response = signal.sosfreqz(sos, worN=freqs, fs=fs)
    spectra = rng.standard_normal((n, len(freqs))) + 1j * rng.standard_normal((n, len(freqs)))
    noise = np.fft.irfft(spectra * np.abs(response), n=length, axis=1)
    t = np.arange(length) / fs
    max_bursts = 4
    n_bursts = rng.integers(1, max_bursts + 1, size=n)
    centres = rng.uniform(0.0, length / fs, size=(n, max_bursts))
    widths = rng.uniform(0.2, 0.8, size=(n, max_bursts)) / 4.0  # Gaussian sd = width / 4
    heights = rng.uniform(0.5, 1.5, size=(n, max_bursts)) * (
        np.arange(max_bursts) < n_bursts[:, None]
    )
    tonic = rng.uniform(0.1, 0.3, size=n)
    bursts = heights[..., None] * np.exp(-0.5 * ((t - centres[..., None]) / widths[..., None]) ** 2)
    envelope = tonic[:, None] + bursts.sum(axis=1)
    return noise * envelope
