"""Shared machinery of the anomaly detectors: fit, score and detect.

:class:`_BaseAnomaly` validates the parameters, computes (once per recording) the
standardised window features, fits a model on a subsample of the channel-windows through the
``_fit_model`` / ``_raw_scores`` hooks its subclasses fill in, turns the raw scores into
robust z-scores with a threshold, and hands them to :func:`~.anomaly_events._to_detection`.
The concrete detectors are in :mod:`neurolint.assess.anomaly_models` and
:mod:`neurolint.assess.anomaly`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import EmptyRecordingError, ParameterError
from ..core.threads import map_in_threads, n_workers
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from .anomaly_events import _Scored, _to_detection
from .anomaly_features import (
    _MAX_FIT_ROWS,
    AUTO_THRESHOLDS,
    StandardisedFeatures,
    _robust_center_scale,
    _subsample,
)
from .base import Detection, judged_channels, widened
from .features import WindowFeatures, window_features

_SCORE_ROWS = 65_536  # channel-windows per scoring task: bounded temporaries, shareable work


def _score_rows(
    score: Callable[[np.ndarray], Any], rows: StandardisedFeatures, n_jobs: int | None
) -> Any:
    """``score`` of every channel-window of ``rows``, made and scored a block at a time on
    ``n_jobs`` threads (rows are independent).

    ``score`` returns an array per block, or a tuple of them (several models scoring each
    block once); the blocks' results are joined in order. Scikit-learn's tree traversal and
    NumPy's matrix products release the GIL, so a second core that another detector has
    left idle takes half the blocks.
    """
    n = rows.n_rows
    starts = range(0, n, _SCORE_ROWS)

    def part(a: int) -> Any:
        return score(rows.rows(a, min(n, a + _SCORE_ROWS)))

    found = map_in_threads(part, starts, n_workers(n_jobs, len(starts)), "neurolint-anomaly")
    if isinstance(found[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))
    return np.concatenate(found)


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
        n_jobs: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.window = window
        self.hop = hop
        self.random_state = random_state
        self.reference = reference
        self.n_jobs = n_jobs

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

    def _features(
        self, ts: Any, wf: WindowFeatures | None
    ) -> tuple[StandardisedFeatures, WindowFeatures]:
        if not isinstance(ts, TimeSeries):
            raise ParameterError(
                f"Expected a neurolint TimeSeries, got {type(ts).__name__}; wrap arrays with "
                "neurolint.TimeSeries(data, sampling_rate)."
            )
        if ts.n_times == 0:
            raise EmptyRecordingError("The recording has no samples; nothing to assess.")
        ts = ts.inf_as_missing()  # infinite samples are missing ones, as NaN are
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
            return memo[1], memo[3]
        # Only the channels EEG is judged on: an ECG lead's QRS complexes or an EOG's blinks
        # are what those leads are for, and would also skew what "normal" is fitted to.
        judged = wf.pick(judged_channels(ts.channels.types))
        # Made block by block as they are scored: never a copy of every channel-window. The
        # rows a model is fitted on are gathered while the medians are computed.
        n_rows = judged.n_windows * len(judged.channels)
        sample = _subsample(n_rows, _MAX_FIT_ROWS, int(self.random_state))
        feats = StandardisedFeatures(judged, sample=sample)
        self._memo = (wf, feats, None, judged)
        return feats, judged

    # -- model hooks (subclasses) -------------------------------------------------------------
    def _fit_model(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        """Higher = more anomalous, one per row."""
        raise NotImplementedError

    def _fit_scored(self, rows: StandardisedFeatures, fit_rows: np.ndarray) -> np.ndarray:
        """Fit on the rows at ``fit_rows``; return the raw scores of all ``rows``."""
        self._fit_model(rows.take(fit_rows))
        return _score_rows(self._raw_scores, rows, self.n_jobs)

    # -- fit / detect -------------------------------------------------------------------------
    def _fit_features(self, feats: StandardisedFeatures) -> np.ndarray:
        """Fit on the channel-windows of ``feats``; return their robust z-scores
        ``(n_windows, n_channels)``."""
        self._validate()
        raw = self._fit_scored(feats, feats.sample)
        center, scale = _robust_center_scale(raw, axis=0, floor=1e-12)
        self.center_, self.scale_ = float(center[0]), float(scale[0])
        z = (raw - self.center_) / self.scale_
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[1] is feats:
            # detect() on the recording just fitted reads these scores instead of rescoring.
            self._memo = (memo[0], feats, z.reshape(feats.shape[:2]), memo[3])
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
        raw = _score_rows(model._raw_scores, feats, self.n_jobs)
        z = (raw - model.center_) / model.scale_
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
        found = _to_detection(self.name, self.score(ts, features=features), ts)
        found = widened(found, judged_channels(ts.channels.types))
        # The features and scores kept for this detect() are not needed after it: a fitted
        # detector should not hold an hour's channel-windows while check() runs the rest.
        self._memo = self._seen = None
        return found
