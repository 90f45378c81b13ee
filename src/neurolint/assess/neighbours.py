"""Which channels neighbour which: k nearest sensors, or nearest indices without positions."""

from __future__ import annotations

import numpy as np

from ..core.channels import ChannelInfo
from ..core.errors import ParameterError

__all__ = ["neighbours"]


def neighbours(channels: ChannelInfo, k: int = 6) -> np.ndarray:
    """Indices of each channel's ``k`` nearest neighbours, nearest first.

    Distances are Euclidean between sensor positions. A channel without a position (a row
    of NaN), or every channel when the recording has none, takes its neighbours in index
    order instead (``i±1``, ``i±2``, ...), as channels of a strip or a probe without
    geometry are usually numbered along it.

    Parameters
    ----------
    channels : ChannelInfo
        The channels (``positions`` in metres, or ``None``).
    k : int
        Neighbours per channel; clipped to ``n_channels - 1``. default: 6.

    Returns
    -------
    numpy.ndarray
        ``(n_channels, min(k, n_channels - 1))`` int64; row ``i`` never contains ``i``.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ParameterError(f"k={k} must be a positive whole number of neighbours.")
    n = len(channels)
    k = min(int(k), max(n - 1, 0))
    if k == 0:
        return np.zeros((n, 0), dtype=np.int64)
    index = np.arange(n)
    # Index distance, with a tiny preference for the later channel so ties resolve stably.
    dist = np.abs(index[:, None] - index[None]).astype(np.float64) + 1e-3 * (
        index[None] < index[:, None]
    )
    pos = channels.positions
    if pos is not None:
        known = np.isfinite(pos).all(axis=1)
        metric = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        both = known[:, None] & known[None]
        # Rows with a position rank positioned channels by distance, unpositioned ones last.
        rank = np.where(both, metric, np.inf)
        rank = np.where(known[:, None] & ~known[None], 1e6 + dist, rank)
        dist = np.where(known[:, None], rank, dist)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64)
