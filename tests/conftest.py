"""Shared fixtures."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The folder of real recordings (``../shared/data``); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not available ({SHARED_DATA} is absent)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small_ts(rng):
    """A 4-channel, 2 s, 250 Hz EEG-like TimeSeries with names, types, units and positions."""
    from neurolint.core import ChannelInfo, TimeSeries

    data = (rng.standard_normal((4, 500)) * 1e-5).astype(np.float32)
    info = ChannelInfo(
        ["Fp1", "Cz", "EOG1", "ECG"],
        ["eeg", "eeg", "eog", "ecg"],
        "V",
        [[-0.03, 0.08, 0.0], [0.0, 0.0, 0.1], [np.nan] * 3, [np.nan] * 3],
    )
    return TimeSeries(data, 250.0, info)


@pytest.fixture
def peak_bytes():
    """``peak_bytes(fn)`` → ``(fn(), peak bytes allocated during it)`` via tracemalloc
    (numpy reports its allocations to it)."""

    def measure(fn):
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            result = fn()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            if started:
                tracemalloc.stop()
        return result, peak

    return measure


@pytest.fixture
def read_lengths(monkeypatch):
    """Every ``TimeSeries.get_data`` call from here on appends its block's length (in
    samples) to the returned list: a writer that streams reads short blocks only."""
    from neurolint.core import timeseries

    lengths: list[int] = []
    original = timeseries.TimeSeries.get_data

    def counted(self, start=None, stop=None, *args, **kwargs):
        block = original(self, start, stop, *args, **kwargs)
        lengths.append(block.shape[-1])
        return block

    monkeypatch.setattr(timeseries.TimeSeries, "get_data", counted)
    return lengths
