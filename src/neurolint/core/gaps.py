"""Missing samples: runs of NaN/inf, or of exact zeros where amplifiers drop packets.

Shared by the assessment (gaps on reference leads) and the correction (which fills them).
"""

from __future__ import annotations

import numpy as np

from .chunks import chunk_samples
from .timeseries import TimeSeries

__all__ = ["find_gaps"]


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(n, 2)`` start/stop of true runs in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return edges.reshape(-1, 2)


def find_gaps(
    ts: TimeSeries, *, min_zero_run: float = 0.01, chunk_duration: float = 60.0
) -> list[tuple[int, int, int]]:
    """Missing-sample runs ``(channel, start, stop)`` of ``ts``, found chunk by chunk.

    NaN/inf samples are missing; so are runs of exact zeros at least ``min_zero_run``
    seconds (and 3 samples) long, how many amplifiers write dropped packets. A channel that
    is missing for most of the recording is a bad channel (for channel repair), not a gap.
    Chunks are ``chunk_duration`` long, or shorter where that would pass
    :data:`~neurolint.core.chunks.CHUNK_BYTES`.
    """
    sfreq = ts.sampling_rate
    min_zero = max(3, round(min_zero_run * sfreq))
    core = chunk_samples(chunk_duration, sfreq, ts.n_channels)
    open_runs: dict[int, int] = {}
    found: list[tuple[int, int, int]] = []
    for start in range(0, ts.n_samples, core):
        stop = min(ts.n_samples, start + core)
        x = ts.get_data(start, stop)
        nan = ~np.isfinite(x)
        zero = x == 0
        for ch in range(x.shape[0]):
            for kind, mask in (("nan", nan[ch]), ("zero", zero[ch])):
                key = (ch, kind)
                if key in open_runs and not mask[0]:
                    # A run from the previous chunk ended exactly at its last sample.
                    a = open_runs.pop(key)
                    if kind == "nan" or start - a >= min_zero:
                        found.append((ch, a, start))
                if not mask.any():
                    continue
                for a, z in _runs(mask):
                    a, z = int(a) + start, int(z) + start
                    if a == start and key in open_runs:
                        a = open_runs.pop(key)  # continues a run from the previous chunk
                    if z == stop and stop < ts.n_samples:
                        open_runs[key] = a
                        continue
                    if kind == "nan" or z - a >= min_zero:
                        found.append((ch, a, z))
    for (ch, kind), a in open_runs.items():
        if kind == "nan" or ts.n_samples - a >= min_zero:
            found.append((ch, a, ts.n_samples))
    return sorted(set(found), key=lambda g: (g[1], g[0]))
