"""Neighbour context for the remover: the mean of a channel's nearest EEG neighbours.

An artifact and the brain signal spread differently over the scalp: a blink reaches every
frontal site with one waveform, muscle bursts are local, EEG is partly shared. Giving the
network the neighbours' mean beside the channel lets it use that. For training, the
context of each clean epoch of the semi-synthetic set is rebuilt from the same recording,
time and filter as the epoch itself (checked: the channel rebuilt this way equals the
epoch), and artifacts are added to it with a neighbour's gain (:func:`context_artifacts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["N_NEIGHBOURS", "clean_contexts", "context_artifacts", "eeg_neighbours"]

N_NEIGHBOURS = 4


def eeg_neighbours(channels: Any, eeg: list[int], k: int = N_NEIGHBOURS) -> dict[int, list[int]]:
    """For each channel in ``eeg``, its ``k`` nearest channels among ``eeg`` (by position,
    else by index)."""
    from ..assess.neighbours import neighbours

    if len(eeg) < 2:
        return {c: [] for c in eeg}
    sub = channels.subset(np.asarray(eeg))
    nbrs = neighbours(sub, min(k, len(eeg) - 1))
    return {c: [eeg[j] for j in nbrs[i]] for i, c in enumerate(eeg)}


def clean_contexts(source: str | Path, dataset: Any, split: str = "train") -> np.ndarray:
    """Neighbour-mean context of every clean epoch of ``dataset``'s ``split``, in the order
    of its ``clean_epochs`` catalogue (float32, same shape as the epochs)."""
    from scipy.signal import detrend

    from ..core.channels import unit_scale
    from ..core.errors import DataValueError
    from ..io import read
    from ..simulate._semisynthetic_sources import _bandpass, _resample

    ts = read(str(source))
    cfg = dataset.attrs["params"]
    fs = float(dataset.attrs["sampling_rate"])
    length = int(dataset.attrs["epoch_samples"])
    part = getattr(dataset, split)
    catalogue = part.clean_epochs
    name = Path(str(source)).name
    eog = set(dataset.attrs["channels"][name]["eog"])
    eeg = [
        i
        for i, (n, t) in enumerate(zip(ts.ch_names, ts.channels.types, strict=True))
        if t == "eeg" and n not in eog
    ]
    nbrs = eeg_neighbours(ts.channels, eeg)
    out = np.empty((len(catalogue["onset"]), length), dtype=np.float32)
    for rng in dataset.attrs["time_ranges"][split]:
        if rng["source"] != name:
            continue
        a = int(np.ceil(rng["start"] * ts.sampling_rate))
        b = int(np.floor(rng["stop"] * ts.sampling_rate))
        scale = np.array([unit_scale(ts.channels.units[i], ts.ch_names[i]) for i in eeg])
        x = ts.get_data(a, b, channels=eeg).astype(np.float64) * scale[:, None]
        x = _bandpass(_resample(x, ts.sampling_rate, fs), tuple(cfg["eeg_band"]), fs)
        row = {c: i for i, c in enumerate(eeg)}
        t0 = a / ts.sampling_rate
        for e, (ch, onset) in enumerate(zip(catalogue["channel"], catalogue["onset"], strict=True)):
            c = ts.ch_names.index(str(ch))
            s = round((onset - t0) * fs)
            own = detrend(x[row[c], s : s + length])
            epoch = part.clean[np.flatnonzero(part.clean_index == e)[0]]
            if not np.allclose(own, epoch, atol=1e-9):
                raise DataValueError(
                    f"clean epoch {e} ({ch} at {onset:.2f} s) could not be rebuilt from "
                    f"{name}; the semi-synthetic recipe and this context builder disagree."
                )
            out[e] = detrend(x[[row[j] for j in nbrs[c]], s : s + length].mean(axis=0))
    return out


def context_artifacts(
    rng: np.random.Generator, art: np.ndarray, kind: np.ndarray, kinds: tuple[str, ...], pool: dict
) -> np.ndarray:
    """The artifacts as the neighbours see them.

    Ocular (and cardiac, also a far field): the same waveform at a gain drawn log-uniformly
    in [0.4, 2.5] (a fifth of the time in [-0.8, 0.4]: horizontal eye movements flip sign
    across the midline, the cardiac field across the scalp). Muscle: local, so
    a gain in [0.2, 1.0] on a mix of the same burst and another one, correlated by a random
    amount.
    """
    out = np.zeros_like(art)
    for k, name in enumerate(kinds):
        rows = np.flatnonzero(kind == k)
        if not len(rows):
            continue
        if name in ("eog", "ecg"):  # fields that reach the neighbours too
            flip = rng.random(len(rows)) < 0.2
            m = len(rows)
            # Log-uniform 0.4-2.5: a frontopolar channel's neighbours lie behind it (gain
            # below 1), a frontal one's include the frontopolar row (gain above 1).
            spread = np.exp(rng.uniform(np.log(0.4), np.log(2.5), m))
            gain = np.where(flip, rng.uniform(-0.8, 0.4, m), spread)
            out[rows] = gain[:, None] * art[rows]
        else:
            other = pool[name][rng.integers(0, len(pool[name]), len(rows))]
            rho = rng.uniform(0, 1, len(rows))[:, None]
            mixed = rho * art[rows] + np.sqrt(1 - rho**2) * other * np.sqrt(
                np.mean(art[rows] ** 2, axis=1, keepdims=True)
            )
            out[rows] = rng.uniform(0.2, 1.0, len(rows))[:, None] * mixed
    return out
