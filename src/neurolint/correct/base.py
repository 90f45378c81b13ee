"""What every correction step shares, and the lazy series that applies them block by block.

A step follows the scikit-learn contract: ``__init__`` stores parameters, ``fit(ts, qc)``
learns what it needs from the (already partly corrected) recording and returns ``self``,
``apply(block, start)`` returns a corrected copy of a block that starts at sample ``start``
and carries ``margin_`` samples of context on each side, and ``log()`` says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.provenance import CorrectionStep
from ..core.timeseries import TimeSeries

__all__ = ["CorrectedArray", "Step", "corrected_series"]


class Step:
    """Base class of correction steps (see the module docstring)."""

    name = "step"
    margin_: int = 0
    skipped_: str | None = None

    def fit(self, ts: TimeSeries, qc: Any = None) -> Step:
        raise NotImplementedError

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def active(self) -> bool:
        """Whether the step changes anything (fitted, not skipped)."""
        return self.skipped_ is None

    def log(self) -> CorrectionStep:
        raise NotImplementedError


@dataclass
class CorrectedArray:
    """A read-only array-like ``(n_channels, n_samples)``: ``source`` after ``steps``.

    Each read takes the requested samples of every channel plus the steps' margins from
    ``source``, applies the steps in order and trims, so concatenated reads equal one
    whole-array correction and memory is bounded by the block read.
    """

    source: TimeSeries
    steps: list[Step]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.source.n_channels, self.source.n_samples)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 2

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key
        start, stop, step = cols.indices(self.shape[1])
        if step != 1:
            raise IndexError("CorrectedArray reads contiguous sample ranges only.")
        margin = sum(s.margin_ for s in self.steps if s.active)
        lo, hi = max(0, start - margin), min(self.shape[1], stop + margin)
        block = self.source.get_data(lo, hi)
        for s in self.steps:
            if s.active:
                block = s.apply(block, lo)
        return np.ascontiguousarray(block[:, start - lo : stop - lo][rows], dtype=np.float32)


def corrected_series(source: TimeSeries, steps: list[Step]) -> TimeSeries:
    """A lazy :class:`TimeSeries` with ``source``'s metadata whose samples are corrected."""
    return TimeSeries(
        CorrectedArray(source, list(steps)),
        source.sampling_rate,
        source.channels,
        modality=source.modality,
        source=None if source.source is None else str(source.source),
        meta={**dict(source.meta or {}), "corrected": [s.name for s in steps if s.active]},
    )
