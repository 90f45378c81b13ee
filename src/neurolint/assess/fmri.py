"""Quality of fMRI runs: intensity spikes and slice dropouts, head motion, tSNR.

The series is read twice, in blocks of volumes, so memory is bounded by the block:

1. per volume and slice, the mean inside the brain mask. A volume whose mean, or a slice
   whose mean, departs from its running median over ``spike_window`` volumes by more than
   ``spike_threshold`` robust z-scores and ``spike_min_change`` (relative) is an
   ``intensity_spike``. A slice dropout (a slice far darker than in the volumes around it)
   is the same finding with the slice named: kind ``intensity_spike``, ``extras["slice"]``
   the slice index (last spatial axis), ``extras["scope"]`` ``"slice"`` (``"volume"`` when
   most slices or the whole-brain mean moved). Events span the whole volume (onset
   ``t * TR``, duration ``TR``), since slice timing varies between sequences.
2. DVARS (RMS over the mask of the volume-to-volume difference; Power et al. 2012), its
   robust z-score (median and MAD over the run), head motion and tSNR. A volume whose DVARS
   z-scores into *and* out of it both exceed ``dvars_threshold`` is also a spike (a spike
   changes two differences, a motion step one). Motion: a rigid translation by phase
   correlation against a reference volume, then one linearised least-squares step (the
   reference's gradients, smoothed) for the residual translation and the three rotations,
   after undoing the volume's (and a flagged slice's) intensity change. Framewise
   displacement (FD, Power et al. 2012) sums the absolute changes of the translations (mm)
   and of the rotations times ``head_radius``; volumes with FD above ``fd_threshold`` are
   ``motion`` events. tSNR per voxel is the mean over the standard deviation of the voxel's
   series after removing Legendre polynomials up to ``detrend_order``, over every usable
   volume (spikes and motion included, as tSNR is usually reported), accumulated block by
   block from the projections on an orthonormal basis.

The brain mask is an Otsu threshold of the reference volume (the median of a few volumes in
the middle of the run).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import DataValueError, ShapeError
from ..core.findings import Finding
from ..core.imaging import VolumeSeries
from ..core.validate import check_positive
from ._frames import (
    _check_fraction,
    _check_int,
    _check_workers,
    _event,
    _fill_nonfinite,
    _gap_events,
    _outliers,
    _robust_scale,
)
from ._motion import _frequency_grid, _gaussian_spectrum, _phase_correlate
from .base import Detection

__all__ = ["FmriDetector"]

# Voxels (volumes x voxels per volume) read and transformed at once: ~8 MB of float32.
_BLOCK_ELEMENTS = 1 << 21
# Shortest run that DVARS, a running median and a detrended tSNR make sense for.
_MIN_VOLUMES = 3


def _otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold that best separates ``values`` into two classes (Otsu 1979)."""
    hist, edges = np.histogram(values, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = m0 / w0
        mu1 = (m0[-1] - m0) / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


class FmriDetector:
    """Find intensity spikes, slice dropouts, head motion and missing volumes in an fMRI run,
    with DVARS, framewise displacement and tSNR.

    Parameters
    ----------
    fd_threshold : float
        Framewise displacement (mm; voxels when the voxel size is unknown) above which a
        volume is a ``motion`` event. default: 0.5.
    head_radius : float
        Radius (mm) turning rotations into displacements in FD. default: 50.
    spike_threshold : float
        Robust z-score of a volume's or slice's mean against its running median above which
        it is an ``intensity_spike``. default: 8.
    spike_min_change : float
        ... and the least relative change of that mean (both must hold). default: 0.05.
    spike_window : int
        Volumes in the running median. default: 5.
    dvars_threshold : float
        Robust z-score of DVARS into and out of a volume above which it is a spike.
        default: 6.
    min_slice_voxels : int
        Slices with fewer brain voxels are not judged on their own. default: 1.
    gap_nan_fraction : float
        Fraction of NaN/inf voxels above which a volume counts as missing (``gap``).
        default: 0.5.
    estimate_rotation : bool
        Estimate rotations too (one linearised step after the phase-correlation
        translation); ``False`` gives translation only. On a run one slice thick, motion
        across the slice (its translation and the two tilts) cannot be measured and is
        reported as 0. default: ``True``.
    detrend_order : int
        Highest Legendre polynomial order removed before the tSNR. default: 3.
    n_reference : int
        Volumes in the middle of the run whose median is the reference. default: 5.
    smooth_sigma : float
        Gaussian smoothing (voxels) of the phase correlation and of the images in the
        rotation step. default: 0.5.
    block_size : int | None
        Volumes read at once (bounds memory). default: ``None`` (about 2 million voxels).
    n_jobs : int
        Threads for the FFTs; -1 uses every core. default: 1.
    progress_bar : bool
        Show a progress bar while reading. default: ``False``.

    Attributes
    ----------
    reference_ : numpy.ndarray
        ``(X, Y, Z)`` reference volume, set by :meth:`fit`.
    mask_ : numpy.ndarray
        ``(X, Y, Z)`` boolean brain mask (Otsu threshold of ``reference_``).
    voxel_size_ : tuple of 3 float
        Voxel size used for FD (1, 1, 1 when the series does not say).
    units_ : str
        ``"mm"`` or ``"voxels"``.
    """

    detector_name = "fmri"

    def __init__(
        self,
        *,
        fd_threshold: float = 0.5,
        head_radius: float = 50.0,
        spike_threshold: float = 8.0,
        spike_min_change: float = 0.05,
        spike_window: int = 5,
        dvars_threshold: float = 6.0,
        min_slice_voxels: int = 1,
        gap_nan_fraction: float = 0.5,
        estimate_rotation: bool = True,
        detrend_order: int = 3,
        n_reference: int = 5,
        smooth_sigma: float = 0.5,
        block_size: int | None = None,
        n_jobs: int = 1,
        progress_bar: bool = False,
    ) -> None:
        self.fd_threshold = fd_threshold
        self.head_radius = head_radius
        self.spike_threshold = spike_threshold
        self.spike_min_change = spike_min_change
        self.spike_window = spike_window
        self.dvars_threshold = dvars_threshold
        self.min_slice_voxels = min_slice_voxels
        self.gap_nan_fraction = gap_nan_fraction
        self.estimate_rotation = estimate_rotation
        self.detrend_order = detrend_order
        self.n_reference = n_reference
        self.smooth_sigma = smooth_sigma
        self.block_size = block_size
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar

    def _validated(self) -> dict[str, Any]:
        return {
            "fd_threshold": check_positive("fd_threshold", self.fd_threshold),
            "head_radius": check_positive("head_radius", self.head_radius),
            "spike_threshold": check_positive("spike_threshold", self.spike_threshold),
            "spike_min_change": check_positive(
                "spike_min_change", self.spike_min_change, allow_zero=True
            ),
            "spike_window": _check_int("spike_window", self.spike_window, 3),
            "dvars_threshold": check_positive("dvars_threshold", self.dvars_threshold),
            "min_slice_voxels": _check_int("min_slice_voxels", self.min_slice_voxels, 1),
            "gap_nan_fraction": _check_fraction("gap_nan_fraction", self.gap_nan_fraction),
            "estimate_rotation": bool(self.estimate_rotation),
            "detrend_order": _check_int("detrend_order", self.detrend_order, 0),
            "n_reference": _check_int("n_reference", self.n_reference, 1),
            "smooth_sigma": check_positive("smooth_sigma", self.smooth_sigma, allow_zero=True),
            "block_size": None
            if self.block_size is None
            else _check_int("block_size", self.block_size, 1),
            "workers": _check_workers(self.n_jobs),
        }

    @staticmethod
    def _check_series(vol: Any) -> VolumeSeries:
        if not isinstance(vol, VolumeSeries):
            raise ShapeError(
                f"FmriDetector takes a neurolint VolumeSeries, not {type(vol).__name__}; wrap "
                "a (volumes, x, y, z) array with neurolint.VolumeSeries(data, tr)."
            )
        if vol.n_volumes < _MIN_VOLUMES:
            raise ShapeError(
                f"The run has {vol.n_volumes} volume(s); fMRI quality needs at least "
                f"{_MIN_VOLUMES}. Check that the whole run was read."
            )
        return vol

    def fit(self, vol: VolumeSeries) -> FmriDetector:
        """Build the reference volume and the brain mask.

        Parameters
        ----------
        vol : VolumeSeries

        Returns
        -------
        FmriDetector
            ``self``, with ``reference_``, ``mask_``, ``voxel_size_`` and ``units_`` set.
        """
        p = self._validated()
        vol = self._check_series(vol)
        self.reference_, self.mask_ = _reference_and_mask(vol, p)
        self.voxel_size_, self.units_ = _voxel_units(vol)
        return self

    def detect(self, vol: VolumeSeries) -> Detection:
        """Assess an fMRI run.

        Without a prior :meth:`fit`, the reference and mask come from this run (and are not
        kept).

        Parameters
        ----------
        vol : VolumeSeries

        Returns
        -------
        Detection
            ``detector="fmri"``; events of kinds ``intensity_spike`` (``extras``: ``feature``
            ``"global_mean_change"``, ``"slice_mean_change"`` or ``"dvars_z"``, ``value``,
            ``threshold``, ``volume``, ``scope``, ``slice``, ``slices``), ``motion``
            (``feature`` ``"framewise_displacement"``) and ``gap``; ``traces``: ``dvars``
            (T,), ``dvars_z`` (T,), ``fd`` (T,), ``translation`` (T, 3) and ``rotation``
            (T, 3, radians) against the reference, ``tsnr_map`` (X, Y, Z; 0 outside the
            mask), ``tsnr_median`` (float), ``global_mean`` (T,), ``slice_means`` (T, Z),
            ``mask`` (X, Y, Z) and ``units``. The first volume's DVARS and FD are 0; motion
            is NaN on gap volumes.
        """
        p = self._validated()
        vol = self._check_series(vol)
        shape = tuple(vol.shape[1:])
        reference = getattr(self, "reference_", None)
        if reference is None:
            reference, mask = _reference_and_mask(vol, p)
            voxel, units = _voxel_units(vol)
        else:
            if tuple(reference.shape) != shape:
                raise ShapeError(
                    f"The detector was fitted on volumes of {reference.shape} but this run has "
                    f"{shape}; fit it on this run."
                )
            mask, voxel, units = self.mask_, self.voxel_size_, self.units_
        first = _scan_means(vol, mask, p, self.progress_bar)
        spikes = _mean_spikes(first, p)
        second = _scan_motion(
            vol, reference, mask, np.asarray(voxel), first, spikes, p, self.progress_bar
        )
        return _fmri_detection(vol, mask, units, first, spikes, second, p)


def _voxel_units(vol: VolumeSeries) -> tuple[tuple[float, float, float], str]:
    if vol.voxel_size is None:
        return (1.0, 1.0, 1.0), "voxels"
    return tuple(float(v) for v in vol.voxel_size), "mm"  # type: ignore[return-value]


def _usable(block: np.ndarray, nonfinite: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    flat = block.reshape(len(block), -1)
    return (nonfinite < p["gap_nan_fraction"]) & (flat.max(axis=1) > flat.min(axis=1))


def _reference_and_mask(vol: VolumeSeries, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Median of up to ``n_reference`` usable volumes from the middle of the run, and its
    Otsu mask."""
    n, k = vol.n_volumes, p["n_reference"]
    order = np.argsort(np.abs(np.arange(n) - (n - 1) / 2.0), kind="stable")  # middle first
    found: list[np.ndarray] = []
    for t in order.tolist():  # one volume at a time: lost volumes are skipped, memory bounded
        v = vol.get_data(t, t + 1)
        nonfinite, _ = _fill_nonfinite(v)
        if _usable(v, nonfinite, p)[0]:
            found.append(v[0])
            if len(found) == k:
                break
    if not found:
        raise DataValueError(
            "The run has no usable volume (every volume is NaN, inf or constant); check that "
            "the right file was read."
        )
    reference = np.median(np.stack(found[:k]), axis=0).astype(np.float32)
    mask = reference > _otsu_threshold(reference.ravel())
    if not mask.any():
        mask = np.ones(reference.shape, dtype=bool)
    return reference, mask


def _scan_means(
    vol: VolumeSeries, mask: np.ndarray, p: dict[str, Any], progress_bar: bool
) -> dict[str, Any]:
    """First pass: per-volume and per-slice means inside the mask, NaN and constant volumes."""
    n = vol.n_volumes
    nz = mask.shape[2]
    count_z = mask.sum(axis=(0, 1)).astype(np.float64)
    block = p["block_size"] or max(1, _BLOCK_ELEMENTS // mask.size)
    weights = mask.astype(np.float32)
    out = {
        "nonfinite": np.zeros(n),
        "usable": np.zeros(n, dtype=bool),
        "slice_sum": np.zeros((n, nz)),
        "count_z": count_z,
    }
    for chunk, data in vol.iter_chunks(chunk_size=block, progress_bar=progress_bar):
        a, b = chunk.start, chunk.stop
        nonfinite, _ = _fill_nonfinite(data)
        out["nonfinite"][a:b] = nonfinite
        out["usable"][a:b] = _usable(data, nonfinite, p)
        out["slice_sum"][a:b] = np.einsum("txyz,xyz->tz", data, weights, dtype=np.float64)
    total = max(float(count_z.sum()), 1.0)
    out["global_mean"] = out["slice_sum"].sum(axis=1) / total
    out["slice_means"] = np.divide(
        out["slice_sum"], count_z, out=np.zeros_like(out["slice_sum"]), where=count_z > 0
    )
    return out


def _mean_spikes(first: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """Volumes and slices whose mean departs from its running median."""
    usable = first["usable"]
    n, nz = first["slice_means"].shape
    idx = np.flatnonzero(usable)
    out = {
        "volume": np.zeros(n, dtype=bool),
        "slices": np.zeros((n, nz), dtype=bool),
        "global_rel": np.zeros(n),
        "slice_rel": np.zeros((n, nz)),
        "global_thr": float("inf"),
        "slice_thr": np.full(nz, np.inf),
    }
    if idx.size < _MIN_VOLUMES:
        return out
    g = first["global_mean"][idx]
    level = float(np.median(g))
    if level <= 0:
        return out
    w, z, m = p["spike_window"], p["spike_threshold"], p["spike_min_change"]
    # A slice must stand out from the volumes right beside it (two motion steps in a row
    # lift an edge slice for a volume or two as a longer spike would), looking past
    # whole-volume spikes; the whole-brain mean hardly moves with the head, so spikes of a
    # few volumes in a row count there.
    g_flag, g_rel, g_thr = _outliers(g, level, w, z, m)
    s_level = np.median(first["slice_means"][idx], axis=0)
    judged = (first["count_z"] >= p["min_slice_voxels"]) & (s_level > 0)
    s_flag, s_rel, s_thr = _outliers(
        first["slice_means"][idx][:, judged], s_level[judged], w, z, m, skip=g_flag[:, None]
    )
    # Most slices moving together is a whole-volume spike; so is a change of the whole-brain
    # mean that no slice explains. A few slices moving the mean (a dropout) stay slices.
    n_flagged = s_flag.sum(axis=1)
    many = n_flagged >= max(1, 0.5 * max(int(judged.sum()), 1))
    out["volume"][idx] = many | (g_flag & (n_flagged == 0))
    slices = np.zeros((idx.size, nz), dtype=bool)
    slices[:, judged] = s_flag
    out["slices"][idx] = slices
    out["global_rel"][idx] = g_rel
    rel = np.zeros((idx.size, nz))
    rel[:, judged] = s_rel
    out["slice_rel"][idx] = rel
    out["global_thr"] = float(g_thr)
    thr = np.full(nz, np.inf)
    thr[judged] = s_thr
    out["slice_thr"] = thr
    return out


def _rotation_model(reference: np.ndarray, voxel: np.ndarray, sigma: float) -> np.ndarray:
    """Least-squares weights ``(n_freq, 6)`` giving the residual translation (mm) and the
    rotations (rad) of a volume from its smoothed, shift-corrected spectrum.

    Moving the head by translation ``t`` (mm) and small rotation ``w`` (rad) about the volume
    centre changes the image by about ``-grad . t - w . (p x grad)`` (the smoothed
    reference's gradient); two more columns absorb a residual intensity scale and offset. The
    pseudo-inverse rows are moved to the Fourier domain (Parseval), so the fit needs no
    inverse FFT; the smoothing is folded into them.
    """
    import scipy.fft

    shape = reference.shape
    gauss = _gaussian_spectrum(shape, sigma)
    smooth = scipy.fft.irfftn(scipy.fft.rfftn(reference) * gauss, s=shape)
    # Along an axis one voxel thick (a single-slice acquisition) nothing moves measurably:
    # its gradient is 0, and so is the motion it would carry (translation along it and
    # the rotations that tilt the slice).
    grad = np.stack(
        [
            np.gradient(smooth, float(d), axis=i) if shape[i] > 1 else np.zeros_like(smooth)
            for i, d in enumerate(voxel)
        ],
        axis=-1,
    ).reshape(-1, 3)
    centre = (np.array(shape) - 1) / 2.0
    pos = (np.indices(shape).reshape(3, -1).T - centre) * voxel
    design = np.concatenate(
        [-grad, -np.cross(pos, grad), smooth.reshape(-1, 1), np.ones((grad.shape[0], 1))], axis=1
    )
    pinv = np.linalg.pinv(design)[:6]
    pinv[~design[:, :6].any(axis=0)] = 0.0  # unmeasurable (one slice): exactly 0, not 1e-17
    pinv = pinv.reshape(6, *shape)
    spec = scipy.fft.rfftn(pinv, axes=(1, 2, 3))
    # Half-spectrum weights: every bin but the first (and the last, for even sizes) of the
    # last axis stands for itself and its mirror.
    half = np.full(spec.shape[-1], 2.0)
    half[0] = 1.0
    if shape[-1] % 2 == 0:
        half[-1] = 1.0
    weights = np.conj(spec) * (half * gauss / smooth.size)
    return weights.reshape(6, -1).T.astype(np.complex64)


def _scan_motion(
    vol: VolumeSeries,
    reference: np.ndarray,
    mask: np.ndarray,
    voxel: np.ndarray,
    first: dict[str, Any],
    spikes: dict[str, Any],
    p: dict[str, Any],
    progress_bar: bool,
) -> dict[str, Any]:
    """Second pass: DVARS, motion and the tSNR sums."""
    import scipy.fft

    n = vol.n_volumes
    shape = reference.shape
    axes = (1, 2, 3)
    block = p["block_size"] or max(1, _BLOCK_ELEMENTS // reference.size)
    usable = first["usable"]
    gauss = _gaussian_spectrum(shape, p["smooth_sigma"])
    ref = reference.astype(np.float32)
    ref_conj = np.conj(scipy.fft.rfftn(ref - ref.mean()))
    ref_level = float(ref[mask].mean())
    if p["estimate_rotation"]:
        weights = _rotation_model(ref, voxel, p["smooth_sigma"])
        grid = _frequency_grid(shape)

    # tSNR: projections of every mask voxel's series on an orthonormal Legendre basis over
    # the usable volumes, accumulated block by block.
    idx = np.flatnonzero(usable)
    order = min(p["detrend_order"], max(idx.size - 2, 0))
    x = np.linspace(-1.0, 1.0, n)[idx]
    basis = np.zeros((n, order + 1))  # zero rows for lost volumes: they add nothing
    basis[idx] = np.linalg.qr(np.polynomial.legendre.legvander(x, order))[0]
    mask_idx = np.flatnonzero(mask)
    n_mask = mask_idx.size
    proj = np.zeros((order + 1, n_mask))
    total = np.zeros(n_mask)
    sumsq = np.zeros(n_mask)

    dvars = np.zeros(n)
    params = np.full((n, 6), np.nan)
    previous: np.ndarray | None = None  # mask voxels of the last usable volume

    for chunk, data in vol.iter_chunks(chunk_size=block, progress_bar=progress_bar):
        a, b = chunk.start, chunk.stop
        _fill_nonfinite(data)
        ok = usable[a:b]
        if not ok.any():
            continue
        sel = np.flatnonzero(ok)
        inside = np.take(data.reshape(len(data), -1)[sel], mask_idx, axis=1).astype(np.float64)
        proj += basis[a + sel].T @ inside
        total += inside.sum(axis=0)
        sumsq += np.einsum("ij,ij->j", inside, inside)
        for i, t in enumerate((a + sel).tolist()):
            if previous is not None:
                dvars[t] = float(np.sqrt(np.mean((inside[i] - previous) ** 2)))
            previous = inside[i]

        # Motion on intensity-corrected volumes (a spike must not read as movement): each
        # volume scaled to the reference's brightness, a spiked slice scaled back, a lost
        # slice (less than half its brightness left) filled from the slices beside it.
        moving = data[sel]
        scale = first["global_mean"][a + sel] / max(ref_level, 1e-30)
        scale = np.where(scale > 0, scale, 1.0)
        lone = spikes["slices"][a + sel] & ~spikes["volume"][a + sel, None]
        factor = np.where(lone, 1.0 + spikes["slice_rel"][a + sel], 1.0)
        lost = factor < 0.5
        factor[lost] = 1.0
        moving /= (scale[:, None] * factor)[:, None, None, :].astype(np.float32)
        for i, z in zip(*np.nonzero(lost), strict=True):
            beside = [k for k in (z - 1, z + 1) if 0 <= k < shape[2] and not lost[i, k]]
            moving[i, :, :, z] = moving[i][:, :, beside].mean(axis=-1) if beside else 0.0
        spec = scipy.fft.rfftn(moving, axes=axes, workers=p["workers"])
        shift, _ = _phase_correlate(spec, ref_conj, gauss, shape, p["workers"])
        params[a + sel, :3] = shift * voxel
        params[a + sel, 3:] = 0.0
        if p["estimate_rotation"]:
            # Undo the shift: a separable phase ramp, one axis at a time (no 4-D exp).
            for i in range(3):
                ramp = np.exp(2j * np.pi * shift[:, i, None] * grid[i].ravel()[None])
                view = [len(sel), 1, 1, 1]
                view[i + 1] = ramp.shape[1]
                spec *= ramp.astype(np.complex64).reshape(view)
            # The reference is a column of the model: its own fit is zero motion.
            theta = (spec.reshape(len(sel), -1) @ weights).real
            params[a + sel, :3] += theta[:, :3]
            params[a + sel, 3:] = theta[:, 3:6]

    dof = idx.size - (order + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / max(idx.size, 1)
        resid_ss = np.maximum(sumsq - (proj**2).sum(axis=0), 0.0)
        std = np.sqrt(resid_ss / dof) if dof > 0 else np.full(n_mask, np.nan)
        tsnr = np.where(std > 0, mean / std, 0.0)
    tsnr_map = np.zeros(shape, dtype=np.float32)
    tsnr_map[mask] = np.nan_to_num(tsnr)
    tsnr_median = float(np.median(tsnr)) if dof > 0 and n_mask else float("nan")
    return {"dvars": dvars, "params": params, "tsnr_map": tsnr_map, "tsnr_median": tsnr_median}


def _fmri_detection(
    vol: VolumeSeries,
    mask: np.ndarray,
    units: str,
    first: dict[str, Any],
    spikes: dict[str, Any],
    second: dict[str, Any],
    p: dict[str, Any],
) -> Detection:
    """Findings and traces from the two passes."""
    n = vol.n_volumes
    rate = vol.sampling_rate
    name = FmriDetector.detector_name
    events: list[Finding] = []
    usable = first["usable"]
    idx = np.flatnonzero(usable)

    # Missing volumes.
    nan_gap = first["nonfinite"] >= p["gap_nan_fraction"]
    cases = (
        (nan_gap, "nonfinite_fraction", first["nonfinite"], p["gap_nan_fraction"]),
        (~usable & ~nan_gap, "volume_range", np.zeros(n), 0.0),
    )
    events += _gap_events(cases, rate, name, "volumes")

    # Framewise displacement between consecutive usable volumes; one event per volume over
    # the threshold (the list a user scrubs), its displacement in extras.
    params = second["params"]
    fd = np.zeros(n)
    if idx.size >= 2:
        step = np.abs(np.diff(params[idx], axis=0))
        fd[idx[1:]] = step[:, :3].sum(axis=1) + p["head_radius"] * step[:, 3:].sum(axis=1)
    moved = fd > p["fd_threshold"]
    for t in np.flatnonzero(moved).tolist():
        events.append(
            _event(
                "motion",
                t,
                t + 1,
                rate,
                name,
                "framewise_displacement",
                float(fd[t]),
                p["fd_threshold"],
                volume=t,
                units=units,
            )
        )

    # DVARS and its robust z; spikes change the differences into and out of a volume.
    dvars = second["dvars"]
    dvars_z = np.zeros(n)
    dvars_spike = np.zeros(n, dtype=bool)
    judged = idx[1:]
    if judged.size >= 2:
        med = float(np.median(dvars[judged]))
        scale = max(float(_robust_scale(dvars[judged])), 1e-12 * max(med, 1e-30))
        dvars_z[judged] = (dvars[judged] - med) / scale
        into, out_of = idx[1:-1], idx[2:]
        both = np.minimum(dvars_z[into], dvars_z[out_of])
        # A neighbour found by its mean explains one of the two differences already.
        by_mean = spikes["volume"] | spikes["slices"].any(axis=1)
        explained = by_mean[idx[:-2]] | by_mean[out_of]
        # Two moves in a row change both differences too.
        explained |= moved[into] & moved[out_of]
        dvars_spike[into] = (both > p["dvars_threshold"]) & ~explained

    for t in np.flatnonzero(spikes["volume"] | spikes["slices"].any(axis=1) | dvars_spike):
        t = int(t)
        slices = np.flatnonzero(spikes["slices"][t])
        if spikes["volume"][t]:
            g_rel = float(spikes["global_rel"][t])
            feature, value, threshold = "global_mean_change", abs(g_rel), spikes["global_thr"]
            scope, worst = "volume", None
            if value <= threshold:  # flagged because most slices moved together
                feature = "slice_mean_change"
                value = float(np.median(np.abs(spikes["slice_rel"][t, slices])))
                threshold = float(np.median(spikes["slice_thr"][slices]))
            change = g_rel
        elif slices.size:
            ratio = np.abs(spikes["slice_rel"][t, slices]) / spikes["slice_thr"][slices]
            worst = int(slices[int(np.argmax(ratio))])
            feature, scope = "slice_mean_change", "slice"
            value = float(abs(spikes["slice_rel"][t, worst]))
            threshold = float(spikes["slice_thr"][worst])
            change = float(spikes["slice_rel"][t, worst])
        else:
            feature, scope, worst = "dvars_z", "volume", None
            value = float(min(dvars_z[t], dvars_z[idx[np.searchsorted(idx, t) + 1]]))
            threshold, change = p["dvars_threshold"], None
        events.append(
            _event(
                "intensity_spike",
                t,
                t + 1,
                rate,
                name,
                feature,
                value,
                threshold,
                volume=t,
                scope=scope,
                slice=worst,
                slices=slices.tolist(),
                relative_change=change,
                dvars_z=float(dvars_z[t]),
            )
        )

    events.sort(key=lambda e: (e.onset, e.kind))
    traces = {
        "dvars": dvars,
        "dvars_z": dvars_z,
        "fd": fd,
        "translation": params[:, :3],
        "rotation": params[:, 3:],
        "tsnr_map": second["tsnr_map"],
        "tsnr_median": second["tsnr_median"],
        "global_mean": first["global_mean"],
        "slice_means": first["slice_means"],
        "mask": mask,
        "units": units,
    }
    return Detection(detector=name, events=events, traces=traces)
