"""Tasks ``detect_imaging`` and ``detect_fmri``: quality findings on simulated movies and fMRI.

Both suites use held-out seeds (``10_000 + seed + i``; training and tuning use seeds below
10 000), and nothing here is tuned: the baselines use fixed, a-priori thresholds (the same
values as neurolint's defaults where one exists). Counts are pooled over the suite before
precision, recall and F1 are computed; events match one to one when they share the kind and
overlap by at least half the shorter of the two (:func:`~neurolint.bench.metrics.match_events`).

``detect_imaging`` (:func:`run_movie`): ``simulate_calcium`` movies of 3000 frames of 128 x 128
pixels at 30 Hz with rigid motion of up to 3 px and of up to 2 px (5 seeds each; quick: one
movie of 300 frames of 64 x 64 at 3 px). Each movie is scored twice:

- as simulated (un-injected): ``false_clean`` counts every finding that matches no true
  motion jump (any non-motion finding is false here);
- with injected artifacts (:func:`inject_movie`): blank (zero) and NaN frames (1-3 frames) and
  repeated frames, truth ``gap``; brightness spikes of one frame (x 1 +- 15-35 %), truth
  ``intensity_spike``. Scores: ``P/R/F1_motion`` against the simulator's logged jumps,
  ``R/F1_gap``, ``R/F1_spike``, and ``motion_rmse_px``: root mean square of the vector error
  of the per-frame shift against the true shift, after removing the median error (the
  reference image's own offset), averaged over movies.

``detect_fmri`` (:func:`run_fmri`): ``simulate_fmri`` runs of 200 volumes of 64 x 64 x 36
(TR 2 s) with 6 intensity spikes (a volume or a slice) and head motion of 1 mm (5 seeds;
quick: one run of 80 volumes of 32 x 32 x 20 with 3 spikes). Scores: ``P/R/F1_spike`` and
``P/R/F1_motion`` against the simulator's spikes and motion jumps, ``tsnr_rel_err``: mean
absolute relative error of the median tSNR against ``truth.extras["tsnr"]``, and
``false_clean``: findings on clean runs (no spikes, no motion; seeds ``10_100 + seed + i``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...assess.base import Detection, runs
from ...core.findings import Finding
from ...core.imaging import Movie, VolumeSeries
from ..harness import BenchResult, run_method
from ..metrics import Tally, match_events

__all__ = [
    "baseline_fmri",
    "baseline_movie",
    "fmri_suite",
    "inject_movie",
    "movie_suite",
    "run_fmri",
    "run_movie",
]

SEED_OFFSET = 10_000
CLEAN_SEED_OFFSET = 10_100  # clean fMRI runs: seeds apart from the runs with artifacts
# Baseline thresholds: fixed a priori, equal to neurolint's defaults (never tuned here).
FRAME_Z = 8.0  # robust z of the frame mean against its running median (MovieDetector: 8)
JUMP_PX = 1.0  # frame-to-frame shift (MovieDetector motion_threshold: 1 px)
DVARS_Z = 6.0  # robust z of DVARS (FmriDetector dvars_threshold: 6)
FD_MM = 0.5  # framewise displacement, Power et al. 2012 (FmriDetector fd_threshold: 0.5 mm)
_BLOCK = 256  # frames or volumes a baseline holds at once


# -- suites ---------------------------------------------------------------------------------


def inject_movie(
    movie: Movie,
    seed: int = 0,
    *,
    n_blank: int = 4,
    n_nan: int = 2,
    n_repeat: int = 2,
    n_spike: int = 6,
) -> tuple[Movie, list[Finding], list[Finding]]:
    """Copy of ``movie`` with blank, NaN and repeated frames and brightness spikes.

    Parameters
    ----------
    movie : Movie
        The movie, left unchanged. It needs at least ``10 * (total injected) + 40`` frames.
    seed : int
        Random seed. default: 0.
    n_blank, n_nan, n_repeat, n_spike : int
        Blank (all zero, 1-3 frames), NaN (1-3 frames), repeated (one frame equal to the one
        before) and brightness-spike (one frame scaled by 1 +- 15-35 %) artifacts.

    Returns
    -------
    (Movie, list of Finding, list of Finding)
        The new movie (in memory), the ``gap`` truth (blank, NaN, repeated) and the
        ``intensity_spike`` truth. Artifacts start at least 10 frames apart and 20 frames from
        either end; ``extras["injected"]`` names the artifact.
    """
    rng = np.random.default_rng(seed)
    data = movie.to_numpy().copy()
    n, rate = len(data), movie.frame_rate
    kinds = ["blank"] * n_blank + ["nan"] * n_nan + ["repeat"] * n_repeat + ["spike"] * n_spike
    slots = rng.choice(np.arange(20, n - 20, 10), size=len(kinds), replace=False)
    gaps: list[Finding] = []
    spikes: list[Finding] = []
    for k, kind in zip(slots.tolist(), kinds, strict=True):
        length = int(rng.integers(1, 4)) if kind in ("blank", "nan") else 1
        if kind == "blank":
            data[k : k + length] = 0.0
        elif kind == "nan":
            data[k : k + length] = np.nan
        elif kind == "repeat":
            data[k] = data[k - 1]
        else:
            data[k] *= 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.35)
        event = Finding(
            onset=k / rate,
            duration=length / rate,
            kind="intensity_spike" if kind == "spike" else "gap",
            detector="inject",
            extras={"injected": kind, "frame": k},
        )
        (spikes if kind == "spike" else gaps).append(event)
    gaps.sort(key=lambda e: e.onset)
    spikes.sort(key=lambda e: e.onset)
    return Movie(data, rate, pixel_size=movie.pixel_size), gaps, spikes


@dataclass
class MovieCase:
    """One simulated movie, as simulated and with injected artifacts, and its truth."""

    clean: Movie
    injected: Movie
    motion: list[Finding]  # the simulator's logged jumps
    gaps: list[Finding]
    spikes: list[Finding]
    shifts: np.ndarray  # (T, 2) true shift of every frame, px
    seed: int
    motion_px: float


def movie_suite(quick: bool, seed: int = 0) -> list[MovieCase]:
    """The movies: 5 seeds at 3 px and at 2 px motion (quick: one small movie)."""
    from ...simulate import simulate_calcium

    layouts = [((64, 64), 300, 3.0)] if quick else [((128, 128), 3000, m) for m in (3.0, 2.0)]
    n_seeds = 1 if quick else 5
    cases = []
    for shape, n_frames, motion in layouts:
        for i in range(n_seeds):
            s = SEED_OFFSET + seed + i
            sim = simulate_calcium(shape, n_frames=n_frames, motion=motion, seed=s)
            injected, gaps, spikes = inject_movie(sim.data, seed=s)
            cases.append(
                MovieCase(
                    sim.data,
                    injected,
                    sim.truth.events_of("motion"),
                    gaps,
                    spikes,
                    np.asarray(sim.truth.arrays["shifts"], dtype=float),
                    s,
                    motion,
                )
            )
    return cases


@dataclass
class FmriCase:
    """One simulated fMRI run and its truth (``clean`` runs have no spikes and no motion)."""

    data: VolumeSeries
    spikes: list[Finding]
    motion: list[Finding]
    tsnr: float
    seed: int
    clean: bool


def fmri_suite(quick: bool, seed: int = 0) -> list[FmriCase]:
    """Runs with spikes and motion, then as many clean runs (quick: one of each, small)."""
    from ...simulate import simulate_fmri

    shape, n_volumes, n_spikes, n_seeds = (
        ((32, 32, 20), 80, 3, 1) if quick else ((64, 64, 36), 200, 6, 5)
    )
    cases = []
    for clean in (False, True):
        for i in range(n_seeds):
            s = (CLEAN_SEED_OFFSET if clean else SEED_OFFSET) + seed + i
            sim = simulate_fmri(
                shape,
                n_volumes=n_volumes,
                spikes=0 if clean else n_spikes,
                motion=0.0 if clean else 1.0,
                seed=s,
            )
            cases.append(
                FmriCase(
                    sim.data,
                    sim.truth.events_of("intensity_spike"),
                    sim.truth.events_of("motion"),
                    float(sim.truth.extras["tsnr"]),
                    s,
                    clean,
                )
            )
    return cases


# -- baselines ------------------------------------------------------------------------------


def _robust_z(x: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 MAD) over the finite values; NaN stays NaN."""
    ok = np.isfinite(x)
    if not ok.any():
        return np.full_like(x, np.nan)
    med = np.median(x[ok])
    mad = 1.4826 * np.median(np.abs(x[ok] - med))
    return (x - med) / max(mad, 1e-12 * max(abs(med), 1.0))


def _frame_events(
    flags: np.ndarray, rate: float, kind: str, feature: str, value: np.ndarray, thr: float
) -> list[Finding]:
    """One finding per run of flagged frames (or volumes)."""
    out = []
    for a, b in runs(flags):
        v = float(np.nanmax(np.abs(value[a:b]))) if np.isfinite(value[a:b]).any() else None
        out.append(
            Finding(
                onset=a / rate,
                duration=(b - a) / rate,
                kind=kind,
                detector="baseline",
                extras={"feature": feature, "value": v, "threshold": thr},
            )
        )
    return out


def baseline_movie(movie: Movie) -> Detection:
    """Reference method: frame-mean z-score, non-finite/constant frames, phase correlation.

    - ``gap``: frames with any non-finite pixel or a constant value (blank);
    - ``intensity_spike``: frames whose mean departs from its 7-frame running median by more
      than ``FRAME_Z`` robust z-scores (MAD over the movie);
    - ``motion``: integer-pixel phase correlation of every frame against the mean frame (what
      ``skimage.registration.phase_cross_correlation`` does without upsampling); consecutive
      valid frames whose shifts differ by more than ``JUMP_PX`` px.

    Frames are read in blocks of ``_BLOCK``; returns ``traces["motion"]`` (T, 2, px).
    """
    from scipy.ndimage import median_filter

    n, rate = movie.n_frames, movie.frame_rate
    h, w = movie.shape[1:]
    means = np.empty(n)
    bad = np.zeros(n, dtype=bool)
    total = np.zeros((h, w))
    count = 0
    for a in range(0, n, _BLOCK):
        block = movie.get_data(a, min(n, a + _BLOCK)).astype(np.float64)
        finite = np.isfinite(block).all(axis=(1, 2))
        flat = np.ptp(np.nan_to_num(block), axis=(1, 2)) == 0
        bad[a : a + len(block)] = ~finite | flat
        means[a : a + len(block)] = block.mean(axis=(1, 2))
        good = block[finite & ~flat]
        total += good.sum(axis=0)
        count += len(good)
    events = _frame_events(bad, rate, "gap", "nonfinite_or_constant", means, 0.0)
    # Spikes: frame mean against its running median (gap frames take their neighbours' median).
    filled = means.copy()
    if (~bad).any():
        filled[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), means[~bad])
    z = _robust_z(filled - median_filter(filled, size=7, mode="nearest"))
    z[bad] = 0.0
    events += _frame_events(
        np.abs(z) > FRAME_Z, rate, "intensity_spike", "frame_mean_z", z, FRAME_Z
    )
    # Motion: integer-pixel phase correlation against the mean frame.
    ref = np.fft.rfft2(total / max(count, 1))
    shifts = np.full((n, 2), np.nan)
    for a in range(0, n, _BLOCK):
        block = np.nan_to_num(movie.get_data(a, min(n, a + _BLOCK)).astype(np.float64))
        cross = np.fft.rfft2(block) * np.conj(ref)
        cross /= np.maximum(np.abs(cross), 1e-12)
        corr = np.fft.irfft2(cross, s=(h, w)).reshape(len(block), -1)
        peak = np.unravel_index(corr.argmax(axis=1), (h, w))
        dy = np.where(peak[0] > h // 2, peak[0] - h, peak[0])
        dx = np.where(peak[1] > w // 2, peak[1] - w, peak[1])
        shifts[a : a + len(block)] = np.stack([dy, dx], axis=1)
    shifts[bad] = np.nan
    valid = np.flatnonzero(~bad)
    jump = np.zeros(n)
    if valid.size > 1:
        jump[valid[1:]] = np.hypot(*np.diff(shifts[valid], axis=0).T)
    events += _frame_events(jump > JUMP_PX, rate, "motion", "shift_jump_px", jump, JUMP_PX)
    events.sort(key=lambda e: (e.onset, e.kind))
    return Detection("baseline", events, traces={"motion": shifts})


def baseline_fmri(vol: VolumeSeries) -> Detection:
    """Reference method: classic DVARS z-score, centre-of-mass FD, detrended tSNR.

    - mask: voxels whose temporal mean exceeds a quarter of the 98th percentile of the mean
      image;
    - ``intensity_spike``: volumes whose DVARS (RMS over the mask of the difference from the
      volume before) exceeds ``DVARS_Z`` robust z-scores; adjacent flagged volumes merge;
    - ``motion``: framewise displacement from the intensity-weighted centre of mass (in mm):
      the sum of the absolute changes of its 3 coordinates, above ``FD_MM``;
    - ``traces["tsnr_median"]``: median over the mask of mean / SD after removing a quadratic
      trend per voxel.

    Volumes are read in blocks of ``_BLOCK``.
    """
    n, shape = vol.shape[0], tuple(vol.shape[1:])
    tr = vol.tr
    voxel = np.asarray(vol.voxel_size or (1.0, 1.0, 1.0), dtype=float)
    t = np.linspace(-1.0, 1.0, n)
    basis, _ = np.linalg.qr(np.stack([np.ones(n), t, t**2], axis=1))  # (n, 3) orthonormal
    total = np.zeros(shape)
    sq = np.zeros(shape)
    proj = np.zeros((3, *shape))
    for a in range(0, n, _BLOCK):
        block = np.nan_to_num(vol.get_data(a, min(n, a + _BLOCK)).astype(np.float64))
        total += block.sum(axis=0)
        sq += np.square(block).sum(axis=0)
        proj += np.tensordot(basis[a : a + len(block)].T, block, axes=1)
    mean_img = total / n
    mask = mean_img > 0.25 * np.percentile(mean_img, 98)
    resid = np.maximum(sq - np.square(proj).sum(axis=0), 0.0) / max(n - 3, 1)
    tsnr = mean_img[mask] / np.maximum(np.sqrt(resid[mask]), 1e-12)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"))[:, mask]
    grid = grid * voxel[:, None]
    dvars = np.zeros(n)
    com = np.zeros((n, 3))
    prev = None
    for a in range(0, n, _BLOCK):
        block = np.nan_to_num(vol.get_data(a, min(n, a + _BLOCK)).astype(np.float64))[:, mask]
        com[a : a + len(block)] = block @ grid.T / np.maximum(block.sum(axis=1), 1e-12)[:, None]
        stacked = block if prev is None else np.concatenate([prev[None], block])
        diff = np.sqrt(np.mean(np.square(np.diff(stacked, axis=0)), axis=1))
        dvars[a + (1 if prev is None else 0) : a + len(block)] = diff
        prev = block[-1]
    z = _robust_z(dvars[1:])
    dvars_z = np.concatenate([[0.0], z])
    rate = 1.0 / tr
    events = _frame_events(dvars_z > DVARS_Z, rate, "intensity_spike", "dvars_z", dvars_z, DVARS_Z)
    fd = np.concatenate([[0.0], np.abs(np.diff(com, axis=0)).sum(axis=1)])
    events += [
        Finding(
            onset=k * tr,
            duration=tr,
            kind="motion",
            detector="baseline",
            extras={
                "feature": "framewise_displacement_com",
                "value": float(fd[k]),
                "threshold": FD_MM,
            },
        )
        for k in np.flatnonzero(fd > FD_MM).tolist()
    ]
    events.sort(key=lambda e: (e.onset, e.kind))
    traces = {"dvars": dvars, "dvars_z": dvars_z, "fd": fd, "tsnr_median": float(np.median(tsnr))}
    return Detection("baseline", events, traces=traces)


# -- scoring --------------------------------------------------------------------------------


def _add(counts: dict[str, Tally], key: str, true: Sequence[Finding], pred: Sequence) -> None:
    m = match_events(true, pred)
    counts.setdefault(key, Tally()).add(m.tp, m.fp, m.fn)


def _scores(counts: dict[str, Tally], key: str, label: str, p: bool = True) -> dict:
    tally = counts[key]
    out = {f"P_{label}": tally.precision} if p else {}
    out[f"R_{label}"] = tally.recall
    out[f"F1_{label}"] = tally.f1
    return out


def _of(det: Detection, kind: str) -> list[Finding]:
    return [e for e in det.events if e.kind == kind]


def _shift_rmse(est: np.ndarray, true: np.ndarray) -> float:
    """RMS vector error over frames with an estimate, after removing the median offset."""
    ok = np.isfinite(est).all(axis=1)
    err = est[ok] - true[ok]
    err -= np.median(err, axis=0)
    return float(np.sqrt(np.square(err).sum(axis=1).mean()))


def evaluate_movie(cases: Sequence[MovieCase], outputs: Sequence) -> dict[str, Any]:
    """Pooled scores of one method's ``(clean detection, injected detection)`` per movie."""
    counts: dict[str, Tally] = {}
    rmse = []
    false_clean = 0
    for case, (on_clean, on_injected) in zip(cases, outputs, strict=True):
        m = match_events(case.motion, _of(on_clean, "motion"))
        false_clean += m.fp + sum(e.kind != "motion" for e in on_clean.events)
        _add(counts, "motion", case.motion, _of(on_injected, "motion"))
        _add(counts, "gap", case.gaps, _of(on_injected, "gap"))
        _add(counts, "spike", case.spikes, _of(on_injected, "intensity_spike"))
        shifts = on_injected.traces.get("motion")
        if shifts is not None:
            rmse.append(_shift_rmse(np.asarray(shifts, dtype=float), case.shifts))
    out: dict[str, Any] = {}
    out.update(_scores(counts, "motion", "motion"))
    out.update(_scores(counts, "gap", "gap", p=False))
    out.update(_scores(counts, "spike", "spike", p=False))
    out["motion_rmse_px"] = float(np.mean(rmse)) if rmse else None
    out["false_clean"] = false_clean
    return out


def evaluate_fmri(cases: Sequence[FmriCase], outputs: Sequence[Detection]) -> dict[str, Any]:
    """Pooled scores of one method's detections on every run of the suite."""
    counts: dict[str, Tally] = {}
    tsnr_err = []
    false_clean = 0
    for case, det in zip(cases, outputs, strict=True):
        if case.clean:
            false_clean += len(det.events)
            continue
        _add(counts, "spike", case.spikes, _of(det, "intensity_spike"))
        _add(counts, "motion", case.motion, _of(det, "motion"))
        tsnr = det.traces.get("tsnr_median")
        if tsnr is not None:
            tsnr_err.append(abs(float(tsnr) / case.tsnr - 1.0))
    out: dict[str, Any] = {}
    out.update(_scores(counts, "spike", "spike"))
    out.update(_scores(counts, "motion", "motion"))
    out["tsnr_rel_err"] = float(np.mean(tsnr_err)) if tsnr_err else None
    out["false_clean"] = false_clean
    return out


# -- tasks ----------------------------------------------------------------------------------


def _movie_methods() -> list[tuple[str, str, Callable[[Movie], Detection], str]]:
    def ours(movie: Movie) -> Detection:
        from ...assess.imaging import MovieDetector

        return MovieDetector().detect(movie)

    return [
        ("neurolint.MovieDetector", "ours", ours, "neurolint MovieDetector (defaults)"),
        (
            "baseline",
            "baseline",
            baseline_movie,
            f"frame-mean robust z > {FRAME_Z:g} vs 7-frame running median; non-finite or "
            f"constant frames; integer phase correlation vs the mean frame, jumps > {JUMP_PX:g} px",
        ),
    ]


def run_movie(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Run the movie detectors on the suite and return the table (task ``detect_imaging``).

    Parameters
    ----------
    quick : bool
        One small movie instead of ten large ones. default: ``False``.
    seed : int
        Added to the held-out seeds. default: 0.
    debug : bool
        Print the traceback of a failing method. default: ``False``.

    Returns
    -------
    BenchResult
    """
    cases = movie_suite(quick, seed)
    result = BenchResult(
        task="detect_imaging",
        quick=quick,
        seed=seed,
        description="motion, gaps and brightness spikes on simulated calcium movies "
        "(held-out seeds)",
        params={
            "movies": [
                {
                    "shape": list(c.clean.shape),
                    "frame_rate": c.clean.frame_rate,
                    "motion_px": c.motion_px,
                    "seed": c.seed,
                    "motion_jumps": len(c.motion),
                    "gaps": len(c.gaps),
                    "spikes": len(c.spikes),
                }
                for c in cases
            ],
            "min_overlap": 0.5,
        },
        columns=[
            "P_motion",
            "R_motion",
            "F1_motion",
            "R_gap",
            "F1_gap",
            "R_spike",
            "F1_spike",
            "motion_rmse_px",
            "false_clean",
        ],
    )
    for name, kind, detect, source in _movie_methods():
        result.rows.append(
            run_method(
                name,
                lambda detect=detect: [(detect(c.clean), detect(c.injected)) for c in cases],
                lambda out: evaluate_movie(cases, out),
                kind=kind,
                source=source,
                debug=debug,
            )
        )
    frames = sum(c.clean.n_frames for c in cases)
    result.notes.append(
        f"{len(cases)} movie(s), {frames} frames, each run as simulated and with injected "
        "artifacts; wall time and peak memory cover all runs. false_clean: findings on the "
        "un-injected movies that match no true motion jump."
    )
    return result


def _fmri_methods() -> list[tuple[str, str, Callable[[VolumeSeries], Detection], str]]:
    def ours(vol: VolumeSeries) -> Detection:
        from ...assess.fmri import FmriDetector

        return FmriDetector().detect(vol)

    return [
        ("neurolint.FmriDetector", "ours", ours, "neurolint FmriDetector (defaults)"),
        (
            "baseline",
            "baseline",
            baseline_fmri,
            f"DVARS robust z > {DVARS_Z:g} (Power et al. 2012); FD > {FD_MM:g} mm from the "
            "centre-of-mass translation; tSNR after a quadratic detrend",
        ),
    ]


def run_fmri(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Run the fMRI detectors on the suite and return the table (task ``detect_fmri``).

    Parameters
    ----------
    quick : bool
        One small run (and one clean run) instead of five of each. default: ``False``.
    seed : int
        Added to the held-out seeds. default: 0.
    debug : bool
        Print the traceback of a failing method. default: ``False``.

    Returns
    -------
    BenchResult
    """
    cases = fmri_suite(quick, seed)
    result = BenchResult(
        task="detect_fmri",
        quick=quick,
        seed=seed,
        description="intensity spikes, head motion and tSNR on simulated fMRI (held-out seeds)",
        params={
            "runs": [
                {
                    "shape": list(c.data.shape),
                    "seed": c.seed,
                    "clean": c.clean,
                    "spikes": len(c.spikes),
                    "motion_jumps": len(c.motion),
                    "tsnr": c.tsnr,
                }
                for c in cases
            ],
            "min_overlap": 0.5,
        },
        columns=[
            "P_spike",
            "R_spike",
            "F1_spike",
            "P_motion",
            "R_motion",
            "F1_motion",
            "tsnr_rel_err",
            "false_clean",
        ],
    )
    for name, kind, detect, source in _fmri_methods():
        result.rows.append(
            run_method(
                name,
                lambda detect=detect: [detect(c.data) for c in cases],
                lambda out: evaluate_fmri(cases, out),
                kind=kind,
                source=source,
                debug=debug,
            )
        )
    n_clean = sum(c.clean for c in cases)
    result.notes.append(
        f"{len(cases) - n_clean} run(s) with spikes and motion, {n_clean} clean run(s); wall "
        "time and peak memory cover all of them. false_clean: findings on the clean runs. "
        "scikit-image and nilearn are not installed, so no peer row."
    )
    return result
