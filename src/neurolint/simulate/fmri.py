"""fMRI: a block-design BOLD response in spherical regions of an ellipsoid brain, with drift,
physiological noise, thermal noise at a target tSNR, intensity spikes and head motion."""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import Finding
from ..core.imaging import VolumeSeries
from ..core.validate import check_positive
from ._truth import GroundTruth, Simulation

__all__ = ["canonical_hrf", "simulate_fmri"]

# Baseline image intensity inside the brain (arbitrary scanner units).
_S0 = 1000.0
# Fine time step of the BOLD model, in TRs (the response is sampled at the volume times).
_OVERSAMPLE = 16
# Order of the Legendre drift; the tSNR is measured after removing the same order.
_DRIFT_ORDER = 3
# Head radius (mm) that turns rotations into displacements (Power et al. 2012).
_HEAD_RADIUS = 50.0
# Voxels (volumes x voxels per volume) built at once; bounds the working memory (~16 MB).
_CHUNK_ELEMENTS = 1 << 21


def canonical_hrf(dt: float, duration: float = 32.0) -> np.ndarray:
    """SPM's canonical double-gamma haemodynamic response, sampled every ``dt`` seconds.

    ``h(t) = g(t; 6) - g(t; 16) / 6`` with ``g(t; a) = t**(a-1) exp(-t) / Gamma(a)`` (peak
    delay 6 s, undershoot delay 16 s, dispersions 1 s, ratio 6), scaled so that its samples
    sum to ``1 / dt``: convolving a long block of ones gives a plateau of 1. It peaks near 5 s.

    Parameters
    ----------
    dt : float
        Sampling step in seconds.
    duration : float
        Length of the kernel in seconds. default: 32.

    Returns
    -------
    numpy.ndarray
        The kernel at ``t = 0, dt, 2 dt, ...`` (``t < duration``).
    """
    dt = check_positive("dt", dt)
    t = np.arange(0.0, check_positive("duration", duration), dt)

    def gamma_pdf(shape: float) -> np.ndarray:
        out = np.zeros_like(t)
        pos = t > 0
        out[pos] = np.exp((shape - 1) * np.log(t[pos]) - t[pos] - math.lgamma(shape))
        return out

    h = gamma_pdf(6.0) - gamma_pdf(16.0) / 6.0
    return h / (h.sum() * dt)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field."""
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (f - f.mean()) / f.std()


def _legendre(n: int, order: int) -> np.ndarray:
    """``(n, order + 1)`` Legendre polynomials over the run (column 0 is the constant)."""
    x = np.linspace(-1.0, 1.0, n)
    return np.polynomial.legendre.legvander(x, order)


def _detrended(y: np.ndarray, order: int) -> np.ndarray:
    """Residual of ``y`` (time first, 2-D) after least squares on Legendre polynomials."""
    basis = _legendre(y.shape[0], order)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return y - basis @ coef


def _measured_tsnr(data: np.ndarray, mask: np.ndarray) -> float:
    """Median over the mask of mean / std of the detrended voxel time series."""
    n = data.shape[0]
    flat = data.reshape(n, -1)
    voxels = np.flatnonzero(mask)
    basis, _ = np.linalg.qr(_legendre(n, _DRIFT_ORDER))  # orthonormal: resid = y - Q Q^T y
    step = max(1, _CHUNK_ELEMENTS // n)
    ratio = np.empty(voxels.size)
    for a in range(0, voxels.size, step):  # a block of voxels at a time (bounded memory)
        y = flat[:, voxels[a : a + step]].astype(np.float64)
        resid = y - basis @ (basis.T @ y)
        std = np.sqrt((resid**2).sum(0) / (n - _DRIFT_ORDER - 1))
        ratio[a : a + step] = y.mean(0) / np.maximum(std, 1e-12)
    return float(np.median(ratio))


def _physio_variance(
    card: np.ndarray,
    resp: np.ndarray,
    card_map: np.ndarray,
    resp_map: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """Variance over time, after the drift fit, of ``card * card_map + resp * resp_map``.

    ``card`` and ``resp`` are ``(n, n_slices)``; the fit is linear, so each voxel's variance
    follows from the detrended waveforms' per-slice (co)variances without a 4-D array.
    Returns the values at the voxels of ``mask`` (in ``mask``'s flat order).
    """
    c = _detrended(card, _DRIFT_ORDER)
    r = _detrended(resp, _DRIFT_ORDER)
    c -= c.mean(0)
    r -= r.mean(0)
    z = np.nonzero(mask)[2]
    cm, rm = card_map[mask], resp_map[mask]
    cc, cr, rr = (c * c).mean(0), (c * r).mean(0), (r * r).mean(0)
    return cm**2 * cc[z] + 2 * cm * rm * cr[z] + rm**2 * rr[z]


def _rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = (f(a) for a in (rx, ry, rz) for f in (math.cos, math.sin))
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return r_z @ r_y @ r_x


def _move(volume: np.ndarray, params: np.ndarray, voxel: np.ndarray) -> np.ndarray:
    """The head moved rigidly: world point ``p`` goes to ``R p + t`` (mm, about the centre)."""
    from scipy.ndimage import affine_transform

    centre = (np.array(volume.shape) - 1) / 2.0
    rot_t = _rotation(*params[3:]).T
    # Output voxel i shows input voxel c + V^-1 R^T (V (i - c) - t).
    matrix = (rot_t * voxel[None, :]) / voxel[:, None]
    offset = centre - matrix @ centre - (rot_t @ params[:3]) / voxel
    return affine_transform(volume, matrix, offset=offset, order=3, mode="constant", cval=0.0)


def _motion_params(
    rng: np.random.Generator, n: int, tr: float, motion: float
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 6) realignment parameters (mm, radians; SPM order) and the jump volumes.

    Slow drift (a linear trend plus a smooth wander over ~20 s, with small jitter) and at least
    one sudden jump whose framewise displacement is at least half of ``motion``.
    """
    from scipy.ndimage import gaussian_filter1d

    limit = np.array([motion] * 3 + [motion / _HEAD_RADIUS] * 3)
    wander = gaussian_filter1d(rng.standard_normal((6, n)), 20.0 / tr, axis=1, mode="nearest")
    wander /= wander.std(axis=1, keepdims=True)
    jitter = 0.01 * rng.standard_normal((6, n))  # breathing-like small volume-to-volume motion
    trend = np.linspace(0.0, 1.0, n)[None] * rng.uniform(-0.3, 0.3, size=(6, 1))
    slow = 0.2 * (wander - wander[:, :1]) + jitter - jitter[:, :1] + trend
    slow *= limit[:, None]
    n_jumps = 1 + rng.poisson(n * tr / 200.0)
    lo = max(1, n // 10)
    jumps = np.unique(rng.integers(lo, max(lo + 1, n - 1), size=n_jumps))
    targets = np.zeros((6, len(jumps) + 1))
    for j in range(len(jumps)):
        for _ in range(50):  # redraw jumps too small to count as motion
            step = rng.uniform(-0.6, 0.6, size=6) * limit
            target = targets[:, j] + step
            fd = np.abs(step[:3]).sum() + _HEAD_RADIUS * np.abs(step[3:]).sum()
            if fd >= 0.5 * motion and np.all(np.abs(target) <= limit):
                break
        targets[:, j + 1] = target
    idx = np.searchsorted(jumps, np.arange(n), side="right")  # jumps so far
    params = np.clip(targets[:, idx] + slow, -limit[:, None], limit[:, None]).T
    return params, jumps


def _framewise_displacement(params: np.ndarray) -> np.ndarray:
    d = np.abs(np.diff(params, axis=0, prepend=params[:1]))
    return d[:, :3].sum(1) + _HEAD_RADIUS * d[:, 3:].sum(1)


def simulate_fmri(
    shape: tuple[int, int, int] = (32, 32, 24),
    n_volumes: int = 120,
    tr: float = 2.0,
    *,
    voxel_size: tuple[float, float, float] = (3.0, 3.0, 3.0),
    n_regions: int = 3,
    region_radius: float = 6.0,
    block_duration: float = 20.0,
    signal_change: float = 2.0,
    tsnr: float = 60.0,
    drift: float = 2.0,
    physio: float = 0.5,
    spikes: int = 0,
    motion: float = 0.0,
    seed: int = 0,
) -> Simulation:
    """Simulate a block-design fMRI run with known activation, noise, spikes and motion.

    The brain is an ellipsoid (80 % of the field of view) of baseline intensity ~1000 with
    smooth 8 % inhomogeneity and a soft edge. Active regions are spheres whose signal follows
    the off/on block design convolved with :func:`canonical_hrf` (``signal_change`` percent at
    the plateau). Every voxel carries a slow Legendre drift (order 3) and cardiac (~1.1 Hz) and
    respiratory (~0.3 Hz) fluctuations sampled at each slice's acquisition time (ascending
    slices along the last axis), so they alias at the TR. Motion (a rigid 6-parameter
    transform per volume) moves the head; thermal noise is then added to the magnitude image
    (Rician: Gaussian in the real and imaginary parts) with one standard deviation for the
    whole image, chosen so that the median tSNR in the brain (drift removed) is ``tsnr``.
    Intensity spikes finally scale one volume or one slice.

    Parameters
    ----------
    shape : tuple of 3 int
        Volume size in voxels. default: (32, 32, 24).
    n_volumes : int
        Volumes. default: 120.
    tr : float
        Repetition time in seconds. default: 2.0.
    voxel_size : tuple of 3 float
        Voxel size in millimetres. default: (3.0, 3.0, 3.0).
    n_regions : int
        Active spherical regions. default: 3.
    region_radius : float
        Radius of the regions in millimetres. default: 6.
    block_duration : float
        Seconds of each off and each on block (the run starts off). default: 20.
    signal_change : float
        BOLD amplitude in percent of baseline at the plateau of a block. default: 2.0.
    tsnr : float
        Target median temporal SNR inside the brain mask. default: 60.
    drift : float
        Largest slow drift, percent of baseline; 0 for none. default: 2.0.
    physio : float
        Amplitude of the cardiac and of the respiratory fluctuation, percent of baseline;
        0 for none. default: 0.5.
    spikes : int
        Number of intensity spikes (a whole volume or one slice scaled by 15-35 %). default: 0.
    motion : float
        Head motion scale in millimetres: translations stay within ``motion`` mm and rotations
        within ``motion / 50`` rad; 0 for none. default: 0.
    seed : int
        Random seed; the same seed gives identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data``: :class:`~neurolint.core.imaging.VolumeSeries`, float32, time first.
        ``truth``: ``clean`` is the series without thermal noise, spikes and motion (activation,
        drift and physiological fluctuations kept); ``arrays`` hold ``mask`` (bool, x y z),
        ``regions`` (int16 labels, 0 = none), ``baseline`` (x y z), ``design`` (n_volumes,
        0/1), ``bold`` (n_volumes, the convolved regressor, plateau 1), ``hrf`` (sampled every
        TR/16 s), ``physio`` (n_volumes, 2: cardiac, respiratory waveforms at the first slice),
        ``motion_params`` (n_volumes, 6: x y z translations in mm, rotations about x y z in
        radians) and ``framewise_displacement`` (mm); ``events`` are ``"intensity_spike"``
        and ``"motion"`` (jumps); ``extras`` hold the achieved ``tsnr`` (measured on the data),
        the thermal noise sigma and motion summaries.
    """
    dims = _check_ints("shape", shape, 3, minimum=8)
    voxel = _check_floats("voxel_size", voxel_size, 3)
    if int(n_volumes) != n_volumes or n_volumes < _DRIFT_ORDER + 8:
        raise ParameterError(f"n_volumes={n_volumes!r} must be an integer >= {_DRIFT_ORDER + 8}.")
    n = int(n_volumes)
    tr = check_positive("tr", tr)
    if int(n_regions) != n_regions or n_regions < 0:
        raise ParameterError(f"n_regions={n_regions!r} must be an integer >= 0.")
    n_regions = int(n_regions)
    radius = check_positive("region_radius", region_radius)
    block = check_positive("block_duration", block_duration)
    change = check_positive("signal_change", signal_change, allow_zero=True) / 100.0
    tsnr = check_positive("tsnr", tsnr)
    drift = check_positive("drift", drift, allow_zero=True) / 100.0
    physio = check_positive("physio", physio, allow_zero=True) / 100.0
    if int(spikes) != spikes or not 0 <= spikes <= n - 2:
        raise ParameterError(f"spikes={spikes!r} must be an integer from 0 to n_volumes - 2.")
    spikes = int(spikes)
    motion = check_positive("motion", motion, allow_zero=True)
    params = {
        "shape": list(dims),
        "n_volumes": n,
        "tr": tr,
        "voxel_size": voxel.tolist(),
        "n_regions": n_regions,
        "region_radius": radius,
        "block_duration": block,
        "signal_change": change * 100,
        "tsnr": tsnr,
        "drift": drift * 100,
        "physio": physio * 100,
        "spikes": spikes,
        "motion": motion,
        "seed": seed,
    }
    streams = np.random.default_rng(seed).spawn(6)
    rng_brain, rng_regions, rng_drift, rng_phys, rng_motion, rng_noise = streams

    # Brain: an ellipsoid with a soft edge and smooth inhomogeneity.
    centre = (np.array(dims) - 1) / 2.0
    grid = np.stack(np.meshgrid(*[np.arange(d) for d in dims], indexing="ij"), -1)
    pos_mm = (grid - centre) * voxel
    semi = 0.4 * np.array(dims) * voxel
    r = np.sqrt(((pos_mm / semi) ** 2).sum(-1))
    mask = r <= 1.0
    edge = 0.5 * float(np.min(voxel / semi))
    field = _smooth_field(rng_brain, dims, 2.0)
    baseline = _S0 * (1.0 + 0.08 * field) / (1.0 + np.exp((r - 1.0) / edge))

    # Active regions: non-overlapping spheres well inside the brain.
    regions = np.zeros(dims, dtype=np.int16)
    if n_regions:
        inner = mask & (r <= 1.0 - (radius + voxel.max()) / semi.min())
        candidates = pos_mm[inner]
        if len(candidates) == 0:
            raise ParameterError("region_radius is too large for the brain; make it smaller.")
        order = rng_regions.permutation(len(candidates))
        centres: list[np.ndarray] = []
        for c in candidates[order[: 50 * n_regions]]:
            if all(np.linalg.norm(c - o) >= 2 * radius + voxel.max() for o in centres):
                centres.append(c)
                if len(centres) == n_regions:
                    break
        if len(centres) < n_regions:
            raise ParameterError(
                f"{n_regions} regions of {radius} mm do not fit; use fewer or smaller regions."
            )
        for label, c in enumerate(centres, start=1):
            regions[np.linalg.norm(pos_mm - c, axis=-1) <= radius] = label
    region_centres = [c.tolist() for c in centres] if n_regions else []

    # Block design and its BOLD response, modelled on a fine grid then sampled at t = k * TR.
    dt = tr / _OVERSAMPLE
    t_fine = np.arange(n * _OVERSAMPLE) * dt
    boxcar = (np.floor(t_fine / block) % 2 == 1).astype(np.float64)
    hrf = canonical_hrf(dt)
    bold = (np.convolve(boxcar, hrf)[: t_fine.size] * dt)[::_OVERSAMPLE]
    design = boxcar[::_OVERSAMPLE]
    times = np.arange(n) * tr

    # Drift: Legendre polynomials of order 1-3, largest excursion `drift`, smooth in space.
    coef = rng_drift.standard_normal(_DRIFT_ORDER)
    trend = _legendre(n, _DRIFT_ORDER)[:, 1:] @ coef
    trend *= drift / max(np.abs(trend).max(), 1e-12)
    drift_map = 1.0 + 0.3 * _smooth_field(rng_drift, dims, 3.0)

    # Physiology at each slice's acquisition time: aliased cardiac and respiratory cycles.
    slice_times = times[:, None] + np.arange(dims[2])[None] * tr / dims[2]
    f_card, f_resp = rng_phys.uniform(1.0, 1.2), rng_phys.uniform(0.25, 0.33)
    phase0 = rng_phys.uniform(0, 2 * np.pi, size=4)

    def cycle(f0: float, df: float, period: float, p0: float, p1: float) -> np.ndarray:
        # Phase of a rate that wanders by +-df around f0 (heart and breathing vary).
        phase = 2 * np.pi * f0 * slice_times + df * period * np.sin(
            2 * np.pi * slice_times / period + p1
        )
        return np.cos(phase + p0)

    card = cycle(f_card, 0.05, 37.0, phase0[0], phase0[1])
    card = (card + 0.3 * (2 * card**2 - 1)) / 1.3  # with a second harmonic; peak 1
    resp = cycle(f_resp, 0.02, 53.0, phase0[2], phase0[3])
    card_map = 0.6 + 0.4 * np.tanh(_smooth_field(rng_phys, dims, 2.5))
    resp_map = 0.6 + 0.4 * (pos_mm[..., 1] / semi[1]).clip(-1, 1)

    # One thermal sigma for the image: the median voxel in the brain then has tSNR = tsnr
    # (voxel tSNR >= target exactly when (S0 / tsnr)^2 - physio variance >= sigma^2).
    phys_var = (
        _physio_variance(card, resp, card_map, resp_map, mask) * (physio * baseline[mask]) ** 2
    )
    room = (baseline[mask] / tsnr) ** 2 - phys_var
    sigma2 = float(np.median(room))
    if sigma2 <= 0:
        raise ParameterError(
            f"physio={physio * 100:g} % alone gives a tSNR below {tsnr:g}; lower physio or tsnr."
        )
    sigma = math.sqrt(sigma2)

    if motion > 0:
        motion_params, jumps = _motion_params(rng_motion, n, tr, motion)
    else:
        motion_params, jumps = np.zeros((n, 6)), np.zeros(0, dtype=np.int64)

    # Clean series, motion and thermal noise, a block of volumes at a time (bounded memory):
    # baseline * (1 + activation + drift + physiology), moved rigidly, then the magnitude of
    # the complex image with Gaussian noise in both parts (Rician).
    active = (change * (regions > 0)).astype(np.float64)
    clean = np.empty((n, *dims), dtype=np.float32)
    data = np.empty((n, *dims), dtype=np.float32)
    step = max(1, _CHUNK_ELEMENTS // int(np.prod(dims)))
    for a in range(0, n, step):
        b = min(n, a + step)
        block = trend[a:b, None, None, None] * drift_map
        block += bold[a:b, None, None, None] * active
        block += physio * card[a:b, None, None, :] * card_map
        block += physio * resp[a:b, None, None, :] * resp_map
        block += 1.0
        block *= baseline
        clean[a:b] = block
        if motion > 0:
            for k in range(a, b):  # one rigid transform per volume
                if motion_params[k].any():
                    block[k - a] = _move(block[k - a], motion_params[k], voxel)
            np.maximum(block, 0.0, out=block)
        noise = rng_noise.standard_normal((2, b - a, *dims), dtype=np.float32)
        noise *= sigma
        block += noise[0]
        np.hypot(block, noise[1], out=data[a:b])  # magnitude image: Rician
        del block, noise

    events = []
    fd = _framewise_displacement(motion_params)
    for k in jumps.tolist():
        events.append(
            Finding(
                onset=k * tr,
                duration=tr,
                kind="motion",
                detector="simulator",
                extras={"volume": k, "framewise_displacement": float(fd[k])},
            )
        )
    if spikes:
        vols = np.sort(rng_noise.choice(np.arange(1, n - 1), size=spikes, replace=False))
        in_brain = np.flatnonzero(mask.any(axis=(0, 1)))
        for k in vols.tolist():
            factor = 1.0 + rng_noise.choice([-1.0, 1.0]) * rng_noise.uniform(0.15, 0.35)
            if rng_noise.random() < 0.5:
                z = int(rng_noise.choice(in_brain))
                data[k, :, :, z] *= factor
                onset, length = k * tr + z * tr / dims[2], tr / dims[2]
            else:
                z = None
                data[k] *= factor
                onset, length = k * tr, tr
            events.append(
                Finding(
                    onset=onset,
                    duration=length,
                    kind="intensity_spike",
                    detector="simulator",
                    extras={"volume": k, "slice": z, "factor": float(factor)},
                )
            )
    events.sort(key=lambda e: e.onset)

    affine = np.diag([*voxel, 1.0])
    affine[:3, 3] = -centre * voxel  # world origin at the centre of the volume
    meta = {"simulated": "fmri", "seed": seed}
    extras = {
        "tsnr": _measured_tsnr(data, mask),
        "tsnr_target": tsnr,
        "thermal_sigma": sigma,
        "baseline_median": float(np.median(baseline[mask])),
        "n_mask_voxels": int(mask.sum()),
        "n_active_voxels": int((regions > 0).sum()),
        "region_centres_mm": region_centres,
        "cardiac_frequency": float(f_card),
        "respiratory_frequency": float(f_resp),
        "max_framewise_displacement": float(fd.max()),
        "mean_framewise_displacement": float(fd.mean()),
    }
    arrays = {
        "mask": mask,
        "regions": regions,
        "baseline": baseline.astype(np.float32),
        "design": design,
        "bold": bold,
        "hrf": hrf,
        "physio": np.stack([card[:, 0], resp[:, 0]], axis=1),
        "motion_params": motion_params,
        "framewise_displacement": fd,
    }
    kwargs = {"voxel_size": tuple(voxel.tolist()), "affine": affine, "meta": meta}
    truth = GroundTruth(
        simulator="fmri",
        params=params,
        events=events,
        channels=[],
        clean=VolumeSeries(clean, tr, **kwargs),
        arrays=arrays,
        extras=extras,
    )
    return Simulation(VolumeSeries(data, tr, **kwargs), truth)


def _check_ints(name: str, value, n: int, *, minimum: int) -> tuple[int, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be {n} integers.") from None
    if len(out) != n or any(v != int(v) or v < minimum for v in out):
        raise ParameterError(f"{name}={value!r} must be {n} integers >= {minimum}.")
    return tuple(int(v) for v in out)


def _check_floats(name: str, value, n: int) -> np.ndarray:
    try:
        out = np.array([float(v) for v in value])
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be {n} positive numbers.") from None
    if out.shape != (n,) or not np.all(np.isfinite(out) & (out > 0)):
        raise ParameterError(f"{name}={value!r} must be {n} positive numbers.")
    return out
