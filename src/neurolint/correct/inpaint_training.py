"""The shipped gap inpainter's recipe: ``neurolint train inpainter``.

Training data are simulated only, from the training seeds of the LFP and EEG simulators
(:func:`neurolint.simulate.simulate_lfp`, :func:`neurolint.simulate.simulate_eeg`): seeds
``0 .. n - 1`` with ``n`` at most 90 (60 for the shipped model), each recording drawn with
its own rate, channel count and rhythm amplitudes so the network does not learn one
simulator setting. Gaps of 20-500 ms (log-uniform) are cut into them, on every channel at once
or on a random subset, sometimes with a second gap nearby, and each example is built by the
same :func:`neurolint.correct._inpaint.prepare` that ``GapFiller`` uses. Seeds
:data:`VALIDATION_SEEDS` are held back for the model card's figures; the benchmark's seeds
(10000 and up) and the development seeds (500-599) are never used here.

Loss: mean squared error over the gap's samples (in units of the context's standard
deviation) plus ``band_weight`` times the absolute log ratio of band power (delta to gamma;
the relative error where it is small) in the 2 s centred on the gap, the Welch estimate
that ``neurolint bench impute`` scores. The squared error alone gives a conditional mean,
which loses power wherever the signal is not predictable; the band term asks the fill to
keep the power of real signal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ._inpaint import N_INPUTS, RATE, WINDOW

__all__ = [
    "InpaintExamples",
    "Recording",
    "evaluate_inpainter",
    "inpaint_examples",
    "simulate_recordings",
    "train_inpainter",
]

VALIDATION_SEEDS = (90, 100)  # [start, stop): held back from training for the card
VALIDATION_CASES = {"lfp": (90, 91), "eeg": (92, 93)}
GAP_RANGE_S = (0.02, 0.5)
BANDS = {"delta": (1, 4), "theta": (4, 8), "alpha": (8, 13), "beta": (13, 30), "gamma": (30, 80)}
BAND_FLOOR = 0.01  # of the window's total band power, added to each band's power


@dataclass
class Recording:
    """One clean simulated recording, channels first."""

    kind: str  # "lfp" or "eeg"
    data: np.ndarray  # (n_channels, n_samples) float32
    sfreq: float


@dataclass
class InpaintExamples:
    """Network inputs, low-rate truth and the gap's samples, all at :data:`RATE`."""

    inputs: np.ndarray  # (n, N_INPUTS, WINDOW) float32
    target: np.ndarray  # (n, WINDOW) float32, normalised like the inputs
    gap: np.ndarray  # (n, WINDOW) bool


def simulate_recordings(
    kind: str, seeds: range | list[int], duration: float = 30.0
) -> list[Recording]:
    """Clean recordings of ``kind`` ("lfp" or "eeg"), one per seed, with rate, channel
    count and rhythm amplitudes drawn from the seed."""
    from ..simulate import simulate_eeg, simulate_lfp

    out = []
    for seed in seeds:
        rng = np.random.default_rng([int(seed), 7])
        if kind == "lfp":
            sim = simulate_lfp(
                int(rng.choice([16, 16, 8, 32])),
                duration,
                float(rng.choice([1000.0, 1000.0, 800.0, 1250.0])),
                background_amplitude=float(rng.uniform(30, 90)),
                exponent=float(rng.uniform(1.0, 2.0)),
                theta_frequency=float(rng.uniform(5, 10)),
                theta_amplitude=float(rng.uniform(50, 250)),
                gamma_amplitude=float(rng.uniform(10, 60)),
                ripple_rate=float(rng.uniform(0.0, 0.5)),
                seed=int(seed),
            )
            data = sim.data.get_data()
        elif kind == "eeg":
            sim = simulate_eeg(
                int(rng.choice([32, 32, 19, 64])),
                duration,
                float(rng.choice([256.0, 256.0, 256.0, 128.0, 250.0, 512.0])),
                artifacts=None,
                alpha_amplitude=float(rng.uniform(4, 16)) * 1e-6,
                theta_amplitude=float(rng.uniform(1, 8)) * 1e-6,
                seed=int(seed),
            )
            data = sim.data.get_data()
        else:
            raise ParameterError(f"kind={kind!r} must be 'lfp' or 'eeg'.")
        out.append(Recording(kind, data.astype(np.float32), float(sim.data.sampling_rate)))
    return out


def _gap_rows(rng: np.random.Generator, kind: str, n_ch: int) -> np.ndarray:
    """Channels a dropout hits: all at once (as amplifiers drop packets) or a subset."""
    every = rng.random() < (0.6 if kind == "lfp" else 0.3)
    if every:
        return np.arange(n_ch)
    size = int(rng.integers(1, min(n_ch - 1, 8 if kind == "eeg" else n_ch - 1) + 1))
    return np.sort(rng.choice(n_ch, size=size, replace=False))


def inpaint_examples(recordings: list[Recording], n: int, seed: int = 0) -> InpaintExamples:
    """``n`` training examples cut from ``recordings`` (picked uniformly).

    Each takes one gap of 20-500 ms (log-uniform), on the channels :func:`_gap_rows`
    draws, with a second gap within 1.5 s in a fifth of the examples and near a
    recording's edge in a twentieth; the target channel is one of the gapped ones.
    """
    from ._inpaint import N_INPUTS, low_rate_row, prepare

    rng = np.random.default_rng(seed)
    inputs = np.empty((n, N_INPUTS, WINDOW), dtype=np.float32)
    target = np.empty((n, WINDOW), dtype=np.float32)
    gap = np.empty((n, WINDOW), dtype=bool)
    for i in range(n):
        rec = recordings[int(rng.integers(len(recordings)))]
        fs, (n_ch, n_s) = rec.sfreq, rec.data.shape
        length = max(1, round(np.exp(rng.uniform(*np.log(GAP_RANGE_S))) * fs))
        half = round(2.5 * fs)  # the crop: the window (1.5 s a side) and filter padding
        if rng.random() < 0.05 or n_s - 2 * half - length < 1:
            a = int(rng.integers(0, n_s - length))  # anywhere, edges included
        else:
            a = int(rng.integers(half, n_s - half - length))
        z = a + length
        c0, c1 = max(0, a - half), min(n_s, z + half)
        crop = rec.data[:, c0:c1]
        missing = np.zeros(crop.shape, dtype=bool)
        rows = _gap_rows(rng, rec.kind, n_ch)
        missing[rows, a - c0 : z - c0] = True
        if rng.random() < 0.2:  # another dropout nearby
            other = max(1, round(np.exp(rng.uniform(*np.log(GAP_RANGE_S))) * fs))
            side = rng.choice([-1, 1])
            room = round(rng.uniform(0.05, 1.5) * fs)
            b = a - room - other if side < 0 else z + room
            b0, b1 = max(0, b - c0), min(crop.shape[1], b + other - c0)
            if b1 > b0:
                missing[_gap_rows(rng, rec.kind, n_ch), b0:b1] = True
        ch = int(rng.choice(rows))
        holed = np.where(missing, np.nan, crop)
        item = prepare(holed, missing, ch, a - c0, z - c0, fs)
        inputs[i] = item.inputs
        target[i] = low_rate_row(crop, ch, item)
        gap[i] = item.target_mask
    return InpaintExamples(inputs, target, gap)


def _band_bins() -> list[np.ndarray]:
    """rfft bins of 1 s segments at :data:`RATE` (1 Hz apart) per band."""
    freqs = np.fft.rfftfreq(round(RATE), 1 / RATE)
    return [np.flatnonzero((freqs >= lo) & (freqs < hi)) for lo, hi in BANDS.values()]


def band_powers(x: Any) -> Any:
    """Welch band powers (1 s Hann segments, half overlap, mean removed) of the 2 s centred
    on the window, ``(batch, n_bands)``; ``x`` is a ``(batch, WINDOW)`` tensor."""
    import torch

    seg = round(RATE)
    mid = WINDOW // 2
    win = torch.hann_window(seg, periodic=True, dtype=x.dtype, device=x.device)
    segments = torch.stack([x[:, s : s + seg] for s in range(mid - seg, mid + 1, seg // 2)], 1)
    segments = segments - segments.mean(dim=-1, keepdim=True)
    power = (torch.fft.rfft(segments * win, dim=-1).abs() ** 2).mean(dim=1)
    return torch.stack([power[:, b].sum(dim=-1) for b in _band_bins()], dim=1) / (win.pow(2).sum())


def inpaint_loss(output: Any, target: Any, gap: Any, band_weight: float) -> Any:
    """Squared error over the gap plus ``band_weight`` x relative band-power error of the
    2 s centred on it (the rest of the window kept at the truth)."""
    import torch

    out = output[:, 0]
    g = gap.to(out.dtype)
    mse = (((out - target) * g) ** 2).sum() / g.sum().clamp_min(1.0)
    if band_weight <= 0:
        return mse
    filled = torch.where(gap, out, target)
    p_true, p_fill = band_powers(target), band_powers(filled)
    # |log ratio| is the relative error when small, and its gradient stays bounded where a
    # band holds almost no power (a plain ratio there once drove the network to output 0).
    floor = BAND_FLOOR * p_true.sum(dim=1, keepdim=True) + 1e-6
    band = torch.log((p_fill + floor) / (p_true + floor)).abs().mean()
    return mse + band_weight * band


def evaluate_inpainter(
    module: Any,
    lfp_seeds: tuple[int, ...] = VALIDATION_CASES["lfp"],
    eeg_seeds: tuple[int, ...] = VALIDATION_CASES["eeg"],
    quick: bool = True,
) -> dict:
    """The benchmark's metrics (``rrmse_t``, ``band_err``) of the learned fill and of the
    classical ``GapFiller`` on 200 ms gaps in LFP and EEG (the benchmark's own cases, 30 s
    with ``quick``, simulated at the given seeds instead of the benchmark's)."""
    from ..bench.tasks.impute import _eeg_case, _lfp_case, _score
    from ..core.timeseries import TimeSeries
    from .base import corrected_series
    from .impute import GapFiller

    metrics: dict[str, Any] = {}
    for kind, make, seeds in (("lfp", _lfp_case, lfp_seeds), ("eeg", _eeg_case, eeg_seeds)):
        cases = [make(int(s), quick) for s in seeds]
        for method in ("ar", "learned"):
            outs = []
            for case in cases:
                ts = TimeSeries(case.data, case.sfreq)
                step = GapFiller(method=method, model=module if method == "learned" else None)
                outs.append(corrected_series(ts, [step.fit(ts)]).get_data())
            m = _score(cases, outs)
            metrics[f"{kind} {method}"] = {
                k: round(float(m[k]), 4) for k in ("rrmse_t", "band_err")
            }
    return metrics


def train_inpainter(
    *,
    steps: int = 3000,
    batch_size: int = 32,
    n_examples: int = 16000,
    n_recordings: int = 60,
    band_weight: float = 16.0,
    seed: int = 0,
    duration: float = 30.0,
    out: str | Path | None = None,
    name: str = "gap-inpainter",
    progress: bool = False,
    validate: bool = True,
) -> Path:
    """Train the gap inpainter and save it as safetensors plus a model card.

    Parameters
    ----------
    steps, batch_size : int
        Optimiser steps and examples per step. defaults: 3000, 32.
    n_examples : int
        Examples cut before training (each seen ``steps * batch_size / n_examples`` times,
        flipped in sign and time at random). default: 16000.
    n_recordings : int
        Simulated recordings of each kind, seeds ``0 .. n_recordings - 1`` (at most 90:
        seeds 90-99 are the card's validation). default: 60.
    band_weight : float
        Weight of the band-power term of the loss. default: 16 (chosen on development
        seeds: with 4 the fill kept less band power, with 64 its time-domain error grew
        and the band error did not fall further).
    seed : int
        Seed of the example cuts, the initialisation and the batches. default: 0.
    duration : float
        Seconds per simulated recording. default: 30.
    out : path | None
        Folder for ``<name>.safetensors`` and ``<name>.json``. default: ``None`` (the
        package's own weights folder: this replaces the shipped model).
    name : str
        File stem. default: ``"gap-inpainter"``.
    progress : bool
        Print the running loss. default: ``False``.
    validate : bool
        Score the trained model on validation seeds for its card (about a minute).
        default: ``True``.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    import torch

    from ..core.threads import torch_threads
    from ..models.nets.inpainter import build_inpainter
    from ..models.registry import CARDS_DIR, WEIGHTS_DIR, save_model
    from ..models.training import seed_everything, train_loop

    if steps < 1 or batch_size < 1 or n_examples < 1:
        raise ParameterError("steps, batch_size and n_examples must be positive.")
    if not 1 <= n_recordings <= VALIDATION_SEEDS[0]:
        raise ParameterError(
            f"n_recordings={n_recordings} must lie in [1, {VALIDATION_SEEDS[0]}] (the "
            "seeds above are held back for validation)."
        )
    start = time.perf_counter()
    with torch_threads(1):  # a small network: one core is enough, the rest stays free
        recordings = simulate_recordings("lfp", range(n_recordings), duration)
        recordings += simulate_recordings("eeg", range(n_recordings), duration)
        data = inpaint_examples(recordings, n_examples, seed)
        del recordings
        seed_everything(seed)
        rng = np.random.default_rng([seed, 1])
        arch = {
            "widths": [16, 24, 32, 48],
            "kernel": 7,
            "in_channels": N_INPUTS,
            "base_channel": 2,
        }
        module = build_inpainter(**arch)
        inputs = torch.from_numpy(data.inputs)
        target = torch.from_numpy(data.target)
        gap = torch.from_numpy(data.gap)

        def batches(_step: int):
            rows = torch.from_numpy(rng.integers(0, n_examples, batch_size))
            x, y, g = inputs[rows], target[rows], gap[rows]
            # Sign and time flips: the same physics, four times the examples.
            sign = torch.from_numpy(rng.choice([-1.0, 1.0], size=(batch_size, 1)).astype("f4"))
            x = torch.cat(
                [x[:, :1] * sign[:, :, None], x[:, 1:2], x[:, 2:4] * sign[:, :, None], x[:, 4:]],
                dim=1,
            )
            y = y * sign
            if rng.random() < 0.5:
                x, y, g = x.flip(-1), y.flip(-1), g.flip(-1)
            return x, y, g

        history = train_loop(
            module,
            batches,
            steps,
            lr=2e-3,
            loss=lambda o, y, g: inpaint_loss(o, y, g, band_weight),
            progress=progress,
            label="inpainter",
        )
        train_seconds = time.perf_counter() - start
        metrics = evaluate_inpainter(module) if validate else {}
    lo, hi = GAP_RANGE_S
    card = {
        "description": "1D U-Net refining the classical (ridge or autoregressive) fill of a "
        f"{lo * 1000:g}-{hi * 1000:g} ms gap from 3 s of context at 256 Hz (the channel, its "
        "missing mask, the classical fill, its neighbours' ridge prediction), any rate "
        "resampled to 256 Hz and back.",
        "training": {
            "data": "simulated only: LFP (neurolint.simulate.simulate_lfp) and artifact-free "
            "EEG (simulate_eeg), rate, channel count and rhythm amplitudes drawn per seed; "
            "gaps cut at random on every channel or a subset",
            "seeds": {"lfp": [0, n_recordings - 1], "eeg": [0, n_recordings - 1]},
            "seconds_per_recording": float(duration),
            "examples": int(n_examples),
            "steps": int(steps),
            "batch_size": int(batch_size),
            "seed": int(seed),
            "band_weight": float(band_weight),
            "loss": "MSE over the gap + band_weight x |log ratio| of band power (delta to "
            "gamma, Welch, 2 s centred on the gap)",
            "final_loss": round(history["final_loss"], 5),
            "train_seconds": round(train_seconds, 1),
            "threads": 1,
        },
        "validation": {
            "what": "neurolint bench impute's cases (30 s, 200 ms gaps) at seeds held back "
            f"from training: LFP {list(VALIDATION_CASES['lfp'])}, EEG "
            f"{list(VALIDATION_CASES['eeg'])}; 'ar' is the classical GapFiller",
            "metrics": metrics,
        },
        "recipe": "neurolint train inpainter",
    }
    config = {
        "builder": "neurolint.models.nets.inpainter:build_inpainter",
        "arch": arch,
        "input": {
            "sampling_rate": RATE,
            "epoch_samples": WINDOW,
            "gap_range_s": [lo, hi],
            "scale": "mean and std of the channel's recorded samples in the window",
        },
    }
    folder = Path(out) if out is not None else WEIGHTS_DIR
    weights = save_model(module, config, card, name, folder)
    if out is None:
        # Registered models keep their cards beside the other cards.
        (CARDS_DIR / f"{name}.json").write_text((folder / f"{name}.json").read_text())
        (folder / f"{name}.json").unlink()
    return weights
