"""The two anomaly models: an isolation forest and a small dense autoencoder.

:class:`IsolationForestDetector` scores channel-windows with scikit-learn's isolation forest;
:class:`AutoencoderDetector` with the reconstruction error of an autoencoder trained with torch
for a fixed number of steps (:func:`_train_autoencoder`) and run in numpy afterwards. Both
import their heavy dependency only when fitting, and inherit fit, score and detect from
:class:`~neurolint.assess.anomaly_base._BaseAnomaly`; :mod:`neurolint.assess.anomaly`
re-exports them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.threads import torch_threads
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from .anomaly_base import _BaseAnomaly


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
    n_jobs : int | None
        Threads that score blocks of channel-windows side by side (``-1``: one per core).
        The scores do not depend on it. default: ``None`` (one).

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
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference, n_jobs)
        self.n_estimators = n_estimators

    def _fit_model(self, rows: np.ndarray) -> None:
        from sklearn.ensemble import IsolationForest

        n = int(check_positive("n_estimators", self.n_estimators))
        self.forest_ = IsolationForest(
            # 256 samples per tree (the paper's choice), fewer on a short recording.
            n_estimators=n,
            max_samples=min(256, len(rows)),
            random_state=int(self.random_state),
            n_jobs=1,
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
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(contamination, window, hop, random_state, reference, n_jobs)
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
        with torch_threads(1), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))
            net = _train_autoencoder(data, rng, latent, steps)
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
        return np.mean((self._reconstruct(rows) - rows) ** 2, axis=1, dtype=np.float32)


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
