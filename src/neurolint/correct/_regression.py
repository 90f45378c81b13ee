"""Channel repair without positions: each bad channel learned as a regression on its peers.

Why the bad channel's own samples can teach its repair: a channel is usually bad because
something was *added* to it (broadband noise, hum, pops, a drifting contact). Added noise
that is independent of the other channels leaves the least-squares coefficients of the
channel on its peers unbiased; it only adds variance, which a long recording averages out.
So a ridge regression of the recorded bad channel on the good channels, fitted over the
recording, converges to the regression of its true signal. What it cannot learn is a channel
that recorded nothing (flat) or whose signal the others do not predict; those are skipped with
a reason, judged on held-out blocks so the check is honest.
"""

from __future__ import annotations

import numpy as np

from ..core.arrays import zero_nonfinite
from ..core.timeseries import TimeSeries

__all__ = ["RegressionFit", "fit_regression", "ridge_solve", "sample_blocks"]

# Blocks of 1 s spread over at most this many seconds of the recording: enough samples for
# tens of predictors, a bounded cost on hour-long files. At high rates the blocks are
# shorter and fewer, so that the sample stays within a byte budget: 240 s of a 384-channel
# 30 kHz probe would be 22 GB of float64.
_MAX_SECONDS = 240
_BLOCK_SECONDS = 1.0
_BLOCK_MAX_SAMPLES = 2048
_SAMPLE_BYTES = 256 * 2**20


class RegressionFit:
    """Weights of one bad channel on its peers, or why there are none."""

    def __init__(
        self,
        peers: np.ndarray,
        weights: np.ndarray | None,
        heldout_r: float,
        reason: str | None,
        intercept: float = 0.0,
    ) -> None:
        self.peers = peers
        self.weights = weights
        self.intercept = intercept
        self.heldout_r = heldout_r
        self.reason = reason


def sample_blocks(ts: TimeSeries, rows: list[int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(n_blocks, len(rows), block)`` float64 spread over the file, demeaned per block
    (so slow drifts do not drive the fit), each row's overall mean, and ``rows``: read
    once, shared by every bad channel of a type. Blocks are 1 s (at most 2048 samples),
    up to 240 of them and 256 MB in all, but never fewer than 16 where the file has them."""
    block = max(8, min(round(_BLOCK_SECONDS * ts.sampling_rate), _BLOCK_MAX_SAMPLES))
    n_blocks = ts.n_samples // block
    affordable = max(16, _SAMPLE_BYTES // (8 * block * max(1, len(rows))))
    take = min(n_blocks, int(_MAX_SECONDS / _BLOCK_SECONDS), affordable)
    starts = (np.linspace(0, n_blocks - 1, take).round().astype(int) * block) if take else []
    out = np.empty((len(starts), len(rows), block))
    for i, s in enumerate(starts):
        out[i] = ts.get_data(int(s), int(s) + block, channels=rows)
    zero_nonfinite(out)
    means = out.mean(axis=2, keepdims=True)
    overall = means.mean(axis=0)[:, 0] if len(out) else np.zeros(len(rows))
    out -= means
    return out, overall, list(rows)


def ridge_solve(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Weights of ``y`` on the columns of ``x``, the penalty ``ridge`` times the mean
    eigenvalue of ``x.T @ x`` (so it does not depend on the signal's unit); raises
    ``LinAlgError`` when singular."""
    gram = x.T @ x
    scale = np.trace(gram) / max(gram.shape[0], 1)
    if not np.isfinite(scale) or scale <= 0:
        raise np.linalg.LinAlgError("predictors carry no variance")
    gram += ridge * scale * np.eye(gram.shape[0])
    return np.linalg.solve(gram, x.T @ y)


def fit_regression(
    ts: TimeSeries,
    bad: int,
    peers: list[int],
    *,
    sample: tuple[np.ndarray, np.ndarray, list[int]] | None = None,
    n_neighbours: int = 16,
    ridge: float = 1e-2,
    min_r: float = 0.1,
) -> RegressionFit:
    """Learn channel ``bad`` as a ridge regression on its most correlated ``peers``.

    Parameters
    ----------
    ts : TimeSeries
        The recording (as corrected by the earlier steps).
    bad : int
        Index of the channel to repair.
    peers : list of int
        Good channels of the same type to learn from.
    sample : tuple | None
        :func:`sample_blocks` of rows including ``bad`` and ``peers``, to share one read
        among several bad channels. default: ``None`` (read here).
    n_neighbours : int
        How many of the peers, the most correlated with the bad channel, enter the
        regression. default: 16.
    ridge : float
        Penalty as a fraction of the mean eigenvalue of the predictors' Gram matrix.
        default: 0.01.
    min_r : float
        Smallest held-out correlation between the prediction and the recorded channel for
        the repair to be used. default: 0.1.

    Returns
    -------
    RegressionFit
        ``weights`` over the chosen ``peers`` and an ``intercept`` (``None`` with a
        ``reason`` when the channel cannot be learned) and the held-out correlation.
    """
    none = np.array([], dtype=np.int64)
    blocks, means, rows = sample if sample is not None else sample_blocks(ts, [bad, *peers])
    where = [rows.index(r) for r in (bad, *peers)]
    blocks, means = blocks[:, where], means[where]
    if len(blocks) < 4:
        return RegressionFit(none, None, float("nan"), "recording too short to learn from")
    # Robust to transients: blocks where the bad channel's power is far above its median
    # (pops, movement) would dominate a least-squares fit.
    power = (blocks[:, 0] ** 2).mean(axis=1)
    median = float(np.median(power))
    peer_power = float(np.median((blocks[:, 1:] ** 2).mean(axis=2)))
    if median <= 1e-12 * max(peer_power, 1e-30):
        return RegressionFit(none, None, float("nan"), "flat throughout: nothing to learn from")
    keep = power <= 10 * median
    blocks = blocks[keep]
    y = blocks[:, 0].reshape(-1)
    x = blocks[:, 1:].transpose(0, 2, 1).reshape(-1, len(peers))
    xs = x / np.maximum(x.std(axis=0), 1e-30)
    corr = np.abs(xs.T @ (y / max(y.std(), 1e-30))) / len(y)
    chosen = np.sort(np.argsort(-corr)[: min(n_neighbours, len(peers))])
    # Held-out check: fit on even blocks, score on odd ones.
    n_b, size = blocks.shape[0], blocks.shape[2]
    odd = np.repeat(np.arange(n_b) % 2 == 1, size)
    try:
        w_half = ridge_solve(x[~odd][:, chosen], y[~odd], ridge)
        weights = ridge_solve(x[:, chosen], y, ridge)
    except np.linalg.LinAlgError:
        return RegressionFit(none, None, float("nan"), "its peers are flat: nothing to learn from")
    r = float(np.corrcoef(x[odd][:, chosen] @ w_half, y[odd])[0, 1])
    if not np.isfinite(r) or r < min_r:
        return RegressionFit(
            none,
            None,
            r,
            f"the other channels do not predict it (held-out r={r:.2f} < {min_r})",
        )
    intercept = float(means[0] - means[1:][chosen] @ weights)
    return RegressionFit(np.asarray(peers)[chosen], weights, r, None, intercept)
