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

from collections.abc import Iterator

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
        and low-frequency power of the window. :class:`StandardisedFeatures` gives the same
        values a block of windows at a time.
    """
    return StandardisedFeatures(wf).block(0, wf.n_windows)


class StandardisedFeatures:
    """:func:`anomaly_features` of a recording, made a block of windows at a time.

    The per-channel medians and MADs are computed once, over every window; the values
    themselves only when asked for, so an hour of 64 channels (31 MB as one array) never
    has to exist at once.

    Parameters
    ----------
    wf : WindowFeatures
    sample : numpy.ndarray | None
        Sorted row indices (row ``w * n_channels + c``) to gather while the medians are
        computed, so that :meth:`take` of exactly these rows needs no pass of its own (the
        rows a model is fitted on). default: ``None``.
    """

    def __init__(self, wf: WindowFeatures, sample: np.ndarray | None = None) -> None:
        self.wf = wf
        v = wf.values
        # Floors relative to each channel's typical size, so log() never sees 0 and a flat
        # channel reads as "very small" rather than -inf.
        self._amp_floor = 1e-3 * np.median(v["rms"], axis=0) + 1e-30
        self._center, self._scale = [], []
        self._sample = None if sample is None else np.asarray(sample, np.int64)
        n_ch = len(CHANNEL_FEATURES)
        if self._sample is not None:
            win, chan = np.divmod(self._sample, len(wf.channels))
            gathered = np.empty((len(self._sample), len(FEATURE_NAMES)), np.float32)
            windows, where = np.unique(win, return_inverse=True)
            context = np.empty((len(windows), len(wf.channels), len(CONTEXT_FEATURES)), np.float32)
        # One feature at a time: the whole-recording columns are transients.
        for i, x in enumerate(self._columns(slice(None))):
            center, scale = _robust_center_scale(x, 0, _MAD_FLOOR)
            self._center.append(center)
            self._scale.append(scale)
            if self._sample is None:
                continue
            # The same float32 arithmetic as _windows(), on the gathered elements only.
            gathered[:, i] = np.clip(
                (x[win, chan] - center[0, chan]) / scale[0, chan], _LOW_CLIP[i], _CLIP
            )
            if i in _CONTEXT_OF:
                k = _CONTEXT_OF.index(i)
                context[:, :, k] = np.clip((x[windows] - center) / scale, _LOW_CLIP[i], _CLIP)
        if self._sample is not None:
            gathered[:, n_ch] = 10.0 * np.maximum(
                v["nan_frac"][win, chan], v["flat_frac"][win, chan]
            )
            gathered[:, n_ch + 1 :] = np.median(context, axis=1)[where]
            self._gathered = gathered

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.wf.n_windows, len(self.wf.channels), len(FEATURE_NAMES))

    @property
    def n_rows(self) -> int:
        """Channel-windows: ``n_windows * n_channels``."""
        return self.shape[0] * self.shape[1]

    @property
    def sample(self) -> np.ndarray:
        """The rows given as ``sample`` (every row when none was given)."""
        return np.arange(self.n_rows) if self._sample is None else self._sample

    def _columns(self, rows: slice | np.ndarray) -> Iterator[np.ndarray]:
        """The features of :data:`CHANNEL_FEATURES` on windows ``rows``, in order, before
        scaling (one at a time)."""
        v, amp_floor = self.wf.values, self._amp_floor
        pow_floor = amp_floor**2

        def log_amp(name: str) -> np.ndarray:
            return np.log(v[name][rows] + amp_floor)

        log_rms = log_amp("rms")  # also the denominator of crest and step_ratio
        for name in CHANNEL_FEATURES:
            if name == "kurtosis":
                kurt = v["kurtosis"][rows]
                x = np.sign(kurt) * np.log1p(np.abs(kurt))
            elif name == "line":
                x = np.log(np.maximum(v["line_50"][rows], v["line_60"][rows]) + 1e-6)
            elif name == "crest":
                x = log_amp("ptp") - log_rms
            elif name == "step_ratio":
                x = log_amp("max_step") - log_rms
            elif name == "log_rms":
                x = log_rms
            elif name in _AMPLITUDES:
                x = log_amp(_AMPLITUDES[name])
            else:  # a power of exactly 0 (an all-constant recording) reads as -_CLIP
                with np.errstate(divide="ignore"):
                    x = np.log(v[_POWERS[name]][rows] + pow_floor)
            with np.errstate(invalid="ignore"):
                yield np.nan_to_num(x, nan=_CLIP, posinf=_CLIP, neginf=-_CLIP)

    def block(self, w0: int, w1: int) -> np.ndarray:
        """The standardised features of windows ``w0:w1``, ``(w1 - w0, n_channels, n)``."""
        return self._windows(slice(w0, w1))

    def _windows(self, rows: slice | np.ndarray) -> np.ndarray:
        v = self.wf.values
        n_ch = len(CHANNEL_FEATURES)
        n = len(range(*rows.indices(self.wf.n_windows))) if isinstance(rows, slice) else len(rows)
        out = np.empty((n, *self.shape[1:]), np.float32)
        for i, x in enumerate(self._columns(rows)):
            out[..., i] = np.clip((x - self._center[i]) / self._scale[i], _LOW_CLIP[i], _CLIP)
        out[..., n_ch] = 10.0 * np.maximum(v["nan_frac"][rows], v["flat_frac"][rows])
        out[..., n_ch + 1 :] = np.median(out[..., list(_CONTEXT_OF)], axis=1, keepdims=True)
        return out

    def rows(self, a: int, b: int) -> np.ndarray:
        """Channel-windows ``a:b`` in window-major order (row ``w * n_channels + c``)."""
        n_ch = self.shape[1]
        w0, w1 = a // n_ch, -(-b // n_ch)
        return self.block(w0, w1).reshape(-1, self.shape[2])[a - w0 * n_ch : b - w0 * n_ch]

    def take(self, index: np.ndarray, rows: int = 65_536) -> np.ndarray:
        """The channel-windows at the sorted row ``index``, made a block of about ``rows``
        channel-windows at a time (or gathered already, for the ``sample`` given)."""
        if self._sample is not None and np.array_equal(index, self._sample):
            return self._gathered
        n_ch = self.shape[1]
        windows = max(1, rows // n_ch)
        out = np.empty((len(index), self.shape[2]), np.float32)
        for w0 in range(0, self.shape[0], windows):
            lo, hi = np.searchsorted(index, [w0 * n_ch, (w0 + windows) * n_ch])
            if hi > lo:
                out[lo:hi] = self.rows(w0 * n_ch, (w0 + windows) * n_ch)[index[lo:hi] - w0 * n_ch]
        return out

    def at(self, windows: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """The features of the channel-windows ``(windows[i], channels[i])``, ``(k, n)``."""
        windows = np.asarray(windows, np.int64)
        if len(windows) == 0:
            return np.zeros((0, self.shape[2]), np.float32)
        unique, where = np.unique(windows, return_inverse=True)
        return self._windows(unique)[where, np.asarray(channels, np.int64)]


_AMPLITUDES = {"log_ptp": "ptp", "log_max_step": "max_step"}
# The channel features whose median across channels is each window's context, in order.
_CONTEXT_OF = tuple(CHANNEL_FEATURES.index(n) for n in ("log_rms", "log_hf", "log_lf"))
_POWERS = {
    "log_lf": "lf_power",
    "log_delta": "band_delta",
    "log_theta": "band_theta",
    "log_alpha": "band_alpha",
    "log_beta": "band_beta",
    "log_hf": "hf_power",
}


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def _subsample(n: int, max_rows: int, seed: int) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
