"""Recipes that train and fine-tune the learned EEG detector (``neurolint train detector``).

Training data: ``simulate_eeg`` recordings on training seeds only (< 10 000) with varied
channel counts (16-128), sampling rates (128-1000 Hz), durations and amplitudes, and,
when a real source is given (``../shared/data/eeg/eeglab_data.set``), pseudo-recordings
built from the *train* split of ``simulate_semisynthetic(source)``: real clean EEG with
real EOG blinks added. Per-kind thresholds are chosen on validation seeds 9000-9003 (also
training seeds); the card's metrics come from held-out seeds >= 10 000.

Labels: each 0.25 s segment of each channel is positive for a kind when an event of that
kind lists the channel (or lists none: all) and covers at least half of the segment or
half of the event; segments an event only grazes are left out of the loss.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputNotFoundError, ParameterError, SidecarError
from ..core.findings import Finding
from .base import judged_part
from .learned import (
    KINDS,
    N_NEIGHBOURS,
    SEGMENT,
    LearnedDetector,
    _grid,
    events_from_probs,
    neighbours,
    prepare,
    robust_scale,
)

__all__ = ["finetune_detector", "segment_labels", "train_detector"]

_TRAIN_SEED_LIMIT = 10_000
VALIDATION_SEEDS = (9000, 9001, 9002, 9003)
HELD_OUT = ((32, 256.0, 300.0), (64, 256.0, 300.0), (64, 500.0, 300.0))
_CROP = 40  # segments per training crop (10 s)
_EDGE = 4  # segments at each crop edge left out of the loss (they lack context)
_RATES = (128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0)
_COUNTS = (16, 19, 24, 32, 48, 64, 96, 128)
# More of the rare kinds than the simulator's defaults, so every kind is well represented.
_TRAIN_RATES = {
    "pop": 3.0,
    "movement": 2.0,
    "saturation": 2.0,
    "gap": 3.0,
    "muscle": 3.0,
    "ecg": 0.6,
    "line_noise": 1.0,
}


def segment_labels(
    events: Sequence[Finding], names: Sequence[str], n_segments: int, hop: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel, per-segment targets and loss weights from timed events.

    Parameters
    ----------
    events : sequence of Finding
        Events whose kind is in :data:`~neurolint.assess.learned.KINDS` (others ignored);
        empty ``channels`` means every channel.
    names : sequence of str
        Channel names, in data order.
    n_segments : int
    hop : float
        Seconds per segment.

    Returns
    -------
    (y, w) : float32 arrays of shape ``(n_channels, n_segments, n_kinds)``
        Targets (1 positive) and weights (0 where the segment is only grazed).
    """
    n_ch, n_k = len(names), len(KINDS)
    index = {n: i for i, n in enumerate(names)}
    y = np.zeros((n_ch, n_segments, n_k), np.float32)
    amb = np.zeros((n_ch, n_segments, n_k), bool)
    for e in events:
        if e.kind not in KINDS or e.kind == "clean":
            continue
        k = KINDS.index(e.kind)
        chans = [index[c] for c in e.channels if c in index] if e.channels else list(range(n_ch))
        if not chans:
            continue
        a = int(np.floor(e.onset / hop))
        b = min(n_segments, int(np.ceil(e.offset / hop)) + 1)
        if a >= b:
            continue
        seg = np.arange(a, b)
        overlap = np.clip(
            np.minimum((seg + 1) * hop, e.offset) - np.maximum(seg * hop, e.onset), 0, None
        )
        frac = overlap / max(min(hop, e.duration), 1e-9)
        pos, part = seg[frac >= 0.5], seg[(frac > 0) & (frac < 0.5)]
        ci = np.asarray(chans)
        y[np.ix_(ci, pos, [k])] = 1.0
        amb[np.ix_(ci, part, [k])] = True
    amb &= y == 0
    w = (~amb).astype(np.float32)
    c = KINDS.index("clean")
    y[:, :, c] = (y[:, :, :c].max(axis=2) == 0).astype(np.float32)
    w[:, :, c] = (~amb[:, :, :c].any(axis=2)).astype(np.float32)
    return y, w


class _Recording:
    """One training recording prepared to the input spec, with its segment labels."""

    def __init__(self, ts: Any, events: Sequence[Finding], k: int = N_NEIGHBOURS) -> None:
        # The channels the detector judges (EOG/ECG/EMG leads are not EEG to learn from).
        ts, _ = judged_part(ts)
        grid = _grid(float(ts.sampling_rate))
        x, miss = prepare(ts.get_data(), grid, robust_scale(ts))
        n_seg = x.shape[1] // SEGMENT
        self.x = x[:, : n_seg * SEGMENT]
        self.miss = miss[:, : n_seg * SEGMENT].astype(np.uint8)
        self.nbrs = neighbours(ts.channels, k)
        self.y, self.w = segment_labels(events, ts.ch_names, n_seg, grid.hop)
        self.n_seg = n_seg

    def crop(self, ch: int, s0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t0, t1 = s0 * SEGMENT, (s0 + _CROP) * SEGMENT
        rows = np.concatenate([[ch], self.nbrs[ch]])
        x = self.x[rows, t0:t1]
        miss = self.miss[rows, t0:t1].astype(np.float32)
        ctx = np.concatenate([x, miss[:1], miss[1:].mean(axis=0, keepdims=True)])
        y = self.y[ch, s0 : s0 + _CROP].T
        w = self.w[ch, s0 : s0 + _CROP].T.copy()
        w[:, :_EDGE] = 0
        w[:, -_EDGE:] = 0
        return ctx, y, w


def _simulate(seed: int, rng: np.random.Generator, domain: dict[str, Any] | None = None):
    from ..simulate import simulate_eeg

    if seed >= _TRAIN_SEED_LIMIT:
        raise ParameterError(f"seed {seed} is a benchmark seed; training uses seeds < 10000.")
    d = dict(domain or {})
    n_ch = int(d.pop("n_channels", rng.choice(_COUNTS)))
    sfreq = float(d.pop("sampling_rate", rng.choice(_RATES)))
    duration = float(d.pop("duration", rng.uniform(60, 150)))
    kwargs = {
        "background_rms": float(np.exp(rng.uniform(np.log(6e-6), np.log(16e-6)))),
        "alpha_amplitude": float(rng.uniform(4e-6, 15e-6)),
        "theta_amplitude": float(rng.uniform(2e-6, 6e-6)),
        "rates": _TRAIN_RATES,
    }
    kwargs.update(d)
    return simulate_eeg(n_ch, duration, sfreq, seed=int(seed), **kwargs)


def _semisynthetic_recordings(source: Any, seed: int, n: int = 6) -> list[_Recording]:
    """Pseudo-recordings of real clean EEG (train split) with real EOG blinks added."""
    from ..core.timeseries import TimeSeries
    from ..simulate import simulate_semisynthetic

    data = simulate_semisynthetic(source, artifacts=("eog",), seed=seed).data
    tr = data.train
    fs = float(data.sampling_rate)
    clean_rows = np.unique(tr.clean_index, return_index=True)[1]
    clean = tr.clean[clean_rows].astype(np.float64)
    eog_rows = np.flatnonzero(tr.kind == "eog")
    eog_rows = eog_rows[np.unique(tr.artifact_index[eog_rows], return_index=True)[1]]
    eog = tr.artifact[eog_rows] / tr.artifact_scale[eog_rows, None]
    rng = np.random.default_rng((seed, 7))
    ep = clean.shape[1]
    out = []
    for _ in range(n):
        n_ch, n_ep = 12, 30
        sig = clean[rng.integers(len(clean), size=(n_ch, n_ep))].reshape(n_ch, -1)
        # Smooth the joins between epochs (they are detrended, so steps are small).
        sig = np.ascontiguousarray(sig)
        rms = float(np.median(np.std(clean, axis=1)))
        events = []
        if len(eog):
            for j in range(1, n_ep - 1, 2):
                wave = eog[rng.integers(len(eog))]
                peak = np.abs(wave).max() or 1.0
                amp = rng.uniform(5, 20) * rms
                gains = np.linspace(1.0, 0.2, n_ch)[rng.permutation(n_ch)]
                sig[:, j * ep : (j + 1) * ep] += amp * gains[:, None] * (wave / peak)[None]
                above = np.flatnonzero(np.abs(wave) >= 0.5 * peak)
                on, off = (j * ep + above[0]) / fs, (j * ep + above[-1] + 1) / fs
                chans = tuple(f"S{i}" for i in np.flatnonzero(gains >= 0.4))
                events.append(Finding(on, off - on, "blink", chans, detector="semisynthetic"))
        ts = TimeSeries(sig.astype(np.float32), fs, [f"S{i}" for i in range(n_ch)])
        out.append(_Recording(ts, events))
    return out


class _Sampler:
    """Balanced minibatches: most crops centred on a positive of a uniformly drawn kind."""

    def __init__(self, recs: list[_Recording], seed: int, batch: int, positive_share: float):
        self.recs = [r for r in recs if r.n_seg >= _CROP]
        if not self.recs:
            raise ParameterError("Training recordings are shorter than one 10 s crop.")
        self.rng = np.random.default_rng(seed)
        self.batch = batch
        self.share = positive_share
        self.pos: dict[int, np.ndarray] = {}
        for k in range(len(KINDS) - 1):
            rows = []
            for ri, r in enumerate(self.recs):
                c, s = np.nonzero(r.y[:, :, k] * r.w[:, :, k])
                if c.size:
                    rows.append(np.stack([np.full(c.size, ri), c, s], axis=1))
            if rows:
                self.pos[k] = np.concatenate(rows)
        sizes = np.array([r.n_seg * r.x.shape[0] for r in self.recs], float)
        self.weights = sizes / sizes.sum()

    def __call__(self, step: int) -> tuple[Any, Any, Any]:
        import torch

        xs, ys, ws = [], [], []
        kinds = list(self.pos)
        for _ in range(self.batch):
            if kinds and self.rng.random() < self.share:
                rows = self.pos[kinds[self.rng.integers(len(kinds))]]
                ri, ch, s = rows[self.rng.integers(len(rows))]
                r = self.recs[ri]
                lo = _EDGE + 1
                s0 = int(np.clip(s - self.rng.integers(lo, _CROP - lo), 0, r.n_seg - _CROP))
            else:
                ri = int(self.rng.choice(len(self.recs), p=self.weights))
                r = self.recs[ri]
                ch = int(self.rng.integers(r.x.shape[0]))
                s0 = int(self.rng.integers(0, r.n_seg - _CROP + 1))
            x, y, w = r.crop(int(ch), s0)
            xs.append(x)
            ys.append(y)
            ws.append(w)
        return (
            torch.from_numpy(np.stack(xs)),
            torch.from_numpy(np.stack(ys)),
            torch.from_numpy(np.stack(ws)),
        )


def _pool_scores(
    pairs: Sequence[tuple[Sequence[Finding], Sequence[Finding]]],
    kinds: Sequence[str] | None = None,
) -> dict:
    """Pooled per-kind P/R/F1 (bench rule: merge close predictions, overlap >= 50%) of
    ``kinds`` (default: every kind but ``clean``)."""
    from ..bench.metrics import event_scores
    from ..bench.tasks.detect import merge_close

    kinds = [k for k in KINDS if k != "clean"] if kinds is None else list(kinds)
    counts = {k: [0, 0, 0] for k in kinds}
    for true, pred in pairs:
        s = event_scores(
            [e for e in true if e.kind in kinds], merge_close(pred), kinds, min_overlap=0.5
        )
        for k in kinds:
            for i, key in enumerate(("tp", "fp", "fn")):
                v = s.get(k, {}).get(key, 0)
                counts[k][i] += 0 if v != v else int(v)
    out: dict[str, Any] = {}
    for k, (tp, fp, fn) in counts.items():
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        out[k] = {"tp": tp, "fp": fp, "fn": fn, "f1": round(f1, 4) if f1 == f1 else None}
    f1s = [v["f1"] for k, v in out.items() if counts[k][0] + counts[k][2] > 0]
    out["macro_f1"] = round(float(np.mean(f1s)), 4) if f1s else None
    return out


def _probs_on(module: Any, config: dict, sims: Sequence) -> list[tuple[np.ndarray, Any]]:
    det = LearnedDetector(model="unused")
    det._cache = ("unused", module, config)
    return [(det.predict_proba(s.data)[0], s) for s in sims]


def _events(probs: np.ndarray, sim: Any, thresholds: dict[str, float]) -> list[Finding]:
    grid = _grid(float(sim.data.sampling_rate))
    return events_from_probs(
        probs,
        grid.hop,
        list(sim.data.ch_names),
        thresholds,
        duration=sim.data.n_samples / grid.sfreq,
    )


def _choose_thresholds(outputs: Sequence[tuple[np.ndarray, Any]]) -> dict[str, float]:
    """Per-kind threshold maximising pooled event F1 on validation (training-seed) data."""
    grid = np.round(np.arange(0.2, 0.96, 0.05), 2)
    best: dict[str, float] = {}
    for kind in KINDS[:-1]:
        scores = []
        for t in grid:
            pairs = [(s.truth.events_of(kind), _events(p, s, {kind: float(t)})) for p, s in outputs]
            scores.append(_pool_scores(pairs)[kind]["f1"] or 0.0)
        # Ties go to the middle of the best plateau (more robust than its edge).
        top = np.flatnonzero(np.asarray(scores) >= max(scores) - 1e-9)
        best[kind] = float(grid[top[len(top) // 2]])
    return best


#: A kind whose probability ranks its own segments above the others no better than this
#: (pooled ROC AUC on the validation seeds) is not reported as events: event F1 cannot show
#: it, since one event over a whole recording "matches" a true episode inside it.
MIN_SEGMENT_AUC = 0.7


def segment_auc(outputs: Sequence[tuple[np.ndarray, Any]], kind: str) -> float | None:
    """Pooled ROC AUC of a kind's per-segment probability (largest over channels) for
    segments inside a true event of that kind against all others; ``None`` without both."""
    from sklearn.metrics import roc_auc_score

    ki = KINDS.index(kind)
    scores, labels = [], []
    for probs, sim in outputs:
        hop = _grid(float(sim.data.sampling_rate)).hop
        centre = (np.arange(probs.shape[0]) + 0.5) * hop
        inside = np.zeros(len(centre), bool)
        for e in sim.truth.events_of(kind):
            inside |= (centre >= e.onset) & (centre < e.offset)
        scores.append(probs[:, :, ki].max(axis=1))
        labels.append(inside)
    y = np.concatenate(labels)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.concatenate(scores)))


def _unreliable(outputs: Sequence[tuple[np.ndarray, Any]]) -> dict[str, str]:
    """Kinds not to report, each with the measured reason."""
    out = {}
    for kind in KINDS[:-1]:
        auc = segment_auc(outputs, kind)
        if auc is not None and auc < MIN_SEGMENT_AUC:
            out[kind] = f"segment AUC {auc:.2f} on the validation seeds (< {MIN_SEGMENT_AUC})"
    return out


def _config(
    arch: dict[str, Any], thresholds: dict[str, float], not_reported: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "builder": "neurolint.models.nets.detector:build_detector",
        "arch": arch,
        "kinds": list(KINDS),
        "thresholds": thresholds,
        "not_reported": dict(not_reported or {}),
        "n_neighbours": N_NEIGHBOURS,
        "episode_fill": 8,
        "episode_min": 4,
        "input": {
            "model_rate_hz": 256,
            "segment_s": 0.25,
            "context_s": "~1 s per segment (3 s summary for episodes)",
            "inputs": "target, 4 nearest neighbours, target missing mask, neighbours' mask",
            "normalisation": "recording robust scale (median channel MAD x 1.4826), 1 s "
            "moving mean removed, 20*asinh(x/20)",
            "missing": "NaN/inf/exact zero -> 0 plus mask",
            "min_rate_hz": 100,
        },
    }


def train_detector(
    out: str | Path | None = None,
    *,
    n_recordings: int = 60,
    seeds: Sequence[int] | None = None,
    epochs: int = 4,
    steps_per_epoch: int = 500,
    batch_size: int = 64,
    seed: int = 0,
    source: Any = None,
    arch: dict[str, Any] | None = None,
    evaluate: bool = True,
    progress: bool = True,
    name: str = "eeg-detector",
) -> Path:
    """Train the EEG artifact detector and write ``<out>/<name>.safetensors`` + card.

    Parameters
    ----------
    out : str | path-like | None
        Output folder. default: ``None`` (the package's shipped model folders).
    n_recordings : int
        Simulated training recordings (seeds ``0..n_recordings-1`` unless ``seeds``).
        default: 60.
    seeds : sequence of int | None
        Simulator seeds, all < 9000 (9000-9999 validate thresholds). default: ``None``.
    epochs, steps_per_epoch : int
        Optimiser steps = ``epochs * steps_per_epoch``. defaults: 4, 500.
    batch_size : int
        10 s crops per step. default: 64.
    seed : int
        Seed of torch and the crop sampler. default: 0.
    source : str | path-like | TimeSeries | None
        Real EEG for semi-synthetic training (train split only). default: ``None``.
    arch : dict | None
        Builder overrides (``widths``, ``hidden``) for small test models. default: ``None``.
    evaluate : bool
        Choose thresholds on validation seeds and score held-out seeds >= 10000 for the
        card. default: ``True``.
    progress : bool
        Print progress. default: ``True``.
    name : str
        File stem. default: ``"eeg-detector"``.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    import torch

    from ..models.registry import WEIGHTS_DIR, _builder, save_model
    from ..models.training import seed_everything, train_loop

    t_start = time.perf_counter()
    seeds = list(range(int(n_recordings))) if seeds is None else [int(s) for s in seeds]
    if any(s >= 9000 or s < 0 for s in seeds):
        raise ParameterError("Training seeds must lie in 0-8999 (9000+ validate, 10000+ test).")
    seed_everything(seed)
    # Real data first, so a bad source path fails before minutes of simulation.
    recs: list[_Recording] = [] if source is None else _semisynthetic_recordings(source, seed)
    n_semi = len(recs)
    for s in seeds:
        sim = _simulate(s, np.random.default_rng((s, 1)))
        recs.append(_Recording(sim.data, sim.truth.events))
    t_data = time.perf_counter() - t_start
    if progress:
        print(f"data: {len(recs)} recordings in {t_data:.0f} s", flush=True)
    arch = {"n_inputs": 3 + N_NEIGHBOURS, "n_kinds": len(KINDS), **(arch or {})}
    config = _config(arch, {k: 0.5 for k in KINDS[:-1]})
    module = _builder(config["builder"])(**arch)
    sampler = _Sampler(recs, seed, batch_size, positive_share=0.7)
    pos_weight = torch.ones(len(KINDS))
    stats = train_loop(
        module,
        sampler,
        int(epochs) * int(steps_per_epoch),
        pos_weight=pos_weight,
        progress=progress,
    )
    del recs, sampler
    card: dict[str, Any] = {
        "description": "1D CNN labelling 0.25 s segments of each EEG channel (with its 4 "
        "nearest neighbours as context) with artifact kinds; multi-label, plus 'clean'.",
        "training": {
            "simulator": "neurolint.simulate.simulate_eeg",
            "seeds": _seed_summary(seeds),
            "n_recordings": len(seeds),
            "semisynthetic_recordings": n_semi,
            "semisynthetic_source": None
            if source is None
            else str(getattr(source, "source", source)),
            "variation": "channels 16-128, rates 128-1000 Hz, 60-150 s, background 6-16 uV, "
            f"rates {_TRAIN_RATES}",
            "torch_seed": seed,
            "steps": stats["steps"],
            "batch_size": batch_size,
            "final_loss": round(stats["final_loss"], 5),
            "train_seconds": round(time.perf_counter() - t_start, 1),
        },
        "recipe": 'python -c "from neurolint.assess.training import train_detector; '
        f"train_detector(n_recordings={n_recordings}, epochs={epochs}, "
        f"steps_per_epoch={steps_per_epoch}, batch_size={batch_size}, seed={seed}"
        + (f", source={str(getattr(source, 'source', source))!r}" if source is not None else "")
        + ')"  (run in the repository root; CLI: neurolint train detector)',
    }
    if evaluate:
        outputs = _probs_on(module, config, validation_recordings())
        config = _config(arch, _choose_thresholds(outputs), _unreliable(outputs))
        card["thresholds_from"] = f"validation seeds {list(VALIDATION_SEEDS)} (training seeds)"
        card["metrics"] = evaluate_detector(module, config, progress=progress)
    folder = Path(out) if out is not None else WEIGHTS_DIR
    path = save_model(module, config, card, name, folder)
    if out is None:  # shipped model: card beside the other cards
        from ..models.registry import CARDS_DIR

        (CARDS_DIR / f"{name}.json").write_text(path.with_suffix(".json").read_text())
        path.with_suffix(".json").unlink()
    if progress:
        print(f"saved {path} ({time.perf_counter() - t_start:.0f} s)", flush=True)
    return path


def validation_recordings() -> list:
    """The simulated recordings (seeds :data:`VALIDATION_SEEDS`) thresholds are chosen on."""
    layouts = ((32, 256.0), (64, 256.0), (64, 500.0), (19, 250.0))
    return [
        _simulate(
            s,
            np.random.default_rng(s),
            {
                "n_channels": n,
                "sampling_rate": f,
                "duration": 300.0,
                "rates": None,
                "background_rms": 10e-6,
                "alpha_amplitude": 10e-6,
                "theta_amplitude": 4e-6,
            },
        )
        for s, (n, f) in zip(VALIDATION_SEEDS, layouts, strict=True)
    ]


def _seed_summary(seeds: Sequence[int]) -> str | list[int]:
    s = sorted(seeds)
    if s and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return s


def evaluate_detector(
    module: Any,
    config: dict[str, Any],
    *,
    layouts: Sequence = HELD_OUT,
    seed: int = 0,
    domain: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Pooled per-kind event F1 on held-out simulations (seeds ``10000 + seed + i``).

    Parameters
    ----------
    module : torch.nn.Module
    config : dict
        With ``thresholds`` (and ``not_reported``: kinds left out of the scores).
    layouts : sequence of (n_channels, sampling_rate, duration)
        default: the bench ``detect`` suite (32/64 ch, 256/500 Hz, 5 min).
    seed : int
        default: 0.
    domain : dict | None
        Extra ``simulate_eeg`` keyword arguments (shifted domains). default: ``None``.
    progress : bool

    Returns
    -------
    dict
        ``{kind: {tp, fp, fn, f1}, "macro_f1", "seeds", "layouts"}`` over the reported kinds.
    """
    from ..simulate import simulate_eeg

    sims = [
        simulate_eeg(n, dur, f, seed=10_000 + seed + i, **(domain or {}))
        for i, (n, f, dur) in enumerate(layouts)
    ]
    outputs = _probs_on(module, config, sims)
    skip = config.get("not_reported", {})
    thresholds = {k: v for k, v in config["thresholds"].items() if k not in skip}
    pairs = [(s.truth.events, _events(p, s, thresholds)) for p, s in outputs]
    scores = _pool_scores(pairs, [k for k in KINDS[:-1] if k not in skip])
    scores["seeds"] = [10_000 + seed + i for i in range(len(layouts))]
    scores["layouts"] = [list(x) for x in layouts]
    if progress:
        print({k: v["f1"] if isinstance(v, dict) else v for k, v in scores.items()}, flush=True)
    return scores


def _read_labels(labels: str | Path, names: Sequence[str]) -> list[Finding]:
    path = Path(labels)
    if not path.is_file():
        raise InputNotFoundError(f"{path} does not exist; give an annotations file or events.tsv.")
    if path.suffix == ".tsv":
        from ..io.bids import read_events_tsv

        return read_events_tsv(path)
    try:
        import mne

        ann = mne.read_annotations(path)
    except (ValueError, OSError, RuntimeError) as exc:
        raise SidecarError(f"{path} is not an MNE annotations file ({exc}).") from None
    out = []
    for onset, dur, desc, chans in zip(
        ann.onset, ann.duration, ann.description, ann.ch_names, strict=True
    ):
        kind = str(desc).removeprefix("BAD_").removeprefix("bad_").lower()
        if kind in KINDS and kind != "clean":
            out.append(
                Finding(float(onset), float(dur), kind, tuple(c for c in chans if c in names))
            )
    return out


def finetune_detector(
    pretrained: str | Path = "eeg-detector",
    data: Any = None,
    labels: str | Path | Sequence[Finding] | None = None,
    *,
    epochs: int = 3,
    steps_per_epoch: int = 100,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    out: str | Path = ".",
    name: str = "eeg-detector-finetuned",
    progress: bool = False,
) -> Path:
    """Adapt a pretrained detector to a lab's data with a few labelled minutes.

    Labelled events are positives of their kind (on their channels, or all); unlabelled
    time is clean. The per-kind thresholds of the pretrained card are kept.

    Parameters
    ----------
    pretrained : str | path-like
        Registered name or ``.safetensors`` path. default: ``"eeg-detector"``.
    data : TimeSeries | path-like | sequence of them
        The labelled recording(s).
    labels : path-like | sequence of Finding | sequence of them
        MNE annotations (``.fif``/``.txt``/``.csv``, descriptions such as ``BAD_blink``) or a
        BIDS ``events.tsv``; one per recording.
    epochs, steps_per_epoch, batch_size : int
        defaults: 3, 100, 32.
    lr : float
        Peak learning rate. default: 1e-3.
    seed : int
        default: 0.
    out : str | path-like
        Output folder. default: ``"."``.
    name : str
        File stem. default: ``"eeg-detector-finetuned"``.
    progress : bool
        default: ``False``.

    Returns
    -------
    pathlib.Path
        The fine-tuned weights (``.safetensors``, card beside it).
    """
    from ..models.registry import load_card, load_model, save_model
    from ..models.training import seed_everything, train_loop

    if data is None or labels is None:
        raise ParameterError("finetune_detector needs data and labels (annotations/events.tsv).")
    datas = list(data) if isinstance(data, (list, tuple)) else [data]
    label_list = (
        list(labels)
        if isinstance(labels, (list, tuple)) and labels and not isinstance(labels[0], Finding)
        else [labels]
    )
    if len(datas) != len(label_list):
        raise ParameterError(f"{len(datas)} recordings but {len(label_list)} label sets.")
    seed_everything(seed)
    module, config = load_model(pretrained, map_device="cpu")
    card = load_card(pretrained)
    recs = []
    for d, lab in zip(datas, label_list, strict=True):
        if not hasattr(d, "get_data"):
            from ..io import read

            d = read(d)
        events = list(lab) if isinstance(lab, (list, tuple)) else _read_labels(lab, d.ch_names)
        recs.append(_Recording(d, events, int(config.get("n_neighbours", N_NEIGHBOURS))))
    sampler = _Sampler(recs, seed, batch_size, positive_share=0.5)
    stats = train_loop(
        module,
        sampler,
        int(epochs) * int(steps_per_epoch),
        lr=lr,
        progress=progress,
        label="fine-tuning",
    )
    minutes = sum(r.n_seg for r in recs) * 0.25 / 60
    new_card = {
        "description": card.get("description", ""),
        "finetuned_from": str(pretrained),
        "finetuning": {
            "labelled_minutes": round(minutes, 2),
            "steps": stats["steps"],
            "seed": seed,
            "lr": lr,
            "final_loss": round(stats["final_loss"], 5),
        },
        "training": card.get("training", {}),
    }
    return save_model(module, config, new_card, name, out)
