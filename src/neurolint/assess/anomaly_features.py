"""Standardised features of every channel-window for the anomaly detectors.

The feature constants (:data:`CHANNEL_FEATURES`, :data:`CONTEXT_FEATURES`,
:data:`FEATURE_NAMES`), the robust-z thresholds of ``contamination="auto"``
(:data:`AUTO_THRESHOLDS`), :func:`anomaly_features`, which turns
:func:`~neurolint.assess.features.window_features` into log amplitudes, band powers and ratios
robustly standardised per channel plus window context, and the small row helpers the models
share (robust centre and scale, flattening to rows, the fitting subsample). The detectors live
in :mod:`neurolint.assess.anomaly`, which re-exports the public names.
"""

from __future__ import annotations

import numpy as np

from .features import WindowFeatures

#: Per channel-window features (robustly standardised per channel), then window context.
CHANNEL_FEATURES = (
    "log_rms",
    "log_ptp",
    "log_max_step",
    "log_lf",
    "log_delta",
    "log_theta",
    "log_alpha",
    "log_beta",
    "log_hf",
    "kurtosis",
    "line",
    "crest",
    "step_ratio",
)
CONTEXT_FEATURES = ("ctx_rms", "ctx_hf", "ctx_lf")
FEATURE_NAMES = (*CHANNEL_FEATURES, "dropout", *CONTEXT_FEATURES)

#: Robust-z thresholds for ``contamination="auto"``, tuned on clean simulated EEG with
#: training seeds (< 10 000) by ``neurolint.bench.tasks.anomaly.tune``: the lowest threshold
#: that keeps 64-channel clean recordings under about 0.3 false alarms per minute.
AUTO_THRESHOLDS = {
    "iforest": 5.5,
    "autoencoder": 10.5,
    "mean": 7.25,
    "max": 9.0,
    "min": 7.0,
}

_MAD_FLOOR = 0.05  # log units: a channel whose feature never varies is not infinitely sensitive
_CLIP = 30.0  # standardised features beyond this carry no extra information
# Below the median, narrow-band log powers of 1 s windows are heavy-tailed (few spectral
# bins) and a deficit is what flat and dropout rules find; cut the low side short.
_LOW_CLIP = np.array([-6.0, -6.0, -6.0, -3.0, -3.0, -3.0, -3.0, -3.0, -6.0, -6.0, -3.0, -6.0, -6.0])
_MAX_FIT_ROWS = 50_000  # channel-windows used to fit a model (scoring uses them all)


def _robust_center_scale(x: np.ndarray, axis: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Median and 1.4826 x MAD along ``axis`` (a normal's standard deviation), floored."""
    center = np.median(x, axis=axis, keepdims=True)
    scale = 1.4826 * np.median(np.abs(x - center), axis=axis, keepdims=True)
    return center, np.maximum(scale, floor)


def anomaly_features(wf: WindowFeatures) -> np.ndarray:
    """Standardised anomaly features of every channel-window.

    Parameters
    ----------
    wf : WindowFeatures
        From :func:`~neurolint.assess.features.window_features`.

    Returns
    -------
    numpy.ndarray
        ``(n_windows, n_channels, len(FEATURE_NAMES))`` float32: the features of
        :data:`CHANNEL_FEATURES`, each minus the channel's median over windows and divided by
        1.4826 x its MAD (at least 0.05), clipped to [-3, 30] (band powers, mains ratio) or
        [-6, 30]; ``dropout`` (the larger of the NaN and flat fractions, x 10); and
        :data:`CONTEXT_FEATURES`, medians across channels of the standardised log rms, high-
        and low-frequency power of the window.
    """
    v = wf.values
    # Floors relative to each channel's typical size, so log() never sees 0 and a flat
    # channel reads as "very small" rather than -inf.
    amp_floor = 1e-3 * np.median(v["rms"], axis=0) + 1e-30
    pow_floor = amp_floor**2

    def log_amp(name: str) -> np.ndarray:
        return np.log(v[name] + amp_floor)

    def log_pow(name: str) -> np.ndarray:
        return np.log(v[name] + pow_floor)

    def kurtosis() -> np.ndarray:
        kurt = v["kurtosis"]
        return np.sign(kurt) * np.log1p(np.abs(kurt))

    log_rms = log_amp("rms")
    columns = (
        lambda: log_rms,
        lambda: log_amp("ptp"),
        lambda: log_amp("max_step"),
        lambda: log_pow("lf_power"),
        lambda: log_pow("band_delta"),
        lambda: log_pow("band_theta"),
        lambda: log_pow("band_alpha"),
        lambda: log_pow("band_beta"),
        lambda: log_pow("hf_power"),
        kurtosis,
        lambda: np.log(np.maximum(v["line_50"], v["line_60"]) + 1e-6),
        lambda: log_amp("ptp") - log_rms,
        lambda: log_amp("max_step") - log_rms,
    )
    n_ch = len(CHANNEL_FEATURES)
    # Filled one feature at a time: an hour of 64 channels is 460,800 rows, and stacking
    # every feature before standardising held several full copies at once.
    out = np.empty((*log_rms.shape, len(FEATURE_NAMES)), np.float32)
    for i, column in enumerate(columns):
        x = column()
        with np.errstate(invalid="ignore"):
            x = np.nan_to_num(x, nan=_CLIP, posinf=_CLIP, neginf=-_CLIP)
        center, scale = _robust_center_scale(x, axis=0, floor=_MAD_FLOOR)
        out[..., i] = np.clip((x - center) / scale, _LOW_CLIP[i], _CLIP)
    out[..., n_ch] = 10.0 * np.maximum(v["nan_frac"], v["flat_frac"])
    idx = [CHANNEL_FEATURES.index(n) for n in ("log_rms", "log_hf", "log_lf")]
    out[..., n_ch + 1 :] = np.median(out[..., idx], axis=1, keepdims=True)
    return out


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def _subsample(n: int, max_rows: int, seed: int) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
