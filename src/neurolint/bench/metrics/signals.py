"""Signal-reconstruction metrics in EEGdenoiseNet conventions: RRMSE, CC, SNR, band power."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurolint.core.errors import ParameterError
from neurolint.core.validate import check_positive

from ._common import _check_reduce, _pair, _reduce, _rms, _welch

__all__ = [
    "DEFAULT_BANDS",
    "band_power_error",
    "correlation",
    "rrmse_s",
    "rrmse_t",
    "snr_db",
    "snr_gain",
]

#: Default EEG bands in Hz, ``[low, high)``; clipped to the Nyquist frequency when used.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 80.0),
}


def rrmse_t(clean: Any, denoised: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Relative root-mean-square error in time: RMS(denoised − clean) / RMS(clean).

    0 for a perfect estimate, 1 for an all-zero one; ``inf`` (or ``nan``) for an all-zero
    clean row. RMS is taken along the last axis.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _rms(denoised - clean) / _rms(clean)
    return _reduce(values, reduce)


def rrmse_s(
    clean: Any, denoised: Any, sfreq: float, *, reduce: str | None = "mean"
) -> float | np.ndarray:
    """Relative RMS error of the spectrum: RMS(PSD(denoised) − PSD(clean)) / RMS(PSD(clean)).

    EEGdenoiseNet's RRMSE_spectral. PSD is Welch's estimate (:func:`scipy.signal.welch`):
    Hann window, ``nperseg = min(n_samples, round(sfreq))`` (1 s segments), 50% overlap,
    constant detrend, one-sided, density scaling; RMS is over all its frequency bins.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    sfreq : float
        Sampling rate in Hz.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    sfreq = check_positive("sfreq", sfreq)
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    _, p_clean = _welch(clean, sfreq)
    _, p_den = _welch(denoised, sfreq)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _rms(p_den - p_clean) / _rms(p_clean)
    return _reduce(values, reduce)


def correlation(clean: Any, denoised: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Pearson correlation coefficient of each row pair (EEGdenoiseNet's CC).

    CC = Σ(x − x̄)(y − ȳ) / sqrt(Σ(x − x̄)² Σ(y − ȳ)²) along the last axis; ``nan`` for a
    constant row.

    Parameters
    ----------
    clean, denoised : array_like, shape (..., n_samples)
        Reference and estimate.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    x, y = _pair(clean, denoised, ("clean", "denoised"))
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.sum(x * y, axis=-1) / np.sqrt(np.sum(x * x, axis=-1) * np.sum(y * y, axis=-1))
    return _reduce(values, reduce)


def snr_db(signal: Any, noise: Any, *, reduce: str | None = "mean") -> float | np.ndarray:
    """Signal-to-noise ratio in dB, EEGdenoiseNet convention: 10·log10(RMS(signal) / RMS(noise)).

    Note the ratio of RMS values (amplitudes) under 10·log10, as in EEGdenoiseNet (Zhang et
    al., 2021), not the power ratio: an amplitude ratio of 10 gives 10 dB here, 20 dB in the
    power convention.

    Parameters
    ----------
    signal, noise : array_like, shape (..., n_samples)
        The clean signal and the noise added to it.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    signal, noise = _pair(signal, noise, ("signal", "noise"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(_rms(signal) / _rms(noise))
    return _reduce(values, reduce)


def snr_gain(
    clean: Any, noisy: Any, denoised: Any, *, reduce: str | None = "mean"
) -> float | np.ndarray:
    """SNR improvement in dB: snr_db(clean, denoised − clean) − snr_db(clean, noisy − clean).

    Equals 10·log10(RMS(noisy − clean) / RMS(denoised − clean)) (EEGdenoiseNet convention,
    see :func:`snr_db`); positive when denoising helped.

    Parameters
    ----------
    clean, noisy, denoised : array_like, shape (..., n_samples)
        Reference, input to the denoiser and its output.
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    float | numpy.ndarray
    """
    _check_reduce(reduce)
    clean, noisy = _pair(clean, noisy, ("clean", "noisy"))
    clean, denoised = _pair(clean, denoised, ("clean", "denoised"))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(_rms(noisy - clean) / _rms(denoised - clean))
    return _reduce(values, reduce)


def band_power_error(
    clean: Any,
    estimate: Any,
    sfreq: float,
    bands: Mapping[str, tuple[float, float]] | None = None,
    *,
    reduce: str | None = "mean",
) -> dict[str, float | np.ndarray]:
    """Relative error of band power: |P_band(estimate) − P_band(clean)| / P_band(clean).

    Band power is the Welch PSD (same settings as :func:`rrmse_s`) summed over the bins
    with ``low <= f < high`` times the bin width. Bands are clipped to the Nyquist
    frequency; bands starting at or above it are left out.

    Parameters
    ----------
    clean, estimate : array_like, shape (..., n_samples)
        Reference and estimate.
    sfreq : float
        Sampling rate in Hz.
    bands : mapping of str to (float, float) | None, default: None
        ``{name: (low, high)}`` in Hz; ``None``: :data:`DEFAULT_BANDS` (delta 1–4, theta 4–8,
        alpha 8–13, beta 13–30, gamma 30–80).
    reduce : {"mean", None}, default: "mean"
        ``"mean"``: mean over rows (float); ``None``: one value per row.

    Returns
    -------
    dict
        Band name → mean relative error (or per-row array).
    """
    _check_reduce(reduce)
    sfreq = check_positive("sfreq", sfreq)
    clean, estimate = _pair(clean, estimate, ("clean", "estimate"))
    bands = DEFAULT_BANDS if bands is None else bands
    nyquist = sfreq / 2
    freqs, p_clean = _welch(clean, sfreq)
    _, p_est = _welch(estimate, sfreq)
    df = freqs[1] - freqs[0]
    out: dict[str, float | np.ndarray] = {}
    for name, (low, high) in bands.items():
        low, high = float(low), float(high)
        if not 0 <= low < high:
            raise ParameterError(f"Band {name!r} = ({low}, {high}) Hz needs 0 <= low < high.")
        if low >= nyquist:
            continue
        sel = (freqs >= low) & (freqs < min(high, nyquist))
        if not sel.any():
            raise ParameterError(
                f"Band {name!r} ({low}-{high} Hz) holds no frequency bin at the {df:g} Hz "
                "resolution of these rows; pass longer rows or wider bands."
            )
        pow_clean = p_clean[..., sel].sum(axis=-1) * df
        pow_est = p_est[..., sel].sum(axis=-1) * df
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = _reduce(np.abs(pow_est - pow_clean) / pow_clean, reduce)
    return out
