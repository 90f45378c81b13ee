"""The shipped artifact remover's recipe: ``neurolint train remover``.

Training data come only from the *train* split of the EEGdenoiseNet-style semi-synthetic
set (:func:`neurolint.simulate.simulate_semisynthetic`): its clean EEG epochs and its
artifact epochs (real EOG, simulated EMG) are remixed on the fly at a random SNR in
[-7, 2] dB (10 log10 of the RMS ratio, the protocol's convention), so each step sees new
mixtures. A tenth of the train split's clean and artifact epochs is held back for the
model card's validation figures; the test split is left to ``neurolint bench denoise``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError

__all__ = ["RemoverData", "remover_data", "train_remover"]

SNR_RANGE = (-7.0, 2.0)
KINDS = ("eog", "emg")


@dataclass
class RemoverData:
    """Unique clean epochs and unit artifact epochs (by kind), for remixing."""

    clean: np.ndarray  # (n_clean, n)
    artifacts: dict[str, np.ndarray]  # kind -> (n_kind, n), unit RMS

    def mix(
        self,
        rng: np.random.Generator,
        size: int,
        kinds: tuple[str, ...] = KINDS,
        augment: bool = False,
        clean_fraction: float = 0.0,
        synthetic_eog: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``size`` fresh mixtures: ``(noisy, clean, snr_db, kind index)``.

        With ``augment``, each artifact is a random 2 s window of the epoch followed by its
        time-reversed copy (continuous at the join): the few real blink epochs then appear
        at every position in the window, either way round. A ``clean_fraction`` of the
        mixtures carry no artifact at all (SNR +inf), so the network learns to leave clean
        EEG, slow potentials included, alone. A ``synthetic_eog`` fraction of the ocular
        mixtures take a synthetic ocular epoch (:mod:`._ocular`) instead of a real one.
        """
        kind = rng.integers(0, len(kinds), size)
        clean = self.clean[rng.integers(0, len(self.clean), size)]
        snr = rng.uniform(*SNR_RANGE, size)
        art = np.empty_like(clean)
        for k, name in enumerate(kinds):
            rows = np.flatnonzero(kind == k)
            pool = self.artifacts[name]
            picked = pool[rng.integers(0, len(pool), len(rows))]
            if augment:
                n = picked.shape[1]
                both = np.concatenate([picked, picked[:, ::-1]], axis=1)
                shift = rng.integers(0, n, len(rows))
                picked = both[np.arange(len(rows))[:, None], shift[:, None] + np.arange(n)]
                picked = picked / (np.sqrt(np.mean(picked**2, axis=1, keepdims=True)) + 1e-30)
            if name == "eog" and synthetic_eog > 0:
                from ._ocular import synthetic_eog as make

                swap = rng.random(len(rows)) < synthetic_eog
                if swap.any():
                    picked[swap] = make(rng, int(swap.sum()), picked.shape[1])
            art[rows] = picked
        rms = np.sqrt(np.mean(clean**2, axis=1))
        scale = rms / 10 ** (snr / 10)  # RMS(artifact) = RMS(clean) / 10^(snr/10)
        if clean_fraction > 0:
            none = rng.random(size) < clean_fraction
            scale[none], snr[none] = 0.0, np.inf
        return clean + scale[:, None] * art, clean, snr, kind


def _unique(split: Any) -> RemoverData:
    _, first = np.unique(split.clean_index, return_index=True)
    clean = np.asarray(split.clean)[first].astype(np.float32)
    artifacts = {}
    unit = np.asarray(split.artifact) / np.asarray(split.artifact_scale)[:, None]
    kinds = np.asarray(split.kind).astype(str)
    for name in KINDS:
        rows = np.flatnonzero(kinds == name)
        _, first = np.unique(np.asarray(split.artifact_index)[rows], return_index=True)
        epochs = unit[rows[first]]
        epochs /= np.sqrt(np.mean(epochs**2, axis=1, keepdims=True)) + 1e-30
        artifacts[name] = epochs.astype(np.float32)
    return RemoverData(clean, artifacts)


def remover_data(source: str | Path, seed: int = 0) -> tuple[RemoverData, RemoverData, Any]:
    """``(train, validation, dataset)`` from the train split of ``source``'s semi-synthetic set.

    Validation holds every tenth clean and artifact epoch of the train split (in time
    order); the dataset's test split is untouched.
    """
    from ..simulate import simulate_semisynthetic

    dataset = simulate_semisynthetic(str(source), seed=seed).data
    whole = _unique(dataset.train)

    def take(arr: np.ndarray, val: bool) -> np.ndarray:
        keep = (np.arange(len(arr)) % 10 == 9) == val
        return arr[keep]

    train = RemoverData(
        take(whole.clean, False), {k: take(v, False) for k, v in whole.artifacts.items()}
    )
    valid = RemoverData(
        take(whole.clean, True), {k: take(v, True) for k, v in whole.artifacts.items()}
    )
    return train, valid, dataset


def _normalise(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = noisy.std(axis=1, keepdims=True) + 1e-30
    return (noisy / std).astype(np.float32), (clean / std).astype(np.float32)


def evaluate_remover(module: Any, data: RemoverData, seed: int = 1, n: int = 2000) -> dict:
    """CC, RRMSE_t and RRMSE_s per kind on ``n`` fresh mixtures of ``data``."""
    from ..bench.metrics import correlation, rrmse_s, rrmse_t
    from .artifacts import denoise_epochs

    rng = np.random.default_rng(seed)
    noisy, clean, _, kind = data.mix(rng, n)
    out = denoise_epochs(noisy, module=module)
    metrics = {}
    for k, name in enumerate(KINDS):
        rows = kind == k
        metrics[name] = {
            "cc": round(float(correlation(clean[rows], out[rows])), 4),
            "rrmse_t": round(float(rrmse_t(clean[rows], out[rows])), 4),
            "rrmse_s": round(float(rrmse_s(clean[rows], out[rows], 256.0)), 4),
        }
    return metrics


def train_remover(
    source: str | Path,
    *,
    steps: int = 4000,
    batch_size: int = 64,
    seed: int = 0,
    out: str | Path | None = None,
    name: str = "eeg-remover",
    progress: bool = False,
    synthetic_eog: float = 0.5,
) -> Path:
    """Train the artifact remover and save it as safetensors plus a model card.

    Parameters
    ----------
    source : path
        A real EEG recording with EOG for the semi-synthetic set (``eeglab_data.set``).
    steps, batch_size, seed : int
        Optimiser steps, mixtures per step, and the seed of everything. defaults: 4000, 64, 0.
    out : path | None
        Folder for ``<name>.safetensors`` and ``<name>.json``. default: ``None`` (the
        package's own weights folder: this replaces the shipped model).
    name : str
        File stem. default: ``"eeg-remover"``.
    progress : bool
        Print the running loss. default: ``False``.
    synthetic_eog : float
        Fraction of ocular mixtures that take a synthetic ocular epoch instead of a real
        one (:mod:`._ocular`): the train split has only about thirty real blink epochs.
        default: 0.5.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    import torch

    from ..models.nets.remover import build_remover
    from ..models.registry import CARDS_DIR, WEIGHTS_DIR, save_model
    from ..models.training import seed_everything, train_loop

    if steps < 1 or batch_size < 1:
        raise ParameterError("steps and batch_size must be positive.")
    start = time.perf_counter()
    train, valid, dataset = remover_data(source, seed)
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    arch = {"widths": [16, 24, 32, 48], "kernel": 7}
    module = build_remover(**arch)

    def batches(_step: int):
        noisy, clean, _, _ = train.mix(
            rng, batch_size, augment=True, clean_fraction=0.25, synthetic_eog=synthetic_eog
        )
        sign = rng.choice([-1.0, 1.0], size=(batch_size, 1)).astype(np.float32)
        x, y = _normalise(noisy * sign, clean * sign)
        xt = torch.from_numpy(x)[:, None]
        return xt, torch.from_numpy(y)[:, None], torch.ones(1)

    def mse(output, target, _weight):
        return torch.mean((output - target) ** 2)

    history = train_loop(
        module, batches, steps, lr=2e-3, loss=mse, progress=progress, label="remover"
    )
    metrics = evaluate_remover(module, valid)
    card = {
        "description": "1D U-Net removing ocular (EOG) and muscle (EMG) artifacts from 2 s "
        "single-channel EEG epochs at 256 Hz (input scaled by its standard deviation).",
        "training": {
            "data": "EEGdenoiseNet-style semi-synthetic set, train split only, remixed on "
            f"the fly at SNR {SNR_RANGE[0]:g}..{SNR_RANGE[1]:g} dB; a quarter of each batch "
            "has no artifact (target = input)"
            + (
                f"; {synthetic_eog:.0%} of the ocular mixtures use synthetic ocular epochs "
                "(blinks and saccades, 0.3-10 Hz) instead of real EOG"
                if synthetic_eog
                else ""
            ),
            "source": Path(source).name,
            "train_time_range_s": dataset.attrs.get("time_ranges", {}).get("train"),
            "clean_epochs": len(train.clean),
            "artifact_epochs": {k: len(v) for k, v in train.artifacts.items()},
            "steps": int(steps),
            "batch_size": int(batch_size),
            "seed": int(seed),
            "synthetic_eog": float(synthetic_eog),
            "final_loss": round(history["final_loss"], 5),
            "train_seconds": round(time.perf_counter() - start, 1),
        },
        "validation": {
            "what": "2000 fresh mixtures of held-back train-split epochs (every tenth)",
            "metrics": metrics,
        },
        "recipe": "neurolint train remover --source ../shared/data/eeg/eeglab_data.set",
    }
    config = {
        "builder": "neurolint.models.nets.remover:build_remover",
        "arch": arch,
        "input": {"sampling_rate": 256.0, "epoch_samples": 512, "scale": "per-epoch std"},
    }
    folder = Path(out) if out is not None else WEIGHTS_DIR
    weights = save_model(module, config, card, name, folder)
    if out is None:
        # Registered models keep their cards beside the other cards.
        (CARDS_DIR / f"{name}.json").write_text((folder / f"{name}.json").read_text())
        (folder / f"{name}.json").unlink()
    return weights
