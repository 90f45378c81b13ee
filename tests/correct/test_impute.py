"""Gap imputation: gaps found (NaN, zero runs), filled from context, long ones left."""

import numpy as np
import pytest

from neurolint.core.timeseries import TimeSeries
from neurolint.correct.base import corrected_series
from neurolint.correct.impute import GapFiller, find_gaps


def _alpha(n_ch=4, seconds=20.0, sfreq=256.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sfreq)) / sfreq
    x = np.stack([np.sin(2 * np.pi * (9 + i) * t + i) for i in range(n_ch)])
    return (x + 0.05 * rng.standard_normal(x.shape)).astype(np.float32), sfreq


def test_gaps_are_found_across_chunk_boundaries():
    x, sfreq = _alpha()
    x[0, 2500:2600] = np.nan  # crosses the 10 s chunk edge at 2560
    x[1, 100:110] = 0.0  # a dropout written as zeros
    x[2, 50:51] = 0.0  # one zero sample is just a zero
    x[3, -20:] = np.inf
    gaps = find_gaps(TimeSeries(x, sfreq), chunk_duration=10.0)
    assert gaps == [(1, 100, 110), (0, 2500, 2600), (3, x.shape[1] - 20, x.shape[1])]


@pytest.mark.parametrize(("method", "gap_ms"), [("ar", 200), ("spline", 12)])
def test_gaps_are_filled_close_to_the_truth(method, gap_ms):
    # AR continues a rhythm through 200 ms; a spline only bridges a few samples well.
    x, sfreq = _alpha()
    truth = x.copy()
    n = round(gap_ms / 1000 * sfreq)
    x[:, 2000 : 2000 + n] = np.nan
    ts = TimeSeries(x, sfreq)
    out = corrected_series(ts, [GapFiller(method=method).fit(ts)]).get_data()
    assert np.isfinite(out).all()
    err = np.sqrt(np.mean((out[:, 2000 : 2000 + n] - truth[:, 2000 : 2000 + n]) ** 2))
    assert err < 0.1  # the signals have unit amplitude
    np.testing.assert_array_equal(out[:, :2000], truth[:, :2000])  # the rest untouched


def test_ar_beats_spline_on_oscillations():
    x, sfreq = _alpha(seed=1)
    truth = x.copy()
    x[:, 3000:3051] = np.nan
    ts = TimeSeries(x, sfreq)
    err = {}
    for method in ("ar", "spline"):
        out = corrected_series(ts, [GapFiller(method=method).fit(ts)]).get_data()
        err[method] = np.sqrt(np.mean((out[:, 3000:3051] - truth[:, 3000:3051]) ** 2))
    assert err["ar"] < 0.5 * err["spline"]


def test_long_gaps_and_dead_channels_are_left_and_logged():
    x, sfreq = _alpha()
    x[0, 1000 : 1000 + 2 * 256] = np.nan  # 2 s: longer than max_duration
    x[3] = np.nan  # a dead channel is a bad channel, not a gap
    ts = TimeSeries(x, sfreq)
    step = GapFiller(max_duration=1.0).fit(ts)
    assert step.gaps_ == [] and step.skipped_ == "every gap is too long to fill"
    left = step.log().parameters["left_unfilled"]
    assert left == [{"channel": "ch000", "onset": 1000 / sfreq, "duration": 2.0}]


def test_blocks_read_apart_equal_one_read_and_input_is_untouched():
    x, sfreq = _alpha()
    x[1, 2540:2600] = np.nan
    x[2, 700:760] = 0.0
    before = x.copy()
    ts = TimeSeries(x, sfreq)
    out = corrected_series(ts, [GapFiller().fit(ts)])
    whole = out.get_data()
    parts = np.concatenate(
        [out.get_data(a, min(a + 1000, ts.n_samples)) for a in range(0, ts.n_samples, 1000)], axis=1
    )
    np.testing.assert_allclose(parts, whole, atol=1e-6)
    np.testing.assert_array_equal(x, before)


def test_gaps_on_a_few_channels_are_filled_from_the_others():
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(32, 20, 256.0, artifacts=None, seed=3)
    truth = ts.get_data()
    x = truth.copy()
    x[[4, 9], 2000:2051] = np.nan  # 200 ms on two of 32 channels
    holed = TimeSeries(x, ts.sampling_rate, ts.channels)
    err = {}
    for spatial in (True, False):
        out = corrected_series(holed, [GapFiller(spatial=spatial).fit(holed)]).get_data()
        diff = out[[4, 9], 2000:2051] - truth[[4, 9], 2000:2051]
        err[spatial] = np.sqrt(np.mean(diff**2) / np.mean(truth[[4, 9], 2000:2051] ** 2))
    assert err[True] < 0.8 * err[False]
    assert err[True] < 0.7


def test_flat_neighbours_fall_back_to_the_temporal_fill():
    # A real EDF with zero-filled channels once crashed the spatial fill (singular matrix).
    x, sfreq = _alpha(n_ch=6)
    x[1:5] = 0.0  # four flat channels
    x[5] *= 1e-12  # and one nearly so
    truth = x[0].copy()
    x[0, 2000:2051] = np.nan
    ts = TimeSeries(x, sfreq)
    out = corrected_series(ts, [GapFiller().fit(ts)]).get_data()
    assert np.isfinite(out).all()
    assert np.sqrt(np.mean((out[0, 2000:2051] - truth[2000:2051]) ** 2)) < 0.2


def test_ar_fill_from_short_real_context_does_not_grow(shared_data):
    # 0.5 s of context at 128 Hz is too little for AR(20): least squares then overfits into
    # a filter whose prediction grows (up to twice the context's range here before the fix).
    import neurolint as nl
    from neurolint.correct.impute import _fill_ar, _stabilised

    x = nl.read(shared_data / "eeg" / "eeglab_data.set").get_data().astype(np.float64)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(400):
        ch, a = rng.integers(x.shape[0]), rng.integers(100, x.shape[1] - 200)
        before, after = x[ch, a - 64 : a], x[ch, a + 26 : a + 90]
        fill = _fill_ar(before, after, 26, 20)
        span = np.ptp(np.concatenate((before, after)))
        worst = max(worst, np.abs(fill - np.median(before)).max() / span)
    assert worst < 1.0
    # An unstable filter comes back with every pole inside the unit circle.
    poles = np.roots(np.concatenate(([1.0], -_stabilised(np.array([2.1, -1.0])))))
    assert np.abs(poles).max() < 1.0


def test_a_probe_gap_is_filled_from_its_most_correlated_peers_only(rng):
    from neurolint.correct.impute import _fill_spatial

    x = rng.standard_normal((200, 4000))
    x[0] = 0.6 * x[7] - 0.4 * x[150] + 0.05 * rng.standard_normal(4000)
    truth = x[0, 1000:1100].copy()
    x[0, 1000:1100] = np.nan
    fill = _fill_spatial(x, 0, 1000, 1100, max_peers=8)
    assert np.sqrt(np.mean((fill - truth) ** 2) / np.mean(truth**2)) < 0.15
    # Left to all 199 peers the fit is as good here; the cap is for speed on probes.
    every = _fill_spatial(x, 0, 1000, 1100, max_peers=500)
    assert np.sqrt(np.mean((every - truth) ** 2) / np.mean(truth**2)) < 0.15
