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

from collections.abc import Sequence

import numpy as np

from ..core.errors import ParameterError
from ..core.timeseries import TimeSeries
from ..core.validate import check_option
from .anomaly_base import _BaseAnomaly, _score_rows
from .anomaly_events import suppress_known
from .anomaly_features import (
    AUTO_THRESHOLDS,
    FEATURE_NAMES,
    StandardisedFeatures,
    _robust_center_scale,
    anomaly_features,
)
from .anomaly_features import CHANNEL_FEATURES as CHANNEL_FEATURES
from .anomaly_features import CONTEXT_FEATURES as CONTEXT_FEATURES
from .anomaly_models import AutoencoderDetector, IsolationForestDetector

__all__ = [
    "AUTO_THRESHOLDS",
    "FEATURE_NAMES",
    "AnomalyDetector",
    "AutoencoderDetector",
    "IsolationForestDetector",
    "anomaly_features",
    "suppress_known",
]

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
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference, n_jobs)
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

    def _fit_scored(self, rows: StandardisedFeatures, fit_rows: np.ndarray) -> np.ndarray:
        # Every member scores each block of rows as it is made: the members' z-scales come
        # from their fit rows, the combined scores from all rows.
        self._fit_model(rows.take(fit_rows))
        members = self.detectors_
        raws = _score_rows(lambda r: tuple(d._raw_scores(r) for d in members), rows, self.n_jobs)
        zs = []
        for det, raw in zip(members, raws, strict=True):
            center, scale = _robust_center_scale(raw[fit_rows], axis=0, floor=1e-12)
            det.center_, det.scale_ = float(center[0]), float(scale[0])
            zs.append((raw - det.center_) / det.scale_)
        return self._combine(np.stack(zs))

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        zs = np.stack([(d._raw_scores(rows) - d.center_) / d.scale_ for d in self.detectors_])
        return self._combine(zs)

    def _combine(self, zs: np.ndarray) -> np.ndarray:
        return {"mean": np.mean, "max": np.max, "min": np.min}[self.combine](zs, axis=0)
