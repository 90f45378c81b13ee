"""Event rules run segment by segment (bounded memory) and the filters they rely on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from neurolint.assess._stats import row_nanmedian, zero_phase
from neurolint.assess.features import window_features
from neurolint.assess.rules_events import EVENT_DEFAULTS, event_rules
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_eeg


def _rules(ts: TimeSeries, segment_s: float, n_jobs: int | None = None):
    feats = window_features(ts, window=1.0, hop=1.0)
    good = np.ones(ts.n_channels, bool)
    t = dict(EVENT_DEFAULTS)
    return event_rules(ts, feats, good, t, 60.0, segment_s=segment_s, n_jobs=n_jobs)


def test_zero_phase_matches_filtfilt_away_from_the_ends():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.standard_normal((3, 4000)), axis=1) + rng.standard_normal((3, 4000))
    sos = butter(4, [20.0, 110.0], "bandpass", fs=256.0, output="sos")
    ref = sosfiltfilt(sos, x, axis=1)
    got = zero_phase(x, sos, 256.0)
    assert got.dtype == np.float32 and got.shape == x.shape
    core = slice(256, -256)
    assert np.abs(got - ref)[:, core].max() < 1e-4 * np.abs(ref).max()
    # The ends are padded, not wrapped: the last second does not leak into the first.
    y = np.zeros(2000)
    y[-300:] = 1000.0
    assert np.abs(zero_phase(y, sos, 256.0)[:100]).max() < 1e-3


def test_row_nanmedian_ignores_nan_and_keeps_sparse_rows():
    x = np.arange(30000, dtype=float).reshape(3, 10000)
    x[0, ::2] = np.nan
    x[1, :] = np.nan
    x[2, :] = np.nan
    x[2, 5] = 7.0  # a row finite on one sample the stride misses
    med = row_nanmedian(x)
    assert med[0] == pytest.approx(np.nanmedian(x[0]), rel=0.01)
    assert np.isnan(med[1]) and med[2] == 7.0


def test_segments_find_what_one_pass_finds():
    ts = simulate_eeg(24, 200.0, 256.0, seed=11).data
    whole = _rules(ts, segment_s=1e6)
    parts = _rules(ts, segment_s=60.0)
    assert whole
    key = lambda e: (e.kind, round(e.onset, 1))  # noqa: E731
    same = {key(e) for e in whole} & {key(e) for e in parts}
    # Baselines are per segment, so an edge may move a bin; events do not come and go.
    assert len(same) >= 0.9 * len(whole) and abs(len(parts) - len(whole)) <= 0.1 * len(whole)


def test_segments_side_by_side_find_exactly_what_one_at_a_time_finds():
    ts = simulate_eeg(16, 200.0, 256.0, seed=13).data
    serial = _rules(ts, segment_s=60.0)
    assert serial
    assert _rules(ts, segment_s=60.0, n_jobs=2) == serial


def test_an_event_across_a_segment_boundary_stays_one_event():
    sim = simulate_eeg(16, 150.0, 256.0, artifacts=None, seed=12)
    data = sim.data.to_numpy()
    data[:, 55 * 256 : 65 * 256] = np.nan  # 10 s gap across the cut at 60 s
    ts = TimeSeries(data, 256.0, sim.data.channels)
    gaps = [e for e in _rules(ts, segment_s=60.0) if e.kind == "gap"]
    assert len(gaps) == 1
    assert gaps[0].onset == pytest.approx(55.0) and gaps[0].duration == pytest.approx(10.0)


def test_a_channels_own_gap_is_one_event_across_segments_and_apart_from_others():
    """NaN runs on single channels are ``gap`` events on that channel, exact to the sample,
    whole across segment (and scan chunk) boundaries; runs closer than ``gap_merge_s``
    join; a gap of every channel is said once, not again per channel."""
    sim = simulate_eeg(8, 200.0, 256.0, seed=4, artifacts=[])
    x = sim.data.get_data()
    x[2, 14000:16000] = np.nan  # across the 60 s segment boundary at 15360
    x[5, 15000:15500] = np.nan  # overlapping it in time, on another channel
    x[6, 40000] = x[6, 40010] = np.nan  # 10 samples apart: one event
    x[:, 30000:30100] = np.nan  # every channel
    ts = TimeSeries(x, 256.0, sim.data.channels)
    names = ts.ch_names
    for segment_s in (1e6, 60.0):
        gaps = sorted(
            (e.channels, round(e.onset * 256), round(e.offset * 256))
            for e in _rules(ts, segment_s)
            if e.kind == "gap"
        )
        assert gaps == [
            ((), 30000, 30100),
            ((names[2],), 14000, 16000),
            ((names[5],), 15000, 15500),
            ((names[6],), 40000, 40011),
        ]
