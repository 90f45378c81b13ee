"""The shipped artifact remover's recipe: ``neurolint train remover``.

Training data come only from the *train* split of the EEGdenoiseNet-style semi-synthetic
set (:func:`neurolint.simulate.simulate_semisynthetic`): its clean EEG epochs and its
artifact epochs (real EOG, simulated EMG) are remixed on the fly at a random SNR in
[-7, 2] dB (10 log10 of the RMS ratio, the protocol's convention), so each step sees new
mixtures. A tenth of the train split's clean and artifact epochs is held back for the
model card's validation figures; the test split is left to ``neurolint bench denoise``.
Cardiac epochs are synthetic (:mod:`._cardiac`; the recording has no ECG), drawn from
seeds of their own for training and validation; ``neurolint bench cardiac`` tests on the
simulator's own heartbeats.
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
CONTEXT_CLIP = 20.0  # context in units of the channel's std: a flat channel stays bounded
KINDS = ("eog", "emg", "ecg")
#: Artifact kinds the semi-synthetic set holds (cardiac epochs are synthetic).
DATASET_KINDS = ("eog", "emg")
#: Share of each kind among the training mixtures: ocular artifacts, with the fewest real
#: epochs and the hardest goals, keep the largest share.
KIND_SHARES = (0.45, 0.3, 0.25)
CARDIAC_EPOCHS = {"train": 4000, "validation": 400}
#: Simulator seeds of the artifact-free simulated EEG mixed into training (the simulator's
#: training seeds) and validation (seeds no other model uses).
SIMULATED_SEEDS = {"train": tuple(range(6)), "validation": (9100, 9101)}


@dataclass
class RemoverData:
    """Unique clean epochs and unit artifact epochs (by kind), for remixing."""

    clean: np.ndarray  # (n_clean, n)
    artifacts: dict[str, np.ndarray]  # kind -> (n_kind, n), unit RMS
    context: np.ndarray | None = None  # (n_clean, n): each clean epoch's neighbour mean
    simulated: np.ndarray | None = None  # (n_sim, n): artifact-free simulated EEG epochs

    def mix(
        self,
        rng: np.random.Generator,
        size: int,
        kinds: tuple[str, ...] = KINDS,
        shares: tuple[float, ...] | None = None,
        augment: bool = False,
        clean_fraction: float = 0.0,
        synthetic_eog: float = 0.0,
        with_context: bool = False,
        context_dropout: float = 0.0,
        simulated_share: float = 0.0,
    ) -> tuple[np.ndarray, ...]:
        """``size`` fresh mixtures: ``(noisy, clean, snr_db, kind index)``, and with
        ``with_context`` the neighbours' noisy mean as a fifth array. Kinds are drawn with
        probabilities ``shares`` (default: equally).

        With ``augment``, each artifact is a random 2 s window of the epoch followed by its
        time-reversed copy (continuous at the join): the few real blink epochs then appear
        at every position in the window, either way round. A ``clean_fraction`` of the
        mixtures carry no artifact at all (SNR +inf), so the network learns to leave clean
        EEG, slow potentials included, alone. A ``synthetic_eog`` fraction of the ocular
        mixtures take a synthetic ocular epoch (:mod:`._ocular`) instead of a real one. A
        ``simulated_share`` of all mixtures take an artifact-free simulated EEG epoch
        (broader spectra than the recording's posterior channels: more delta and more above
        30 Hz) as the clean one.

        The context carries each artifact as a neighbour sees it
        (:func:`._context.context_artifacts`); two fifths of the artifact-free mixtures have
        muscle on the neighbours only, so that the network does not copy the context's
        artifacts into the channel; a ``context_dropout`` fraction has no context (zeros),
        so that the network also works on a channel alone.
        """
        if shares is None:
            kind = rng.integers(0, len(kinds), size)
        else:
            kind = rng.choice(len(kinds), size, p=shares)
        which = rng.integers(0, len(self.clean), size)
        clean = self.clean[which]
        if simulated_share > 0:
            if self.simulated is None or with_context:
                raise ParameterError("simulated clean epochs need a pool and no context.")
            swap = rng.random(size) < simulated_share
            clean = clean.copy()
            clean[swap] = self.simulated[rng.integers(0, len(self.simulated), int(swap.sum()))]
        snr = rng.uniform(*SNR_RANGE, size)
        art = np.empty_like(clean)
        for k, name in enumerate(kinds):
            rows = np.flatnonzero(kind == k)
            pool = self.artifacts[name]
            picked = pool[rng.integers(0, len(pool), len(rows))]
            if augment and name != "ecg":  # a reversed heartbeat is not a heartbeat
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
        none = np.zeros(size, dtype=bool)
        if clean_fraction > 0:
            none = rng.random(size) < clean_fraction
            scale[none], snr[none] = 0.0, np.inf
        noisy = clean + scale[:, None] * art
        if not with_context:
            return noisy, clean, snr, kind
        from ._context import context_artifacts

        if self.context is None:
            raise ParameterError("these epochs have no neighbour context; build them with it.")
        ctx_art = context_artifacts(rng, art, kind, kinds, self.artifacts)
        ctx = self.context[which] + scale[:, None] * ctx_art
        lonely = np.flatnonzero(none & (rng.random(size) < 0.4))
        if len(lonely) and "emg" in self.artifacts:
            pool = self.artifacts["emg"]
            burst = pool[rng.integers(0, len(pool), len(lonely))]
            level = rms[lonely] / 10 ** (rng.uniform(*SNR_RANGE, len(lonely)) / 10)
            ctx[lonely] += level[:, None] * burst
        ctx[rng.random(size) < context_dropout] = 0.0
        return noisy, clean, snr, kind, ctx


def _unique(split: Any, contexts: np.ndarray | None = None) -> RemoverData:
    ids, first = np.unique(split.clean_index, return_index=True)
    clean = np.asarray(split.clean)[first].astype(np.float32)
    artifacts = {}
    unit = np.asarray(split.artifact) / np.asarray(split.artifact_scale)[:, None]
    kinds = np.asarray(split.kind).astype(str)
    for name in DATASET_KINDS:
        rows = np.flatnonzero(kinds == name)
        _, first = np.unique(np.asarray(split.artifact_index)[rows], return_index=True)
        epochs = unit[rows[first]]
        epochs /= np.sqrt(np.mean(epochs**2, axis=1, keepdims=True)) + 1e-30
        artifacts[name] = epochs.astype(np.float32)
    return RemoverData(clean, artifacts, None if contexts is None else contexts[ids])


def remover_data(
    source: str | Path, seed: int = 0, context: bool = False
) -> tuple[RemoverData, RemoverData, Any]:
    """``(train, validation, dataset)`` from the train split of ``source``'s semi-synthetic set.

    Validation holds every tenth clean and artifact epoch of the train split (in time
    order); the dataset's test split is untouched. Cardiac epochs are synthetic, from
    separate seeds for the two parts. With ``context``, each clean epoch also
    gets its neighbours' mean (:func:`._context.clean_contexts`).
    """
    from ..simulate import simulate_semisynthetic

    dataset = simulate_semisynthetic(str(source), seed=seed).data
    contexts = None
    if context:
        from ._context import clean_contexts

        contexts = clean_contexts(source, dataset, "train")
    whole = _unique(dataset.train, contexts)

    def take(arr: np.ndarray, val: bool) -> np.ndarray:
        keep = (np.arange(len(arr)) % 10 == 9) == val
        return arr[keep]

    def part(val: bool) -> RemoverData:
        return RemoverData(
            take(whole.clean, val),
            {k: take(v, val) for k, v in whole.artifacts.items()},
            None if whole.context is None else take(whole.context, val),
        )

    from ._cardiac import synthetic_ecg

    train, valid = part(False), part(True)
    for data, split, offset in ((train, "train", 1), (valid, "validation", 2)):
        rng = np.random.default_rng([seed, 7, offset])
        data.artifacts["ecg"] = synthetic_ecg(rng, CARDIAC_EPOCHS[split])
        if not context:
            data.simulated = simulated_clean(SIMULATED_SEEDS[split])
    return train, valid, dataset


def simulated_clean(seeds: tuple[int, ...], n: int = 512) -> np.ndarray:
    """Artifact-free simulated EEG (32 channels, 256 Hz) cut into ``n``-sample epochs."""
    from ..simulate import simulate_eeg

    out = []
    for seed in seeds:
        x = simulate_eeg(32, 64.0, 256.0, artifacts=None, seed=seed).data.get_data()
        usable = x.shape[1] // n * n
        out.append(x[:, :usable].reshape(-1, n))
    return np.concatenate(out).astype(np.float32)


def _normalise(
    noisy: np.ndarray, clean: np.ndarray, context: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Everything divided by the noisy channel's standard deviation (the network's scale)."""
    std = noisy.std(axis=1, keepdims=True) + 1e-30
    out = [(noisy / std).astype(np.float32), (clean / std).astype(np.float32)]
    if context is not None:
        out.append(np.clip(context / std, -CONTEXT_CLIP, CONTEXT_CLIP).astype(np.float32))
    return tuple(out)


def evaluate_remover(
    module: Any, data: RemoverData, seed: int = 1, n: int = 2000, context: bool = False
) -> dict:
    """CC, RRMSE_t and RRMSE_s per kind on ``n`` fresh mixtures of ``data`` (the channel
    alone, or with its neighbours' context); with a simulated pool, also what the network
    does to artifact-free simulated EEG and to small heartbeats on it (see
    :func:`_simulated_checks`)."""
    from ..bench.metrics import correlation, rrmse_s, rrmse_t
    from .artifacts import denoise_epochs

    rng = np.random.default_rng(seed)
    mixed = data.mix(rng, n, with_context=context)
    noisy, clean, kind = mixed[0], mixed[1], mixed[3]
    out = denoise_epochs(noisy, context=mixed[4] if context else None, module=module)
    metrics: dict[str, Any] = {}
    for k, name in enumerate(KINDS):
        rows = kind == k
        metrics[name] = {
            "cc": round(float(correlation(clean[rows], out[rows])), 4),
            "rrmse_t": round(float(rrmse_t(clean[rows], out[rows])), 4),
            "rrmse_s": round(float(rrmse_s(clean[rows], out[rows], 256.0)), 4),
        }
    if data.simulated is not None and not context:
        metrics["simulated"] = _simulated_checks(module, data, rng)
    return metrics


def _simulated_checks(module: Any, data: RemoverData, rng: np.random.Generator) -> dict:
    """``clean_change``: RRMSE_t of the output against the input on artifact-free simulated
    EEG (0 = untouched); ``ecg_left``: on the same EEG with heartbeats at 5-15 dB SNR (the
    usual size of cardiac artifacts in EEG), energy of (output - clean) over that of
    (input - clean) (1 = untouched, 0 = perfect)."""
    from ..bench.metrics import rrmse_t
    from .artifacts import denoise_epochs

    clean = data.simulated.astype(np.float64)
    out = denoise_epochs(clean.astype(np.float32), module=module)
    art = data.artifacts["ecg"][rng.integers(0, len(data.artifacts["ecg"]), len(clean))]
    snr = rng.uniform(5.0, 15.0, len(clean))
    rms = np.sqrt(np.mean(clean**2, axis=1))
    noisy = clean + (rms / 10 ** (snr / 10))[:, None] * art
    fixed = denoise_epochs(noisy.astype(np.float32), module=module)
    return {
        "clean_change": round(float(rrmse_t(clean, out)), 4),
        "ecg_left": round(float(np.sum((fixed - clean) ** 2) / np.sum((noisy - clean) ** 2)), 4),
    }


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
    context: bool = False,
    simulated_share: float = 0.3,
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
    context : bool
        Give the network its neighbours' mean as a second input (a third of the training
        mixtures without it, so it also works on a channel alone). default: ``False``: on
        a multichannel validation scenario (simulator training seeds, train-range EOG
        spread over the scalp) the context models scored EOG CC 0.846-0.855 against 0.863
        for the single-channel model, so the shipped model does without.

    simulated_share : float
        Fraction of the mixtures whose clean epoch is artifact-free simulated EEG (simulator
        training seeds) instead of the recording's: the recording's 13 posterior channels
        at 128 Hz have little delta and almost nothing above 30 Hz, and a network that
        only saw them removed 28% of the delta and 38% of the power above 60 Hz from clean
        simulated EEG. Not with ``context``. default: 0.3.

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
    train, valid, dataset = remover_data(source, seed, context=context)
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    arch = {"widths": [16, 24, 32, 48], "kernel": 7, "in_channels": 2 if context else 1}
    module = build_remover(**arch)

    def batches(_step: int):
        mixed = train.mix(
            rng,
            batch_size,
            shares=KIND_SHARES,
            augment=True,
            clean_fraction=0.25,
            synthetic_eog=synthetic_eog,
            with_context=context,
            context_dropout=1 / 3,
            simulated_share=0.0 if context else simulated_share,
        )
        sign = rng.choice([-1.0, 1.0], size=(batch_size, 1)).astype(np.float32)
        ctx = mixed[4] * sign if context else None
        arrays = _normalise(mixed[0] * sign, mixed[1] * sign, ctx)
        x = np.stack([arrays[0], arrays[2]], axis=1) if context else arrays[0][:, None]
        return torch.from_numpy(x), torch.from_numpy(arrays[1])[:, None], torch.ones(1)

    def mse(output, target, _weight):
        return torch.mean((output - target) ** 2)

    history = train_loop(
        module, batches, steps, lr=2e-3, loss=mse, progress=progress, label="remover"
    )
    metrics = {"alone": evaluate_remover(module, valid)}
    if context:
        metrics["with_context"] = evaluate_remover(module, valid, context=True)
    card = {
        "description": "1D U-Net removing ocular (EOG), muscle (EMG) and cardiac (ECG) "
        "artifacts from 2 s "
        "EEG epochs at 256 Hz (input scaled by the channel's standard deviation)"
        + (
            "; second input: the mean of the channel's 4 nearest EEG neighbours on the same "
            "scale (zeros when there are none)"
            if context
            else ""
        )
        + ".",
        "training": {
            "data": "EEGdenoiseNet-style semi-synthetic set, train split only, remixed on "
            f"the fly at SNR {SNR_RANGE[0]:g}..{SNR_RANGE[1]:g} dB; kinds eog/emg/ecg in "
            f"shares {'/'.join(f'{x:g}' for x in KIND_SHARES)}; cardiac epochs synthetic "
            f"({CARDIAC_EPOCHS['train']} heartbeat epochs, 45-120 bpm, varied PQRST shapes; "
            "the recording has no ECG); a quarter of each batch has no artifact "
            "(target = input)"
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
            "simulated_share": 0.0 if context else float(simulated_share),
            "simulated_seeds": list(SIMULATED_SEEDS["train"]),
            "context": bool(context),
            "final_loss": round(history["final_loss"], 5),
            "train_seconds": round(time.perf_counter() - start, 1),
        },
        "validation": {
            "what": "2000 fresh mixtures of held-back train-split epochs (every tenth); "
            "'simulated': artifact-free simulated EEG of seeds "
            f"{', '.join(map(str, SIMULATED_SEEDS['validation']))} alone (clean_change, "
            "RRMSE_t of output vs input) and with heartbeats at 5-15 dB (ecg_left, energy "
            "left of the artifact)",
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
