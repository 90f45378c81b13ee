"""simulate_fmri: tSNR, activation, spikes and motion measured on the output match the truth."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.core.errors import ParameterError
from neurolint.core.imaging import VolumeSeries
from neurolint.simulate.fmri import canonical_hrf, simulate_fmri

SHAPE = (24, 24, 16)


@pytest.fixture(scope="module")
def sim():
    return simulate_fmri(SHAPE, 100, tsnr=60.0, n_regions=2, seed=4)


@pytest.fixture(scope="module")
def spiky():
    return simulate_fmri(SHAPE, 80, spikes=4, seed=11)


@pytest.fixture(scope="module")
def moving():
    return simulate_fmri(SHAPE, 80, motion=1.5, seed=12)


def _legendre_residual(y: np.ndarray, extra: np.ndarray | None = None):
    x = np.polynomial.legendre.legvander(np.linspace(-1, 1, len(y)), 3)
    if extra is not None:
        x = np.column_stack([extra, x])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return x, coef, y - x @ coef


def test_output_is_a_time_first_volume_series(sim):
    data, truth = sim
    assert isinstance(data, VolumeSeries) and isinstance(truth.clean, VolumeSeries)
    assert data.shape == (100, *SHAPE) and data.tr == 2.0 and data.voxel_size == (3.0, 3.0, 3.0)
    assert data.to_numpy().dtype == np.float32 and np.all(np.isfinite(data.to_numpy()))
    assert np.allclose(data.affine[:3, :3], np.diag([3.0, 3.0, 3.0]))
    a = truth.arrays
    assert a["mask"].shape == SHAPE and a["mask"].dtype == bool
    assert a["regions"].shape == SHAPE and set(np.unique(a["regions"])) == {0, 1, 2}
    assert np.all(a["mask"][a["regions"] > 0])
    assert a["design"].shape == a["bold"].shape == (100,)
    assert a["motion_params"].shape == (100, 6) and not a["motion_params"].any()
    assert truth.events == [] and truth.params["seed"] == 4 and truth.to_json()


def test_achieved_tsnr_is_close_to_the_target(sim):
    data, truth = sim
    mask = truth.arrays["mask"]
    y = data.to_numpy()[:, mask].astype(np.float64)
    *_, resid = _legendre_residual(y)
    tsnr = np.median(y.mean(0) / resid.std(0, ddof=4))
    assert tsnr == pytest.approx(60.0, rel=0.1)
    assert truth.extras["tsnr"] == pytest.approx(tsnr, rel=1e-3)
    other = simulate_fmri(SHAPE, 100, tsnr=20.0, seed=4)[1].extras["tsnr"]
    assert other == pytest.approx(20.0, rel=0.1)


def test_clean_is_the_data_without_thermal_noise(sim):
    data, truth = sim
    mask = truth.arrays["mask"]
    resid = data.to_numpy()[:, mask] - truth.clean.to_numpy()[:, mask]
    sigma = truth.extras["thermal_sigma"]
    assert abs(resid.mean()) < 0.05 * sigma
    assert resid.std() == pytest.approx(sigma, rel=0.05)


def test_hrf_peaks_near_five_seconds_with_an_undershoot():
    h = canonical_hrf(0.1)
    assert 4.5 <= h.argmax() * 0.1 <= 6.0
    assert h.min() < 0 and 12 <= h.argmin() * 0.1 <= 18
    assert h.sum() * 0.1 == pytest.approx(1.0)


def test_bold_follows_the_block_design(sim):
    _, truth = sim
    design, bold = truth.arrays["design"], truth.arrays["bold"]
    assert design[:10].sum() == 0 and design[10:20].all()  # 20 s blocks at TR 2 s, off first
    lag = np.argmax([np.corrcoef(np.roll(design, k), bold)[0, 1] for k in range(6)])
    assert 2 <= lag <= 3  # a 4-6 s haemodynamic delay
    # Plateau 1 for long blocks; the undershoot-free rise overshoots a little on 20 s blocks.
    assert 1.0 <= bold.max() <= 1.2 and -0.2 <= bold.min() <= 0.0


def test_glm_finds_the_regions_and_nothing_else(sim):
    data, truth = sim
    mask, regions = truth.arrays["mask"], truth.arrays["regions"]
    y = data.to_numpy()[:, mask].astype(np.float64)
    x, coef, resid = _legendre_residual(y, truth.arrays["bold"])
    dof = len(y) - x.shape[1]
    se = np.sqrt((resid**2).sum(0) / dof * np.linalg.inv(x.T @ x)[0, 0])
    t = coef[0] / se
    active = regions[mask] > 0
    assert np.mean(t[active] > 3.5) > 0.9
    assert np.mean(t[~active] > 3.5) < 0.01
    # The fitted amplitude in percent of baseline is the signal change (2 %).
    pct = 100 * coef[0, active] / y[:, active].mean(0)
    assert np.median(pct) == pytest.approx(2.0, rel=0.2)


def test_spike_events_are_at_the_logged_volumes(spiky):
    data, truth = spiky
    x = data.to_numpy()
    mask = truth.arrays["mask"]
    spikes = truth.events_of("intensity_spike")
    assert len(spikes) == 4
    ratio = np.full((len(x), SHAPE[2]), 1.0)
    for z in np.flatnonzero(mask.sum((0, 1)) >= 10):
        means = x[:, :, :, z][:, mask[:, :, z]].mean(1)
        ratio[:, z] = means / np.median(means)
    for ev in spikes:
        k, z, factor = ev.extras["volume"], ev.extras["slice"], ev.extras["factor"]
        assert ev.detector == "simulator"
        if z is None:
            assert ev.onset == pytest.approx(k * 2.0) and ev.duration == 2.0
            brain = mask.sum((0, 1)) >= 10
            assert np.allclose(ratio[k, brain], factor, atol=0.05)
        else:
            assert ev.onset == pytest.approx(k * 2.0 + z * 2.0 / SHAPE[2])
            assert ratio[k, z] == pytest.approx(factor, abs=0.05)
    # Nowhere else does a slice jump by more than 10 %.
    hit = np.zeros_like(ratio, dtype=bool)
    for ev in spikes:
        k, z = ev.extras["volume"], ev.extras["slice"]
        hit[k, slice(None) if z is None else z] = True
    assert np.all(np.abs(ratio[~hit] - 1) < 0.1)


def test_motion_moves_the_brain_centroid_as_logged(moving):
    data, truth = moving
    params = truth.arrays["motion_params"]
    assert np.abs(params[:, :3]).max() > 0.5 and np.abs(params[:, :3]).max() <= 1.5
    x = data.to_numpy().astype(np.float64)
    w = np.where(x > 0.3 * truth.extras["baseline_median"], x, 0.0)
    grid = np.stack(np.meshgrid(*[np.arange(d) for d in SHAPE], indexing="ij"), -1) * 3.0
    centroid = np.einsum("txyz,xyzc->tc", w, grid) / w.sum((1, 2, 3))[:, None]
    shift = centroid - centroid[0]
    assert np.abs(shift - (params[:, :3] - params[0, :3])).max() < 0.25


def test_motion_events_are_logged_jumps(moving):
    _, truth = moving
    jumps = truth.events_of("motion")
    fd = truth.arrays["framewise_displacement"]
    assert jumps
    for ev in jumps:
        k = ev.extras["volume"]
        assert ev.onset == pytest.approx(2.0 * k)
        assert fd[k] == pytest.approx(ev.extras["framewise_displacement"]) and fd[k] >= 0.75
    logged = {e.extras["volume"] for e in jumps}
    assert np.all(fd[[k for k in range(len(fd)) if k not in logged]] < 0.75)


@pytest.mark.parametrize("which", ["spiky", "moving"])
def test_clean_has_no_motion_or_spikes(which, request):
    _, truth = request.getfixturevalue(which)
    clean = truth.clean.to_numpy()
    mask = truth.arrays["mask"]
    # Every clean volume stays within activation + drift + physiology of the baseline image.
    rel = clean[:, mask] / truth.arrays["baseline"][mask] - 1
    assert np.abs(rel).max() < 0.06


def test_same_seed_same_output_and_different_seed_differs():
    kw = dict(shape=(16, 16, 10), n_volumes=30, n_regions=1, spikes=2, motion=1.0)
    a, b, c = simulate_fmri(**kw, seed=1), simulate_fmri(**kw, seed=1), simulate_fmri(**kw, seed=2)
    assert np.array_equal(a.data.to_numpy(), b.data.to_numpy())
    assert np.array_equal(a.truth.clean.to_numpy(), b.truth.clean.to_numpy())
    assert a.truth.to_dict() == b.truth.to_dict()
    for key, value in a.truth.arrays.items():
        assert np.array_equal(value, b.truth.arrays[key])
    assert not np.array_equal(a.data.to_numpy(), c.data.to_numpy())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": (16, 16)},
        {"shape": (4, 16, 16)},
        {"n_volumes": 3},
        {"tr": 0},
        {"tsnr": -5},
        {"spikes": 100},
        {"motion": -1},
        {"voxel_size": (3, 3, 0)},
        {"n_regions": 40},
        {"physio": 10.0},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ParameterError):
        simulate_fmri(**{"shape": (16, 16, 10), "n_volumes": 30, "n_regions": 1, **kwargs})


def test_peak_memory_stays_near_the_output_size(peak_bytes):
    # Built a block of volumes at a time: the peak is a few times data + clean (float32), not
    # the ~18x of whole-run float64 temporaries.
    sim, peak = peak_bytes(lambda: simulate_fmri((32, 32, 24), 100, spikes=2, motion=1.0))
    output = sim.data.to_numpy().nbytes + sim.truth.clean.to_numpy().nbytes
    assert sim.data.to_numpy().dtype == sim.truth.clean.to_numpy().dtype == np.float32
    assert peak < 5 * output
