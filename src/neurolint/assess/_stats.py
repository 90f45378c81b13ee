"""Robust statistics of long rows, cheap enough to take once per chunk."""

from __future__ import annotations

import numpy as np

__all__ = ["row_median"]


def row_median(x: np.ndarray, max_samples: int = 2048) -> np.ndarray:
    """Median of each row of ``x`` ``(n_rows, n)`` from at most ``max_samples`` of its samples.

    Rows of a chunk hold thousands to millions of samples, and this median only sets a scale
    or a fill value: every ``ceil(n / max_samples)``-th sample estimates it with a standard
    error of about 3% of the row's spread (1.25 / sqrt(2048)), at a fraction of the cost of
    partitioning the whole row.
    """
    stride = max(1, -(-x.shape[-1] // max_samples))
    return np.median(x[..., ::stride], axis=-1)
