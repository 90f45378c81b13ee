"""Unsupervised anomaly detection: what looks unlike the rest of the recording.

Two detectors score every channel-window against a model of "normal" learnt without labels,
from the recording itself (default) or from a reference recording:

- :class:`IsolationForestDetector`: scikit-learn's isolation forest over window features;
- :class:`AutoencoderDetector`: a small dense autoencoder (trained with torch for a fixed
  number of steps, run in numpy afterwards) whose reconstruction error is the score;
- :class:`AnomalyDetector`: both, their scores combined by a rule (mean by default).

Features come from :func:`neurolint.assess.features.window_features` (1 s windows every 0.5 s
by default): log amplitudes (rms, peak-to-peak, largest step), log band powers, kurtosis, the
mains ratio, crest and step-to-rms ratios, each robustly standardised per channel (median and
MAD over the recording's own windows, since channels differ in scale), plus window context
(medians across channels). Scores are robust z-scores (median and MAD over the fitting
windows); a window is anomalous on a channel when its score passes a threshold that keeps
clean simulated EEG (training seeds < 10 000) under about 0.3 false alarms per minute on 64
channels (``neurolint.bench.tasks.anomaly.tune``). Flagged windows that touch in time become
one ``anomaly`` event listing the flagged channels; :func:`suppress_known` then drops the
events that a known kind (blink, pop, ...) explains, so only the unexplained remain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core.errors import EmptyRecordingError, ParameterError
from ..core.findings import Finding
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from .base import Detection, runs
from .features import WindowFeatures, window_features

__all__ = [
    "AUTO_THRESHOLDS",
    "FEATURE_NAMES",
    "AnomalyDetector",
    "AutoencoderDetector",
    "IsolationForestDetector",
    "anomaly_features",
    "suppress_known",
]

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

    log_rms = log_amp("rms")
    kurt = v["kurtosis"]
    channel = np.stack(
        [
            log_rms,
            log_amp("ptp"),
            log_amp("max_step"),
            log_pow("lf_power"),
            log_pow("band_delta"),
            log_pow("band_theta"),
            log_pow("band_alpha"),
            log_pow("band_beta"),
            log_pow("hf_power"),
            np.sign(kurt) * np.log1p(np.abs(kurt)),
            np.log(np.maximum(v["line_50"], v["line_60"]) + 1e-6),
            log_amp("ptp") - log_rms,
            log_amp("max_step") - log_rms,
        ],
        axis=-1,
    )
    with np.errstate(invalid="ignore"):
        channel = np.nan_to_num(channel, nan=_CLIP, posinf=_CLIP, neginf=-_CLIP)
    center, scale = _robust_center_scale(channel, axis=0, floor=_MAD_FLOOR)
    channel = np.clip((channel - center) / scale, _LOW_CLIP, _CLIP)
    dropout = 10.0 * np.maximum(v["nan_frac"], v["flat_frac"])[..., None]
    idx = [CHANNEL_FEATURES.index(n) for n in ("log_rms", "log_hf", "log_lf")]
    context = np.median(channel[..., idx], axis=1, keepdims=True)
    context = np.broadcast_to(context, (*channel.shape[:2], len(idx)))
    return np.concatenate([channel, dropout, context], axis=-1).astype(np.float32)


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def _subsample(n: int, max_rows: int, seed: int) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


@dataclass(frozen=True)
class _Scored:
    """Per channel-window robust z-scores of one recording, and what they came from."""

    z: np.ndarray  # (n_windows, n_channels)
    features: np.ndarray  # (n_windows, n_channels, n_features)
    wf: WindowFeatures
    threshold: float


class _BaseAnomaly:
    """Shared machinery: features, robust z-scores, thresholds, events and quality."""

    name = "anomaly"
    _auto_key = "iforest"

    def __init__(
        self,
        contamination: str | float = "auto",
        window: float = 1.0,
        hop: float = 0.5,
        random_state: int = 0,
        reference: TimeSeries | None = None,
    ) -> None:
        self.contamination = contamination
        self.window = window
        self.hop = hop
        self.random_state = random_state
        self.reference = reference

    # -- parameters ---------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, as scikit-learn's ``get_params`` (shallow)."""
        import inspect

        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    def _clone(self) -> _BaseAnomaly:
        return type(self)(**self.get_params())

    def _validate(self) -> None:
        check_positive("window", self.window)
        check_positive("hop", self.hop)
        if isinstance(self.contamination, str):
            check_option("contamination", self.contamination, ("auto",))
        else:
            c = check_positive("contamination", self.contamination)
            if not 0.0 < c < 0.5:
                raise ParameterError(
                    f"contamination={self.contamination!r} must be 'auto' or a fraction in "
                    "(0, 0.5), the expected share of anomalous channel-windows."
                )
        if not isinstance(self.random_state, int | np.integer):
            raise ParameterError(f"random_state={self.random_state!r} must be an integer seed.")
        if self.reference is not None and not isinstance(self.reference, TimeSeries):
            raise ParameterError(
                "reference must be a neurolint TimeSeries (read it with neurolint.read)."
            )

    # -- features -----------------------------------------------------------------------------
    def feature_windows(self, ts: TimeSeries) -> list[tuple[float, float]]:
        """``(window, hop)`` in seconds of the window features fit/detect will ask for."""
        return [(float(self.window), float(self.hop))]

    def _features(self, ts: Any, wf: WindowFeatures | None) -> tuple[np.ndarray, WindowFeatures]:
        if not isinstance(ts, TimeSeries):
            raise ParameterError(
                f"Expected a neurolint TimeSeries, got {type(ts).__name__}; wrap arrays with "
                "neurolint.TimeSeries(data, sampling_rate)."
            )
        if ts.n_times == 0:
            raise EmptyRecordingError("The recording has no samples; nothing to assess.")
        seen = getattr(self, "_seen", None)
        if wf is None and seen is not None and seen[0] is ts:
            wf = seen[1]  # fit() then detect() on one recording: one feature pass
        if wf is None:
            wf = window_features(ts, window=self.window, hop=self.hop)
            self._seen = (ts, wf)
        else:
            length = round(self.window * ts.sampling_rate)
            hop = round(self.hop * ts.sampling_rate)
            same_hop = wf.n_windows < 2 or int(wf.starts[1] - wf.starts[0]) == hop
            if wf.length != min(length, ts.n_times) or not same_hop:
                raise ParameterError(
                    f"features were computed with other windows than window={self.window} s, "
                    f"hop={self.hop} s; compute them with those, or pass features=None."
                )
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[0] is wf:
            return memo[1], wf
        feats = anomaly_features(wf)
        self._memo = (wf, feats, None)
        return feats, wf

    # -- model hooks (subclasses) -------------------------------------------------------------
    def _fit_model(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        """Higher = more anomalous, one per row."""
        raise NotImplementedError

    def _fit_scored(self, rows: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
        """Fit on ``rows[fit_rows]``; return the raw scores of all ``rows``."""
        self._fit_model(rows[fit_rows])
        return self._raw_scores(rows)

    # -- fit / detect -------------------------------------------------------------------------
    def _fit_features(self, feats: np.ndarray) -> np.ndarray:
        """Fit on ``(n_windows, n_channels, n_features)``; return their robust z-scores."""
        self._validate()
        rows = _rows(feats)
        raw = self._fit_scored(rows, _subsample(len(rows), _MAX_FIT_ROWS, int(self.random_state)))
        center, scale = _robust_center_scale(raw, axis=0, floor=1e-12)
        self.center_, self.scale_ = float(center[0]), float(scale[0])
        z = (raw - self.center_) / self.scale_
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[1] is feats:
            # detect() on the recording just fitted reads these scores instead of rescoring.
            self._memo = (memo[0], feats, z.reshape(feats.shape[:2]))
        if self.contamination == "auto":
            self.threshold_ = float(AUTO_THRESHOLDS[self._auto_key])
        else:
            self.threshold_ = float(np.quantile(z, 1.0 - float(self.contamination)))
        self.n_features_in_ = feats.shape[-1]
        return z.reshape(feats.shape[:2])

    def fit(
        self, ts: TimeSeries | None = None, *, features: WindowFeatures | None = None
    ) -> _BaseAnomaly:
        """Learn what normal windows look like.

        Parameters
        ----------
        ts : TimeSeries | None
            The recording to learn from. default: ``None`` (the ``reference`` given at
            construction).
        features : WindowFeatures | None
            Precomputed :func:`window_features` of ``ts`` with this detector's ``window`` and
            ``hop``, to avoid computing them twice. default: ``None``.

        Returns
        -------
        self
        """
        self._validate()
        if ts is None:
            if self.reference is None:
                raise ParameterError(
                    "fit() needs a recording: pass one, or give reference= when constructing."
                )
            ts, features = self.reference, None
        feats, _ = self._features(ts, features)
        self._fit_features(feats)
        return self

    def score(self, ts: TimeSeries, *, features: WindowFeatures | None = None) -> _Scored:
        """Robust z-scores of every channel-window (fitting a copy first if not fitted).

        Parameters
        ----------
        ts : TimeSeries
        features : WindowFeatures | None
            Precomputed window features of ``ts`` (same ``window`` and ``hop``).

        Returns
        -------
        _Scored
            ``z`` ``(n_windows, n_channels)``, the standardised ``features``, the
            :class:`WindowFeatures` and the ``threshold`` that applies to ``z``.
        """
        self._validate()
        feats, wf = self._features(ts, features)
        if self._is_fitted():
            model = self
            if feats.shape[-1] != self.n_features_in_:
                raise ParameterError("The detector was fitted on other features; refit it.")
        else:
            model = self._clone()
            if self.reference is not None:
                model.fit(self.reference)
            else:
                # Fitted on the recording itself: its scores are already at hand.
                z = model._fit_features(feats)
                return _Scored(z.astype(np.float32), feats, wf, model.threshold_)
        memo = getattr(model, "_memo", None)
        if model is self and memo is not None and memo[1] is feats and memo[2] is not None:
            return _Scored(memo[2].astype(np.float32), feats, wf, model.threshold_)
        z = (model._raw_scores(_rows(feats)) - model.center_) / model.scale_
        return _Scored(z.reshape(feats.shape[:2]).astype(np.float32), feats, wf, model.threshold_)

    def _is_fitted(self) -> bool:
        return hasattr(self, "threshold_")

    def detect(self, ts: TimeSeries, *, features: WindowFeatures | None = None) -> Detection:
        """Flag anomalous windows as ``anomaly`` events.

        If the detector was not fitted, a copy is fitted on ``reference`` (if given) or on
        ``ts`` itself; this detector stays unfitted. The input is not modified.

        Parameters
        ----------
        ts : TimeSeries
        features : WindowFeatures | None
            Precomputed :func:`window_features` of ``ts`` with this detector's ``window`` and
            ``hop``. default: ``None``.

        Returns
        -------
        Detection
            ``events``: one ``anomaly`` per run of windows (touching in time) with at least one
            flagged channel, listing the flagged channels, with ``confidence`` (0.5 at the
            threshold, towards 1 above it) and ``extras`` ``{"model", "score", "threshold",
            "features"}`` (the largest standardised features of the worst channel-window);
            ``quality``: ``(n_windows, n_channels)`` over back-to-back ``window``-second
            windows, 1 at a z-score <= 0, 0.5 at the threshold, 0 at twice it; ``traces``:
            ``"score"`` (max z over channels per window) and ``"times"`` (window onsets, s).
        """
        return _to_detection(self.name, self.score(ts, features=features), ts)


def _to_detection(name: str, scored: _Scored, ts: TimeSeries) -> Detection:
    z, wf, threshold = scored.z, scored.wf, scored.threshold
    sfreq = wf.sampling_rate
    flagged = z > threshold
    names = wf.channels
    events: list[Finding] = []
    any_flag = flagged.any(axis=1)
    # Windows overlap when hop < window, so consecutive flagged windows touch in time.
    for k0, k1 in runs(any_flag):
        block = z[k0:k1]
        chans = np.flatnonzero(flagged[k0:k1].any(axis=0))
        w, c = np.unravel_index(int(np.argmax(block)), block.shape)
        peak = float(block[w, c])
        top = np.argsort(-np.abs(scored.features[k0 + w, c]))[:3]
        onset = float(wf.starts[k0]) / sfreq
        offset = float(wf.starts[k1 - 1] + wf.length) / sfreq
        events.append(
            Finding(
                onset=onset,
                duration=offset - onset,
                kind="anomaly",
                channels=tuple(names[i] for i in chans),
                confidence=float(peak / (peak + threshold)) if peak > 0 else 0.5,
                detector=name,
                extras={
                    "model": name,
                    "score": round(peak, 3),
                    "threshold": round(float(threshold), 3),
                    "features": {
                        FEATURE_NAMES[i]: round(float(scored.features[k0 + w, c, i]), 2)
                        for i in top
                    },
                },
            )
        )
    quality = _quality_grid(z, threshold, wf, ts.n_times)
    return Detection(
        detector=name,
        events=events,
        quality=quality,
        window_duration=wf.length / sfreq if wf.length else None,
        traces={"score": z.max(axis=1), "times": wf.onsets},
    )


def _quality_grid(z: np.ndarray, threshold: float, wf: WindowFeatures, n_times: int) -> np.ndarray:
    """Quality on back-to-back windows of ``wf.length`` samples: the worst overlapping window."""
    q = np.clip(1.0 - np.maximum(z, 0.0) / (2.0 * threshold), 0.0, 1.0).astype(np.float32)
    n_grid = max(1, math.ceil(n_times / wf.length))
    centre = wf.starts + wf.length / 2
    cell = np.minimum((centre // wf.length).astype(np.int64), n_grid - 1)
    grid = np.ones((n_grid, z.shape[1]), np.float32)
    np.minimum.at(grid, cell, q)
    return grid


class IsolationForestDetector(_BaseAnomaly):
    """Isolation forest over standardised channel-window features.

    Parameters
    ----------
    contamination : "auto" | float
        ``"auto"``: flag robust z-scores above :data:`AUTO_THRESHOLDS` ``["iforest"]``
        (tuned to hold about 0.3 false alarms per minute on clean EEG); a fraction in
        (0, 0.5): flag that share of the fitting channel-windows. default: ``"auto"``.
    window : float
        Window length in seconds. default: 1.
    hop : float
        Seconds between window starts. default: 0.5.
    random_state : int
        Seed of the forest and of the row subsample. default: 0.
    reference : TimeSeries | None
        A recording to learn "normal" from when :meth:`detect` is called unfitted.
        default: ``None`` (the recording itself).
    n_estimators : int
        Trees. default: 100.

    Attributes
    ----------
    forest_ : sklearn.ensemble.IsolationForest
    center_, scale_ : float
        Median and 1.4826 x MAD of the fitting scores (for the robust z).
    threshold_ : float
        Robust-z threshold.
    """

    name = "anomaly.iforest"
    _auto_key = "iforest"

    def __init__(
        self,
        contamination: str | float = "auto",
        window: float = 1.0,
        hop: float = 0.5,
        random_state: int = 0,
        reference: TimeSeries | None = None,
        n_estimators: int = 100,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference)
        self.n_estimators = n_estimators

    def _fit_model(self, rows: np.ndarray) -> None:
        from sklearn.ensemble import IsolationForest

        n = int(check_positive("n_estimators", self.n_estimators))
        self.forest_ = IsolationForest(
            n_estimators=n, max_samples=256, random_state=int(self.random_state), n_jobs=1
        ).fit(rows)

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples(rows)


class AutoencoderDetector(_BaseAnomaly):
    """Reconstruction error of a small dense autoencoder over channel-window features.

    The autoencoder (features → 32 → ``latent`` (tanh) → 32 → features) is trained with torch
    on the fitting recording for ``n_steps`` Adam steps from a fixed seed (about a second on
    a CPU), with a Huber loss so the few anomalous windows in it pull little; the bounded
    latent cannot extrapolate, so what lies far from normal reconstructs badly. Inference
    runs in numpy. Parameters as :class:`IsolationForestDetector`, plus:

    Parameters
    ----------
    latent : int
        Bottleneck size. default: 4.
    n_steps : int
        Training steps (batches of 512). default: 400.

    Attributes
    ----------
    weights_ : list of (numpy.ndarray, numpy.ndarray)
        Layer weights and biases.
    center_, scale_, threshold_ : float
    """

    name = "anomaly.autoencoder"
    _auto_key = "autoencoder"

    def __init__(
        self,
        contamination: str | float = "auto",
        window: float = 1.0,
        hop: float = 0.5,
        random_state: int = 0,
        reference: TimeSeries | None = None,
        latent: int = 4,
        n_steps: int = 400,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference)
        self.latent = latent
        self.n_steps = n_steps

    def _fit_model(self, rows: np.ndarray) -> None:
        import torch
        from torch import nn

        latent = int(check_positive("latent", self.latent))
        steps = int(check_positive("n_steps", self.n_steps))
        rng = np.random.default_rng(int(self.random_state))
        data = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
        # fork_rng: seed torch for this fit without disturbing the caller's random state.
        # One thread: for a net this small, thread hand-offs cost more than the maths (and
        # on a busy machine they cost 100x), and one thread keeps the result reproducible.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.random_state))
                net = _train_autoencoder(data, rng, latent, steps)
        finally:
            torch.set_num_threads(threads)
        self.weights_ = [
            (m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
            for m in net
            if isinstance(m, nn.Linear)
        ]

    def _reconstruct(self, rows: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2), (w3, b3), (w4, b4) = self.weights_
        h = _elu(rows @ w1 + b1)
        h = np.tanh(h @ w2 + b2)
        h = _elu(h @ w3 + b3)
        return h @ w4 + b4

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), np.float32)
        for s in range(0, len(rows), 100_000):  # bounded temporaries on long recordings
            x = rows[s : s + 100_000]
            out[s : s + len(x)] = np.mean((self._reconstruct(x) - x) ** 2, axis=1)
        return out


def _train_autoencoder(data: Any, rng: np.random.Generator, latent: int, steps: int) -> Any:
    """Train the dense autoencoder on ``data`` (a float32 tensor of rows); torch seeded."""
    import torch
    from torch import nn

    d = data.shape[1]
    net = nn.Sequential(
        nn.Linear(d, 32),
        nn.ELU(),
        nn.Linear(32, latent),
        nn.Tanh(),  # a bounded code cannot extrapolate to far-off inputs
        nn.Linear(latent, 32),
        nn.ELU(),
        nn.Linear(32, d),
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.SmoothL1Loss()  # Huber: the few anomalous rows in the data pull little
    batch = min(512, len(data))
    for _ in range(steps):
        x = data[torch.from_numpy(rng.integers(0, len(data), batch))]
        opt.zero_grad()
        loss_fn(net(x), x).backward()
        opt.step()
    return net


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


_METHODS = {"iforest": IsolationForestDetector, "autoencoder": AutoencoderDetector}


class AnomalyDetector(_BaseAnomaly):
    """Isolation forest and autoencoder together, their robust z-scores combined.

    Parameters
    ----------
    methods : sequence of {"iforest", "autoencoder"}
        Which detectors to run. default: both.
    combine : {"mean", "max", "min"}
        How to combine their z-scores per channel-window before re-standardising: ``"mean"``
        (default; averaging cuts the false alarms either makes alone), ``"max"`` (either
        one) or ``"min"`` (both must agree).
    contamination, window, hop, random_state, reference
        As :class:`IsolationForestDetector`; ``"auto"`` uses ``AUTO_THRESHOLDS[combine]``
        (or the single method's threshold when only one is run).

    Attributes
    ----------
    detectors_ : list of IsolationForestDetector | AutoencoderDetector
    center_, scale_, threshold_ : float
        For the combined score.
    """

    name = "anomaly"

    def __init__(
        self,
        methods: Sequence[str] = ("iforest", "autoencoder"),
        combine: str = "mean",
        contamination: str | float = "auto",
        window: float = 1.0,
        hop: float = 0.5,
        random_state: int = 0,
        reference: TimeSeries | None = None,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference)
        self.methods = methods
        self.combine = combine

    def _methods(self) -> list[str]:
        methods = [self.methods] if isinstance(self.methods, str) else list(self.methods)
        if not methods:
            raise ParameterError("methods is empty; use 'iforest', 'autoencoder' or both.")
        for m in methods:
            check_option("methods", m, tuple(_METHODS))
        return list(dict.fromkeys(methods))

    @property
    def _auto_key(self) -> str:  # type: ignore[override]
        methods = self._methods()
        return methods[0] if len(methods) == 1 else self.combine

    def _validate(self) -> None:
        super()._validate()
        check_option("combine", self.combine, ("mean", "max", "min"))
        self._methods()

    def _fit_model(self, rows: np.ndarray) -> None:
        self.detectors_ = []
        for m in self._methods():
            det = _METHODS[m](window=self.window, hop=self.hop, random_state=self.random_state)
            det._validate()
            det._fit_model(rows)
            self.detectors_.append(det)

    def _fit_scored(self, rows: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
        # Score every row once per member: the members' z-scales come from their fit rows,
        # the combined scores from all rows.
        self._fit_model(rows[fit_rows])
        zs = []
        for det in self.detectors_:
            raw = det._raw_scores(rows)
            center, scale = _robust_center_scale(raw[fit_rows], axis=0, floor=1e-12)
            det.center_, det.scale_ = float(center[0]), float(scale[0])
            zs.append((raw - det.center_) / det.scale_)
        return self._combine(np.stack(zs))

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        zs = np.stack([(d._raw_scores(rows) - d.center_) / d.scale_ for d in self.detectors_])
        return self._combine(zs)

    def _combine(self, zs: np.ndarray) -> np.ndarray:
        return {"mean": np.mean, "max": np.max, "min": np.min}[self.combine](zs, axis=0)


def _overlap(a: Finding, b: Finding) -> float:
    return min(a.offset, b.offset) - max(a.onset, b.onset)


def suppress_known(
    anomalies: Sequence[Finding], known: Sequence[Finding], min_overlap: float = 0.5
) -> list[Finding]:
    """Keep only the anomalies that no known-kind finding explains.

    A known finding (any kind but ``anomaly``) explains an anomaly on the channels they share
    (empty ``channels`` meaning every channel) when their time overlap is at least
    ``min_overlap`` of the shorter of the two, the rule events are matched by in benchmarks.
    An anomaly whose channels are all explained is dropped; one partly explained keeps only
    its unexplained channels. An anomaly without channels is dropped by any overlapping
    known finding.

    Parameters
    ----------
    anomalies : sequence of Finding
        Events of kind ``anomaly`` (others pass through unchanged).
    known : sequence of Finding
        Findings of known kinds from other detectors.
    min_overlap : float
        Fraction in [0, 1] of the shorter event. default: 0.5.

    Returns
    -------
    list of Finding
    """
    min_overlap = float(min_overlap)
    if not 0.0 <= min_overlap <= 1.0:
        raise ParameterError(f"min_overlap={min_overlap} must lie in [0, 1].")
    known = sorted((k for k in known if k.kind != "anomaly"), key=lambda k: k.onset)
    onsets = np.array([k.onset for k in known])
    # Known findings can be long (episodes), so search back by the longest one.
    longest = max((k.duration for k in known), default=0.0)
    out: list[Finding] = []
    for event in anomalies:
        if event.kind != "anomaly":
            out.append(event)
            continue
        lo = int(np.searchsorted(onsets, event.onset - longest, side="left"))
        hi = int(np.searchsorted(onsets, event.offset, side="right"))
        explained: set[str] = set()
        everything = False
        for k in known[lo:hi]:
            shorter = min(event.duration, k.duration)
            if _overlap(event, k) < min_overlap * shorter - 1e-9 or _overlap(event, k) < 0:
                continue
            if not k.channels or not event.channels:
                everything = True
                break
            explained.update(k.channels)
        if everything:
            continue
        if not event.channels:
            out.append(event)
            continue
        left = tuple(c for c in event.channels if c not in explained)
        if not left:
            continue
        out.append(event if len(left) == len(event.channels) else replace(event, channels=left))
    return out
