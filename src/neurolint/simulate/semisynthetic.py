"""Semi-synthetic denoising data: real clean EEG plus real EOG or simulated EMG, known mixing.

Follows the EEGdenoiseNet protocol (Zhang et al., "EEGdenoiseNet: a benchmark dataset for
deep learning solutions of EEG denoising", J. Neural Eng. 18, 056057, 2021): 2 s epochs at
256 Hz, noisy ``y = x + lambda * n`` with the artifact ``n`` scaled so that
``SNR = 10 * log10(RMS(x) / RMS(lambda * n))`` (10 log10 of an RMS ratio, as in the paper,
so -7 dB is an RMS ratio of 0.2), training pairs mixed 10 times at SNRs drawn uniformly in
[-7, 2] dB and test pairs at each of the 10 levels -7, -6, ..., 2 dB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import DataValueError, ParameterError
from ..core.findings import Finding
from ..core.validate import check_option, check_positive
from ._semisynthetic_sources import (
    _as_sources,
    _clean_channels,
    _eog_channels,
    _Epochs,
    _prepare_split,
    _segment_bounds,
    _simulate_emg,
    _source_name,
)
from ._truth import GroundTruth, Simulation
from .epochs import (
    ARTIFACT_KINDS,
    PROTOCOL,
    SNR_DEFINITION,
    SPLITS,
    EpochDataset,
    EpochSplit,
    _rms,
    achieved_snr,
)

__all__ = ["EpochDataset", "EpochSplit", "achieved_snr", "simulate_semisynthetic"]


# -- mixing ----------------------------------------------------------------------------------
def _assign(rng: np.random.Generator, n_clean: int, n_pairs: int) -> np.ndarray:
    """Clean epoch of each pair: random order, each epoch reused only once all have been."""
    reps = -(-n_pairs // n_clean)
    return np.concatenate([rng.permutation(n_clean) for _ in range(reps)])[:n_pairs]


def _mix(
    clean: np.ndarray, waves: np.ndarray, ci: np.ndarray, ai: np.ndarray, snr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scale each artifact to its SNR against its clean epoch; return x, lambda*n, y, lambda."""
    x = clean[ci]
    wave = waves[ai]
    lam = _rms(x) / (_rms(wave) * 10.0 ** (snr / 10.0))
    artifact = (lam[:, None] * wave).astype(np.float32)
    return x, artifact, x + artifact, lam


def _build_split(
    name: str,
    clean: _Epochs,
    eog: _Epochs,
    cfg: dict[str, Any],
    rng_mix: np.random.Generator,
    rng_emg: np.random.Generator,
) -> EpochSplit:
    length = cfg["length"]
    clean32 = clean.data.astype(np.float32)
    waves, kinds, a_src, a_ch, a_onset = [], [], [], [], []
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("ci", "ai", "snr", "kind")}
    offset = 0
    for kind in cfg["artifacts"]:
        if kind == "eog":
            wave = eog.data
            a_src.append(eog.source)
            a_ch.append(eog.channel)
            a_onset.append(eog.onset)
        else:
            n_emg = cfg["n_emg"] if cfg["n_emg"] is not None else len(clean.data)
            wave = _simulate_emg(rng_emg, n_emg, length, cfg["sampling_rate"], cfg["emg_band"])
            a_src.append(np.full(n_emg, -1))
            a_ch.append(np.full(n_emg, ""))
            a_onset.append(np.full(n_emg, np.nan))
        n_pairs = len(wave)
        waves.append(wave)
        kinds.append(np.full(n_pairs, kind))
        pair_clean = _assign(rng_mix, len(clean.data), n_pairs)
        pair_art = offset + np.arange(n_pairs)
        if name == "train":
            n_mix = cfg["n_mixtures"]
            snr = rng_mix.uniform(*cfg["snr_range"], size=n_pairs * n_mix)
        else:
            n_mix = len(cfg["test_snrs"])
            snr = np.tile(np.asarray(cfg["test_snrs"], dtype=np.float64), n_pairs)
        rows["ci"].append(np.repeat(pair_clean, n_mix))
        rows["ai"].append(np.repeat(pair_art, n_mix))
        rows["snr"].append(snr)
        rows["kind"].append(np.full(n_pairs * n_mix, kind))
        offset += n_pairs
    all_waves = np.concatenate(waves) if waves else np.zeros((0, length))
    ci = np.concatenate(rows["ci"]).astype(np.int64)
    ai = np.concatenate(rows["ai"]).astype(np.int64)
    snr = np.concatenate(rows["snr"]).astype(np.float64)
    x, artifact, y, lam = _mix(clean32, all_waves, ci, ai, snr)
    return EpochSplit(
        clean=x,
        artifact=artifact,
        noisy=y,
        snr_db=snr,
        kind=np.concatenate(rows["kind"]).astype("<U3"),
        clean_index=ci,
        artifact_index=ai,
        artifact_scale=lam,
        noisy_std=np.std(y, axis=1, dtype=np.float64),
        clean_epochs={"source": clean.source, "channel": clean.channel, "onset": clean.onset},
        artifact_epochs={
            "kind": np.concatenate(kinds).astype("<U3"),
            "source": np.concatenate(a_src).astype(np.int64),
            "channel": np.concatenate(a_ch).astype(str),
            "onset": np.concatenate(a_onset).astype(np.float64),
        },
    )


# -- parameters ------------------------------------------------------------------------------
def _check_band(name: str, band: Sequence[float], fs: float) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}={band!r} must be two frequencies (low, high) in Hz."
        ) from None
    if not (0 < lo < hi < fs / 2):
        raise ParameterError(
            f"{name}={band!r} must satisfy 0 < low < high < {fs / 2:g} Hz (half of "
            "sampling_rate); narrow the band or raise sampling_rate."
        )
    return lo, hi


def _check_artifacts(artifacts: str | Sequence[str]) -> tuple[str, ...]:
    items = (artifacts,) if isinstance(artifacts, str) else tuple(artifacts)
    if not items:
        raise ParameterError("artifacts is empty; pass 'eog', 'emg' or both.")
    for kind in items:
        check_option("artifacts", kind, ARTIFACT_KINDS)
    if len(set(items)) != len(items):
        raise ParameterError(f"artifacts={items!r} names a kind twice; name each kind once.")
    return items


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name}={value!r} must be an integer >= {minimum}.")
    return int(value)


# -- the simulator ---------------------------------------------------------------------------
def simulate_semisynthetic(
    source: Any = None,
    *,
    artifacts: str | Sequence[str] = ("eog", "emg"),
    seed: int = 0,
    test_fraction: float = 0.2,
    guard: float = 2.0,
    snr_range: tuple[float, float] = (-7.0, 2.0),
    n_mixtures: int = 10,
    test_snrs: Sequence[float] | None = None,
    epoch_duration: float = 2.0,
    sampling_rate: float = 256.0,
    eeg_band: tuple[float, float] = (1.0, 80.0),
    eog_band: tuple[float, float] = (0.3, 10.0),
    emg_band: tuple[float, float] = (20.0, 100.0),
    blink_threshold: float = 5.0,
    clean_threshold: float = 3.0,
    margin: float = 0.5,
    max_clean_z: float = 6.0,
    clean_channels: Sequence[str] | None = None,
    eog_channels: Sequence[str] | None = None,
    n_emg: int | None = None,
) -> Simulation:
    """Build an EEGdenoiseNet-style denoising dataset from real EEG recordings.

    Each source recording is cut in time: the first ``1 - test_fraction`` of it (less a
    ``guard`` gap) gives the training epochs, the rest the test epochs, so no test epoch
    (clean or EOG) overlaps a training one, and each part is filtered and thresholded on its
    own. Within each part, after resampling to ``sampling_rate`` (``resample_poly``):

    - clean EEG: 2 s epochs of posterior channels (P*, PO*, O*, else positions with y < 0),
      band-passed ``eeg_band`` (EEGdenoiseNet: 1-80 Hz) and linearly detrended, tiled over
      blink-free time (the robust z of the blink-band EOG stays below ``clean_threshold``,
      ``margin`` seconds around), keeping epochs whose own robust z stays below
      ``max_clean_z``;
    - EOG: 2 s epochs centred on blinks (peaks of the blink-band EOG robust z above
      ``blink_threshold``), from each EOG channel where the blink crosses that threshold,
      band-passed ``eog_band`` (EEGdenoiseNet: 0.3-10 Hz, which removes drift) and detrended;
    - EMG: simulated (band-limited ``emg_band`` Gaussian noise under a bursty envelope), one
      waveform per clean epoch unless ``n_emg`` is given. Training and test EMG come from
      different random streams (``default_rng((seed, 2))`` and ``default_rng((seed, 3))``).

    Each artifact waveform ``n`` forms a pair with one clean epoch ``x`` (clean epochs are
    drawn in random order and reused only when there are fewer than pairs); the noisy epoch
    is ``y = x + lambda * n`` with ``lambda`` set so that
    ``10 * log10(RMS(x) / RMS(lambda * n))`` equals the SNR (an RMS ratio, as in the paper).
    Training pairs are mixed ``n_mixtures`` times at SNRs uniform in ``snr_range``; test
    pairs once at each of ``test_snrs``. Amplitudes stay in volts; the dataset stores
    ``noisy_std`` for the paper's per-epoch standardisation.

    Parameters
    ----------
    source : str | path-like | TimeSeries | list of these
        Real EEG with posterior channels and, for EOG, EOG or frontal-polar channels
        (e.g. ``../shared/data/eeg/eeglab_data.set``). Required.
    artifacts : {"eog", "emg"} | sequence of them
        Artifact kinds to mix in. default: ``("eog", "emg")``.
    seed : int
        Random seed (pairing, SNRs, EMG); the same seed gives identical output. default: 0.
    test_fraction : float
        Share of each recording, at its end, used for testing, in (0, 1). default: 0.2.
    guard : float
        Seconds left out between the training and test parts. default: 2.
    snr_range : (float, float)
        Training SNR range in dB. default: ``(-7, 2)``.
    n_mixtures : int
        Mixtures per training pair. default: 10.
    test_snrs : sequence of float | None
        Test SNR levels in dB. default: ``None`` (-7, -6, ..., 2).
    epoch_duration : float
        Seconds per epoch. default: 2.
    sampling_rate : float
        Hz of the output epochs. default: 256.
    eeg_band, eog_band, emg_band : (float, float)
        Pass bands in Hz of clean EEG, EOG and simulated EMG.
        default: ``(1, 80)``, ``(0.3, 10)``, ``(20, 100)``.
    blink_threshold : float
        Robust z of the blink-band EOG above which a peak counts as a blink. default: 5.
    clean_threshold : float
        Robust z of the blink-band EOG below which time counts as blink-free. default: 3.
    margin : float
        Seconds excluded on each side of EOG activity above ``clean_threshold``. default: 0.5.
    max_clean_z : float
        Largest robust z of a clean epoch's own channel. default: 6.
    clean_channels : sequence of str | None
        Channels to take clean EEG from. default: ``None`` (posterior EEG channels).
    eog_channels : sequence of str | None
        Channels to detect blinks on and take EOG from. default: ``None`` (channels typed
        ``eog``, named ``EOG*``/``VEOG``/``HEOG``, and frontal-polar ``Fp*``).
    n_emg : int | None
        Simulated EMG waveforms per split. default: ``None`` (one per clean epoch).

    Returns
    -------
    Simulation
        ``data``: an :class:`EpochDataset`; ``truth``: a :class:`GroundTruth` with
        ``clean=None`` (clean epochs are in the dataset), ``events`` = the blinks whose
        waveforms were used (kind ``"blink"``, onset/duration of the 2 s epoch in source
        seconds, ``extras`` with split, source, peak time and z), and ``extras`` with counts
        per split and kind, the achieved SNR measured back from the arrays, the sources and
        the time range of each split.

    Raises
    ------
    ParameterError
        Without a source, for bad parameters, or when a source lacks the channels needed.
    DataValueError
        When a split yields no clean epoch or, with ``"eog"``, no blink.
    """
    kinds = _check_artifacts(artifacts)
    seed = _check_int("seed", seed, 0)
    fs = check_positive("sampling_rate", sampling_rate)
    test_fraction = float(test_fraction)
    if not 0.0 < test_fraction < 1.0:
        raise ParameterError(f"test_fraction={test_fraction!r} must lie strictly between 0 and 1.")
    try:
        lo, hi = (float(v) for v in snr_range)
    except (TypeError, ValueError):
        raise ParameterError(
            f"snr_range={snr_range!r} must be two numbers (low, high) in dB."
        ) from None
    if not (np.isfinite([lo, hi]).all() and lo < hi):
        raise ParameterError(f"snr_range={snr_range!r} must be finite with low < high.")
    levels = tuple(float(v) for v in range(-7, 3)) if test_snrs is None else tuple(test_snrs)
    if not levels or not np.isfinite(np.asarray(levels, dtype=float)).all():
        raise ParameterError(f"test_snrs={test_snrs!r} must be a non-empty list of finite dB.")
    cfg: dict[str, Any] = {
        "artifacts": kinds,
        "sampling_rate": fs,
        "length": round(check_positive("epoch_duration", epoch_duration) * fs),
        "snr_range": (lo, hi),
        "n_mixtures": _check_int("n_mixtures", n_mixtures, 1),
        "test_snrs": tuple(float(v) for v in levels),
        "eeg_band": _check_band("eeg_band", eeg_band, fs),
        "eog_band": _check_band("eog_band", eog_band, fs),
        "emg_band": _check_band("emg_band", emg_band, fs),
        "blink_threshold": check_positive("blink_threshold", blink_threshold),
        "clean_threshold": check_positive("clean_threshold", clean_threshold),
        "margin": check_positive("margin", margin, allow_zero=True),
        "max_clean_z": check_positive("max_clean_z", max_clean_z),
        "n_emg": None if n_emg is None else _check_int("n_emg", n_emg, 1),
    }
    guard = check_positive("guard", guard, allow_zero=True)
    sources = _as_sources(source)
    names: list[str] = []
    for i, ts in enumerate(sources):
        name = _source_name(ts, i)
        names.append(f"{name}#{i}" if name in names else name)  # keep names unique
    epoch_s = cfg["length"] / fs

    clean_parts: dict[str, list[_Epochs]] = {s: [] for s in SPLITS}
    eog_parts: dict[str, list[_Epochs]] = {s: [] for s in SPLITS}
    events: list[Finding] = []
    ranges: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    used_channels: dict[str, dict[str, list[str]]] = {}
    for src, ts in enumerate(sources):
        clean_idx = _clean_channels(ts, clean_channels)
        eog_idx = _eog_channels(ts, eog_channels)
        overlap = sorted(set(clean_idx.tolist()) & set(eog_idx.tolist()))
        if overlap:
            raise ParameterError(
                f"Channels {[ts.ch_names[i] for i in overlap]} are both clean and EOG channels; "
                "pass clean_channels and eog_channels that do not share channels."
            )
        if "eog" in kinds and len(eog_idx) == 0:
            raise ParameterError(
                f"No EOG or frontal-polar channel in {names[src]} to take blinks from; name "
                "them with eog_channels=[...] or use artifacts=('emg',)."
            )
        used_channels[names[src]] = {
            "clean": [ts.ch_names[i] for i in clean_idx],
            "eog": [ts.ch_names[i] for i in eog_idx],
        }
        for split, (start, stop) in _segment_bounds(ts.duration, test_fraction, guard).items():
            if stop - start < epoch_s:
                raise ParameterError(
                    f"The {split} part of {names[src]} ({max(stop - start, 0):.1f} s) is shorter "
                    f"than one {epoch_s:g} s epoch; pass a longer recording or change "
                    "test_fraction/guard."
                )
            clean, eog, blinks = _prepare_split(ts, src, start, stop, clean_idx, eog_idx, cfg)
            clean_parts[split].append(clean)
            eog_parts[split].append(eog)
            ranges[split].append({"source": names[src], "start": start, "stop": stop})
            if "eog" in kinds:
                events.extend(
                    Finding(
                        onset=b["onset"],
                        duration=epoch_s,
                        kind="blink",
                        channels=b["channels"],
                        detector="simulator",
                        extras={
                            "split": split,
                            "source": names[src],
                            "peak": b["peak"],
                            "z": b["z"],
                        },
                    )
                    for b in blinks
                )

    splits = {}
    for i, split in enumerate(SPLITS):
        clean = _Epochs.concat(clean_parts[split], cfg["length"])
        eog = _Epochs.concat(eog_parts[split], cfg["length"])
        if len(clean.data) == 0:
            raise DataValueError(
                f"No clean epoch found in the {split} part of {', '.join(names)}; pass a longer "
                "recording, other clean_channels, or raise clean_threshold/max_clean_z."
            )
        if "eog" in kinds and len(eog.data) == 0:
            raise DataValueError(
                f"No blink found in the {split} part of {', '.join(names)}; lower "
                "blink_threshold, change test_fraction, or use artifacts=('emg',)."
            )
        splits[split] = _build_split(
            split,
            clean,
            eog,
            cfg,
            np.random.default_rng((seed, i)),
            np.random.default_rng((seed, 2 + i)),
        )

    params = {
        "source": names,
        "artifacts": list(kinds),
        "seed": seed,
        "test_fraction": test_fraction,
        "guard": guard,
        "snr_range": [lo, hi],
        "n_mixtures": cfg["n_mixtures"],
        "test_snrs": list(cfg["test_snrs"]),
        "epoch_duration": float(epoch_duration),
        "sampling_rate": fs,
        "eeg_band": list(cfg["eeg_band"]),
        "eog_band": list(cfg["eog_band"]),
        "emg_band": list(cfg["emg_band"]),
        "blink_threshold": cfg["blink_threshold"],
        "clean_threshold": cfg["clean_threshold"],
        "margin": cfg["margin"],
        "max_clean_z": cfg["max_clean_z"],
        "clean_channels": None if clean_channels is None else list(clean_channels),
        "eog_channels": None if eog_channels is None else list(eog_channels),
        "n_emg": cfg["n_emg"],
    }
    extras = _summary(splits, kinds, names, ranges, used_channels, seed, cfg)
    attrs = {"protocol": PROTOCOL, "snr_definition": SNR_DEFINITION, "params": params, **extras}
    dataset = EpochDataset(splits["train"], splits["test"], fs, attrs)
    truth = GroundTruth(
        simulator="semisynthetic", params=params, events=events, clean=None, extras=extras
    )
    return Simulation(dataset, truth)


def _summary(
    splits: dict[str, EpochSplit],
    kinds: tuple[str, ...],
    names: list[str],
    ranges: dict[str, list[dict[str, Any]]],
    used_channels: dict[str, dict[str, list[str]]],
    seed: int,
    cfg: dict[str, Any],
) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    pairs: dict[str, dict[str, int]] = {}
    snr: dict[str, dict[str, dict[str, float]]] = {}
    for split, part in splits.items():
        measured = achieved_snr(part)
        counts[split] = {"total": len(part), "clean_epochs": len(part.clean_epochs["onset"])}
        pairs[split] = {}
        snr[split] = {}
        for kind in kinds:
            rows = part.rows(kind)
            counts[split][kind] = len(rows)
            pairs[split][kind] = int(np.sum(part.artifact_epochs["kind"] == kind))
            got = measured[rows]
            snr[split][kind] = {
                "mean": float(got.mean()),
                "min": float(got.min()),
                "max": float(got.max()),
                "max_abs_error": float(np.abs(got - part.snr_db[rows]).max()),
            }
    return {
        "counts": counts,
        "pairs": pairs,
        "snr_achieved_db": snr,
        "sources": names,
        "time_ranges": ranges,
        "channels": used_channels,
        "sampling_rate": cfg["sampling_rate"],
        "epoch_samples": cfg["length"],
        "snr_definition": SNR_DEFINITION,
        "random_streams": {
            "train_mixing": [seed, 0],
            "test_mixing": [seed, 1],
            "train_emg": [seed, 2],
            "test_emg": [seed, 3],
        },
    }
