"""simulate_calcium: statistics measured on the movie match what the truth says was put in."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.core.errors import ParameterError
from neurolint.core.imaging import Movie
from neurolint.simulate.calcium import simulate_calcium


@pytest.fixture(scope="module")
def sim():
    return simulate_calcium((48, 48), duration=40.0, n_cells=12, seed=3)


@pytest.fixture(scope="module")
def moving():
    kwargs = dict(duration=20.0, n_cells=10, photons_per_pixel=400.0, seed=5)
    return (
        simulate_calcium((48, 48), motion=3.0, motion_jump_rate=0.3, **kwargs),
        simulate_calcium((48, 48), motion=None, **kwargs),
    )


def test_movie_is_time_first_float32_and_non_negative(sim):
    data, truth = sim
    assert isinstance(data, Movie) and isinstance(truth.clean, Movie)
    x = data.to_numpy()
    assert x.shape == (1200, 48, 48) and data.frame_rate == 30.0
    assert data.pixel_size == (1.0, 1.0)
    assert x.dtype == np.float32 and x.min() >= 0
    assert truth.arrays["footprints"].shape == (12, 48, 48)
    assert truth.arrays["traces"].shape == (12, 1200)
    assert truth.arrays["shifts"].shape == (1200, 2) and not truth.arrays["shifts"].any()
    assert truth.simulator == "calcium" and truth.params["seed"] == 3
    assert truth.events == [] and truth.to_json()


def test_firing_rate_matches_the_parameter():
    _, truth = simulate_calcium((48, 48), duration=60.0, n_cells=15, firing_rate=1.0, seed=1)
    times, cells = truth.arrays["spike_times"], truth.arrays["spike_cells"]
    rate = len(times) / (15 * 60.0)  # 900 spikes expected: Poisson sd ~3 %
    assert rate == pytest.approx(1.0, rel=0.12)
    assert np.all(np.diff(times) >= 0) and times.min() >= 0 and times.max() < 60.0
    assert np.allclose(np.bincount(cells, minlength=15) / 60.0, truth.extras["firing_rates"])


def test_decay_time_is_recovered_from_the_movie():
    from scipy.optimize import curve_fit

    data, truth = simulate_calcium(
        (32, 32), duration=120.0, n_cells=1, firing_rate=0.2, neuropil=0.0, bleaching=0.0,
        photons_per_pixel=2000.0, tau_decay=0.6, spike_amplitude=1.0, seed=2,
    )  # fmt: skip
    fp = truth.arrays["footprints"][0]
    f = np.tensordot(data.to_numpy(), fp / fp.sum(), axes=2)
    dff = f / np.median(f) - 1
    times = truth.arrays["spike_times"]
    isolated = times[(np.diff(times, prepend=-10) > 1.5) & (np.diff(times, append=1e9) > 1.6)]
    isolated = isolated[isolated < 118]
    lags = np.arange(6, 45)  # 0.2-1.5 s after the spike: the decay phase
    frames = np.ceil(isolated * 30).astype(int)
    sta = dff[frames[:, None] + lags[None]].mean(axis=0)
    (_, tau, _), _ = curve_fit(
        lambda t, a, tau, c: a * np.exp(-t / tau) + c, lags / 30.0, sta, p0=(1, 0.5, 0)
    )
    assert tau == pytest.approx(0.6, rel=0.1)
    assert len(isolated) >= 8


def test_shot_noise_variance_is_mean_over_photons(sim):
    data, truth = sim
    clean = truth.clean.to_numpy().astype(np.float64)
    resid = data.to_numpy() - clean
    photons = truth.params["photons_per_pixel"]
    ratio = resid.var(axis=0) / (clean.mean(axis=0) / photons)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)
    assert truth.extras["mean_photon_count"] == pytest.approx(photons * clean.mean(), rel=1e-6)
    # The rest image is normalised to 1, so the average pixel sees ~photons_per_pixel.
    assert truth.extras["mean_photon_count"] == pytest.approx(photons, rel=0.3)


def test_footprints_are_where_the_activity_is(sim):
    data, truth = sim
    fp, centres = truth.arrays["footprints"], truth.arrays["centres"]
    assert fp.min() >= 0 and np.allclose(fp.max(axis=(1, 2)), 1.0, atol=0.02)
    yy, xx = np.mgrid[0:48, 0:48]
    com = np.stack([(fp * yy).sum((1, 2)), (fp * xx).sum((1, 2))], 1) / fp.sum((1, 2))[:, None]
    inside = (fp[:, [0, -1], :].max((1, 2)) == 0) & (fp[:, :, [0, -1]].max((1, 2)) == 0)
    assert inside.sum() >= 2
    assert np.allclose(com[inside], centres[inside], atol=0.1)  # cells cut by the edge aside
    area = (fp > 0.5).sum((1, 2))
    assert np.all((area > 0.5 * np.pi * 25) & (area < 2.0 * np.pi * 25))
    overlap = (fp > 0.1).sum(0)
    assert overlap.max() >= 2 or len(fp) < 2  # neighbours may touch
    # Covariance of each pixel with a cell's true dF/F peaks inside that cell.
    x = data.to_numpy()
    x = x - x.mean(0)
    tr = truth.arrays["traces"]
    cov = np.tensordot(tr - tr.mean(1, keepdims=True), x, axes=(1, 0))
    peaks = np.array(np.unravel_index(cov.reshape(len(tr), -1).argmax(1), (48, 48))).T
    dist = np.hypot(*(peaks - centres).T)
    assert np.mean(dist < 5.0) >= 0.9


def _phase_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shift (rows, cols) that moves ``b`` onto ``a``, with parabolic sub-pixel refinement."""
    win = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))  # image edges are not periodic
    a, b = a * win, b * win
    fa, fb = np.fft.fft2(a - a.mean()), np.fft.fft2(b - b.mean())
    r = np.fft.ifft2(fa * fb.conj() / (np.abs(fa * fb.conj()) + 1e-9)).real
    peak = np.array(np.unravel_index(r.argmax(), r.shape))
    out = []
    for ax in range(2):
        n = r.shape[ax]
        idx = [peak.copy() for _ in range(3)]
        for i, d in enumerate((-1, 0, 1)):
            idx[i][ax] = (peak[ax] + d) % n
        ym, y0, yp = (r[tuple(i)] for i in idx)
        frac = 0.5 * (ym - yp) / (ym - 2 * y0 + yp)
        p = peak[ax] + frac
        out.append(p - n if p > n / 2 else p)
    return np.array(out)


def test_motion_shifts_are_recoverable_by_phase_correlation(moving):
    (data, truth), (_, still) = moving
    shifts = truth.arrays["shifts"]
    assert np.abs(shifts).max() <= 3.0 and np.abs(shifts).max() > 1.0
    ref = still.clean.to_numpy()
    x = data.to_numpy()
    frames = np.arange(0, 600, 7)
    est = np.array([_phase_shift(x[t], ref[t]) for t in frames])
    err = np.hypot(*(est - shifts[frames]).T)
    assert np.median(err) < 0.2 and err.max() < 0.5


def test_motion_keeps_the_scene_and_logs_jumps(moving):
    (_, truth), (_, still) = moving
    for key in ("footprints", "spike_times", "traces"):
        assert np.array_equal(truth.arrays[key], still.arrays[key])
    assert not still.arrays["shifts"].any() and still.events == []
    jumps = truth.events_of("motion")
    assert jumps, "a 0.3/s jump rate over 20 s should log jumps"
    shifts = truth.arrays["shifts"]
    for ev in jumps:
        k = ev.extras["frame"]
        assert ev.onset == pytest.approx(k / 30.0) and ev.detector == "simulator"
        assert np.hypot(*(shifts[k] - shifts[k - 1])) >= 1.0
    steps = np.hypot(*np.diff(shifts, axis=0).T)
    logged = {ev.extras["frame"] for ev in jumps}
    assert all(k + 1 in logged for k in np.flatnonzero(steps > 1.5))


def test_integer_motion():
    _, truth = simulate_calcium((32, 32), duration=5.0, n_cells=4, motion=2, subpixel=False)
    shifts = truth.arrays["shifts"]
    assert np.array_equal(shifts, np.round(shifts)) and np.abs(shifts).max() <= 2


def test_same_seed_same_output_and_different_seed_differs():
    a = simulate_calcium((32, 32), n_frames=100, n_cells=5, motion=2.0, seed=7)
    b = simulate_calcium((32, 32), n_frames=100, n_cells=5, motion=2.0, seed=7)
    c = simulate_calcium((32, 32), n_frames=100, n_cells=5, motion=2.0, seed=8)
    assert np.array_equal(a.data.to_numpy(), b.data.to_numpy())
    assert np.array_equal(a.truth.clean.to_numpy(), b.truth.clean.to_numpy())
    for key, value in a.truth.arrays.items():
        assert np.array_equal(value, b.truth.arrays[key])
    assert a.truth.to_dict() == b.truth.to_dict()
    assert not np.array_equal(a.data.to_numpy(), c.data.to_numpy())
    assert not np.array_equal(a.truth.arrays["footprints"], c.truth.arrays["footprints"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tau_rise": 0.5, "tau_decay": 0.2},
        {"n_cells": -1},
        {"n_cells": 500},
        {"photons_per_pixel": 0},
        {"motion": -1.0},
        {"bleaching": 1.0},
        {"shape": (4, 4)},
        {"shape": (32,)},
        {"n_frames": 10, "duration": 1.0},
        {"frame_rate": 0},
        {"pixel_size": (1.0, -1.0)},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ParameterError):
        simulate_calcium(**{"shape": (32, 32), "n_frames": 20, "n_cells": 3, **kwargs})


def test_peak_memory_stays_near_the_output_size(peak_bytes):
    # Built a block of frames at a time: the peak is a few times movie + clean (float32).
    sim, peak = peak_bytes(lambda: simulate_calcium((64, 64), n_frames=1500, motion=2.0))
    output = sim.data.to_numpy().nbytes + sim.truth.clean.to_numpy().nbytes
    assert sim.data.to_numpy().dtype == sim.truth.clean.to_numpy().dtype == np.float32
    assert peak < 4 * output
