"""Task ``impute``: 200 ms gaps in LFP and EEG filled by each method, scored against truth.

Suite (held-out seeds ``10_000 + seed + i``): simulated hippocampal-like LFP (16 channels,
1 kHz, theta, gamma, ripples) with 200 ms dropouts on every channel, and simulated EEG
(32 channels, 256 Hz, alpha and theta, no artifacts) with 200 ms dropouts on random subsets
of channels. The values the gaps replaced are kept as truth.

Metrics, pooled over gaps:

- ``rrmse_t``: sqrt(sum of squared error over gap samples / sum of squared truth there);
- ``band_err``: relative error of band power (delta 1-4, theta 4-8, alpha 8-13, beta 13-30,
  gamma 30-80 Hz, cut at 0.45 x rate) in the 2 s centred on each gap, filled against true,
  averaged over bands, channels and gaps (``band_err_<band>`` per band);
- ``ratio_vs_spline``: ``rrmse_t`` over cubic-spline interpolation's.

Methods: linear and cubic-spline interpolation (scipy, through the valid samples within
0.5 s of the gap; the textbook baselines), neurolint's classical ``GapFiller`` (ridge
regression on the recorded channels, else autoregressive forward/backward prediction,
cross-faded) and its learned fill (``method="learned"``: the ``gap-inpainter`` network
refining that fill at 256 Hz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..harness import BenchResult, run_method

__all__ = ["run", "suite"]

SEED_OFFSET = 10_000
GAP_S = 0.2
BANDS = {"delta": (1, 4), "theta": (4, 8), "alpha": (8, 13), "beta": (13, 30), "gamma": (30, 80)}


@dataclass
class Case:
    name: str
    data: np.ndarray  # with NaN in the gaps
    truth: np.ndarray
    sfreq: float
    gaps: list[tuple[int, int, int]]  # (channel, start, stop)


def _eeg_case(seed: int, quick: bool) -> Case:
    from ...simulate import simulate_eeg

    seconds = 30.0 if quick else 120.0
    sim = simulate_eeg(32, seconds, 256.0, artifacts=None, seed=seed)
    truth = sim.data.get_data()
    rng = np.random.default_rng(seed)
    n = round(GAP_S * 256.0)
    data = truth.copy()
    gaps = []
    for start in np.arange(2.0, seconds - 2.0, 2.5):
        a = round((start + rng.uniform(0, 0.5)) * 256.0)
        for ch in rng.choice(32, size=int(rng.integers(1, 9)), replace=False):
            data[ch, a : a + n] = np.nan
            gaps.append((int(ch), a, a + n))
    return Case(f"eeg seed {seed}", data, truth, 256.0, sorted(gaps, key=lambda g: (g[1], g[0])))


def _lfp_case(seed: int, quick: bool) -> Case:
    from ...simulate import simulate_lfp

    seconds = 30.0 if quick else 120.0
    n_gaps = int(seconds // 3)
    sim = simulate_lfp(16, seconds, 1000.0, gap_durations=(GAP_S,), n_gaps=n_gaps, seed=seed)
    data = sim.data.get_data()
    truth = sim.truth.clean.get_data()
    mask = ~np.isfinite(data)
    gaps = []
    for ch in range(data.shape[0]):
        edges = np.flatnonzero(np.diff(np.concatenate(([0], mask[ch].view(np.int8), [0]))))
        gaps += [(ch, int(a), int(z)) for a, z in edges.reshape(-1, 2)]
    return Case(f"lfp seed {seed}", data, truth, 1000.0, sorted(gaps, key=lambda g: (g[1], g[0])))


def suite(quick: bool, seed: int = 0) -> list[Case]:
    """One LFP and one EEG recording on held-out seeds (two of each when not quick)."""
    count = 1 if quick else 2
    base = SEED_OFFSET + seed
    return [_lfp_case(base + i, quick) for i in range(count)] + [
        _eeg_case(base + 10 + i, quick) for i in range(count)
    ]


def _scipy_fill(kind: str) -> Callable[[Case], np.ndarray]:
    from scipy.interpolate import CubicSpline

    def fill(case: Case) -> np.ndarray:
        out = case.data.copy()
        ctx = round(0.5 * case.sfreq)
        for ch, a, z in case.gaps:
            lo, hi = max(0, a - ctx), min(out.shape[1], z + ctx)
            t = np.arange(lo, hi)
            row = out[ch, lo:hi]
            ok = np.isfinite(row)
            if ok.sum() < 4:
                continue
            if kind == "linear":
                out[ch, a:z] = np.interp(np.arange(a, z), t[ok], row[ok])
            else:
                out[ch, a:z] = CubicSpline(t[ok], row[ok])(np.arange(a, z))
        return out

    return fill


def _ours(method: str) -> Callable[[Case], np.ndarray]:
    def fill(case: Case) -> np.ndarray:
        from ...core.timeseries import TimeSeries
        from ...correct.base import corrected_series
        from ...correct.impute import GapFiller

        ts = TimeSeries(case.data, case.sfreq)
        return corrected_series(ts, [GapFiller(method=method).fit(ts)]).get_data()

    return fill


def methods() -> list[tuple[str, str, Callable[[Case], np.ndarray], str]]:
    return [
        ("linear", "baseline", _scipy_fill("linear"), "numpy.interp through the context"),
        ("cubic spline", "baseline", _scipy_fill("cubic"), "scipy CubicSpline through 0.5 s"),
        ("neurolint GapFiller", "ours", _ours("ar"), "ridge from recorded channels, else AR(20)"),
        (
            "neurolint GapFiller learned",
            "ours",
            _ours("learned"),
            "gap-inpainter: 1D U-Net refining the ridge/AR fill at 256 Hz",
        ),
    ]


def _score(cases: list[Case], outputs: list[np.ndarray]) -> dict[str, float]:
    from ..metrics import band_power_error

    err = ref = 0.0
    per_band: dict[str, list[float]] = {b: [] for b in BANDS}
    for case, out in zip(cases, outputs, strict=True):
        half = round(1.0 * case.sfreq)
        top = 0.45 * case.sfreq
        bands = {b: (lo, min(hi, top)) for b, (lo, hi) in BANDS.items() if lo < top}
        for ch, a, z in case.gaps:
            if not np.isfinite(out[ch, a:z]).all():
                err, ref = float("nan"), 1.0
                continue
            err += float(np.sum((out[ch, a:z] - case.truth[ch, a:z]) ** 2))
            ref += float(np.sum(case.truth[ch, a:z] ** 2))
            mid = (a + z) // 2
            lo, hi = mid - half, mid + half
            if lo < 0 or hi > out.shape[1]:
                continue
            window_true, window_out = case.truth[ch, lo:hi], out[ch, lo:hi]
            if not (np.isfinite(window_true).all() and np.isfinite(window_out).all()):
                continue  # another gap left unfilled nearby
            errors = band_power_error(window_true, window_out, case.sfreq, bands)
            for b, v in errors.items():
                per_band[b].append(float(v))
    metrics = {"rrmse_t": float(np.sqrt(err / ref)) if ref > 0 else float("nan")}
    band_means = {b: float(np.mean(v)) for b, v in per_band.items() if v}
    metrics["band_err"] = float(np.mean(list(band_means.values())))
    metrics.update({f"band_err_{b}": v for b, v in band_means.items()})
    metrics["n_gaps"] = sum(len(c.gaps) for c in cases)
    return metrics


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Fill every gap of the suite with each method and score it."""
    result = BenchResult(
        task="impute",
        quick=quick,
        seed=seed,
        description="200 ms gaps in simulated LFP and EEG (held-out seeds)",
        columns=["rrmse_t", "ratio_vs_spline", "band_err", *[f"band_err_{b}" for b in BANDS]],
    )
    cases = suite(quick, seed)
    for subset, chosen in (
        ("lfp", [c for c in cases if c.name.startswith("lfp")]),
        ("eeg", [c for c in cases if c.name.startswith("eeg")]),
    ):
        rows = []
        for name, kind, fill, source in methods():
            row = run_method(
                f"{name} [{subset}]",
                lambda fill=fill, chosen=chosen: [fill(c) for c in chosen],
                lambda outs, chosen=chosen: _score(chosen, outs),
                kind=kind,
                source=source,
                debug=debug,
            )
            rows.append(row)
        spline = next(r for r in rows if r.method.startswith("cubic spline"))
        for row in rows:
            if row.error is None and spline.error is None:
                row.metrics["ratio_vs_spline"] = row.metrics["rrmse_t"] / spline.metrics["rrmse_t"]
        result.rows += rows
    result.notes.append(
        f"{len(cases)} recording(s); gaps of {GAP_S * 1000:g} ms; LFP gaps span every channel, "
        "EEG gaps 1-8 random channels. Band errors use the 2 s centred on each gap."
    )
    result.notes.append(
        "Goals (issue 5): band_err < 0.05 on average and rrmse_t at most half of cubic "
        "spline's (ratio_vs_spline <= 0.5)."
    )
    return result
