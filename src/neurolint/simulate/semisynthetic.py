"""Semi-synthetic denoising data: real clean EEG plus real EOG or simulated EMG, known mixing.

Follows the EEGdenoiseNet protocol (Zhang et al., "EEGdenoiseNet: a benchmark dataset for
deep learning solutions of EEG denoising", J. Neural Eng. 18, 056057, 2021): 2 s epochs at
256 Hz, noisy ``y = x + lambda * n`` with the artifact ``n`` scaled so that
``SNR = 10 * log10(RMS(x) / RMS(lambda * n))`` (10 log10 of an RMS ratio, as in the paper,
so -7 dB is an RMS ratio of 0.2), training pairs mixed 10 times at SNRs drawn uniformly in
[-7, 2] dB and test pairs at each of the 10 levels -7, -6, ..., 2 dB.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import CorruptFileError, DataValueError, InputNotFoundError, ParameterError
from ..core.findings import Finding
from ..core.validate import check_option, check_positive
from ._truth import GroundTruth, Simulation, iter_runs

__all__ = ["EpochDataset", "EpochSplit", "achieved_snr", "simulate_semisynthetic"]

PROTOCOL = "EEGdenoiseNet (Zhang et al., J. Neural Eng. 2021)"
SNR_DEFINITION = "snr_db = 10*log10(RMS(clean) / RMS(artifact)), artifact = lambda * n"
FORMAT_VERSION = "1.0"
SPLITS = ("train", "test")
ARTIFACT_KINDS = ("eog", "emg")
MISSING_SOURCE = (
    "semisynthetic needs real EEG to start from: pass source=PATH (--source PATH), "
    "e.g. ../shared/data/eeg/eeglab_data.set"
)

# Per-row arrays of a split, in file order, and the columns of its two epoch catalogues.
_ROW_FIELDS = (
    "clean",
    "artifact",
    "noisy",
    "snr_db",
    "kind",
    "clean_index",
    "artifact_index",
    "artifact_scale",
    "noisy_std",
)
_CLEAN_COLUMNS = ("source", "channel", "onset")
_ARTIFACT_COLUMNS = ("kind", "source", "channel", "onset")
_STRING_COLUMNS = {"kind", "channel"}

# Channel names: posterior EEG (P*, PO*, O*), EOG, and frontal-polar channels that see blinks.
_POSTERIOR = re.compile(r"^(p|po|o)(\d+|z)?$", re.IGNORECASE)
_EOG_NAME = re.compile(r"^[vh]?eog", re.IGNORECASE)
_FRONTOPOLAR = re.compile(r"^fp(\d+|z)$", re.IGNORECASE)
# Blink-band and EEG robust z-scores use the MAD scaled to a Gaussian standard deviation.
_MAD_TO_SD = 1.4826
# Smallest RMS (volts) of a usable clean epoch: rejects flat or disconnected channels.
_MIN_RMS = 1e-9


# -- the dataset -----------------------------------------------------------------------------
@dataclass(eq=False)
class EpochSplit:
    """The epochs of one split (``train`` or ``test``), one row per mixture.

    Attributes
    ----------
    clean : numpy.ndarray of float32, shape (n, n_samples)
        Clean EEG ``x`` in volts (the target).
    artifact : numpy.ndarray of float32, shape (n, n_samples)
        The scaled artifact ``lambda * n`` in volts.
    noisy : numpy.ndarray of float32, shape (n, n_samples)
        ``clean + artifact``, exactly (the float32 sum).
    snr_db : numpy.ndarray of float64, shape (n,)
        Requested SNR, ``10 * log10(RMS(clean) / RMS(artifact))``.
    kind : numpy.ndarray of str, shape (n,)
        ``"eog"`` or ``"emg"``.
    clean_index : numpy.ndarray of int64, shape (n,)
        Row of :attr:`clean_epochs` the clean epoch came from.
    artifact_index : numpy.ndarray of int64, shape (n,)
        Row of :attr:`artifact_epochs` the artifact waveform came from.
    artifact_scale : numpy.ndarray of float64, shape (n,)
        ``lambda``: ``artifact / artifact_scale`` gives back the unscaled waveform ``n``
        (volts for EOG, arbitrary units for simulated EMG).
    noisy_std : numpy.ndarray of float64, shape (n,)
        Standard deviation of each noisy row. EEGdenoiseNet feeds networks ``noisy / std``
        and ``clean / std`` with this same per-row factor; the arrays stay in volts.
    clean_epochs : dict of str to numpy.ndarray
        Catalogue of the clean epochs: ``source`` (index into the sources), ``channel``,
        ``onset`` (seconds from the start of the source recording).
    artifact_epochs : dict of str to numpy.ndarray
        Catalogue of the artifact waveforms: ``kind``, ``source`` (-1 for simulated EMG),
        ``channel`` (``""`` for EMG), ``onset`` (seconds in the source; NaN for EMG).
    """

    clean: np.ndarray
    artifact: np.ndarray
    noisy: np.ndarray
    snr_db: np.ndarray
    kind: np.ndarray
    clean_index: np.ndarray
    artifact_index: np.ndarray
    artifact_scale: np.ndarray
    noisy_std: np.ndarray
    clean_epochs: dict[str, np.ndarray] = field(default_factory=dict)
    artifact_epochs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.snr_db)

    def rows(self, kind: str) -> np.ndarray:
        """Indices of the rows of one artifact kind (``"eog"`` or ``"emg"``)."""
        check_option("kind", kind, ARTIFACT_KINDS)
        return np.flatnonzero(self.kind == kind)


@dataclass(eq=False)
class EpochDataset:
    """A train/test set of clean, artifact and noisy epochs (EEGdenoiseNet protocol).

    Amplitudes are raw volts; each split keeps ``noisy_std`` so that the paper's
    standardisation (divide noisy and clean by the noisy epoch's standard deviation) can be
    applied, and inverted, by the user.

    Attributes
    ----------
    train, test : EpochSplit
        The two splits, cut from disjoint time segments of the source recordings.
    sampling_rate : float
        Hz of every epoch. default: 256.
    attrs : dict
        JSON-able description: protocol, SNR definition, sources, time ranges, parameters.
    """

    train: EpochSplit
    test: EpochSplit
    sampling_rate: float = 256.0
    attrs: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> EpochSplit:
        """Return the ``"train"`` or ``"test"`` split."""
        check_option("name", name, SPLITS)
        return getattr(self, name)

    @property
    def n_samples(self) -> int:
        """Samples per epoch."""
        return int(self.train.clean.shape[1])

    def __repr__(self) -> str:
        return (
            f"<EpochDataset | train {len(self.train)}, test {len(self.test)} epochs of "
            f"{self.n_samples} samples at {self.sampling_rate:g} Hz>"
        )

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the dataset to an HDF5 file, atomically.

        Layout: groups ``/train`` and ``/test`` holding the per-row datasets (``clean``,
        ``artifact``, ``noisy``, ``snr_db``, ``kind``, ``clean_index``, ``artifact_index``,
        ``artifact_scale``, ``noisy_std``) and the subgroups ``clean_epochs`` and
        ``artifact_epochs``; root attributes ``sampling_rate``, ``protocol``,
        ``snr_definition``, ``units`` (``"V"``), ``format_version`` and ``metadata`` (JSON).

        Parameters
        ----------
        path : str | path-like
            The ``.h5`` file to write.
        overwrite : bool
            Replace an existing file. default: ``False``.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        import h5py

        from ..io._atomic import atomic_path

        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["sampling_rate"] = float(self.sampling_rate)
            h5.attrs["protocol"] = PROTOCOL
            h5.attrs["snr_definition"] = SNR_DEFINITION
            h5.attrs["units"] = "V"
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["metadata"] = json.dumps(_jsonable(self.attrs), allow_nan=False)
            for name in SPLITS:
                part = self.split(name)
                group = h5.create_group(name)
                for key in _ROW_FIELDS:
                    group.create_dataset(key, data=_to_h5(getattr(part, key)))
                for table, columns in (
                    ("clean_epochs", _CLEAN_COLUMNS),
                    ("artifact_epochs", _ARTIFACT_COLUMNS),
                ):
                    sub = group.create_group(table)
                    for key in columns:
                        sub.create_dataset(key, data=_to_h5(getattr(part, table)[key]))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EpochDataset:
        """Read a dataset written by :meth:`save`.

        Parameters
        ----------
        path : str | path-like
            The ``.h5`` file.

        Returns
        -------
        EpochDataset
        """
        import h5py

        path = Path(path)
        if not path.is_file():
            raise InputNotFoundError(f"{path} does not exist; check the path.")
        try:
            with h5py.File(path, "r") as h5:
                rate = float(h5.attrs["sampling_rate"])
                attrs = json.loads(h5.attrs.get("metadata", "{}"))
                splits = {}
                for name in SPLITS:
                    group = h5[name]
                    rows = {key: _from_h5(group[key], key) for key in _ROW_FIELDS}
                    tables = {
                        table: {key: _from_h5(group[table][key], key) for key in columns}
                        for table, columns in (
                            ("clean_epochs", _CLEAN_COLUMNS),
                            ("artifact_epochs", _ARTIFACT_COLUMNS),
                        )
                    }
                    splits[name] = EpochSplit(**rows, **tables)
        except (OSError, KeyError, ValueError) as exc:
            raise CorruptFileError(
                f"Could not read {path} as a semisynthetic epoch dataset ({exc}); write it "
                "with EpochDataset.save or simulate it again."
            ) from None
        return cls(splits["train"], splits["test"], rate, attrs)


def _to_h5(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "U":
        # Fixed-length UTF-8 bytes: portable, and empty arrays need no special case.
        return np.char.encode(values, "utf-8")
    return values


def _from_h5(dataset: Any, key: str) -> np.ndarray:
    values = dataset[()]
    if key in _STRING_COLUMNS:
        return np.char.decode(np.asarray(values, dtype="S"), "utf-8")
    return np.asarray(values)


# -- source preparation ----------------------------------------------------------------------
@dataclass
class _Epochs:
    """Epochs cut from one split of the sources, with their catalogue."""

    data: np.ndarray  # (n, n_samples) float64 volts
    source: np.ndarray
    channel: np.ndarray
    onset: np.ndarray

    @classmethod
    def empty(cls, length: int) -> _Epochs:
        return cls(np.zeros((0, length)), np.zeros(0, np.int64), np.zeros(0, "<U1"), np.zeros(0))

    @classmethod
    def concat(cls, parts: list[_Epochs], length: int) -> _Epochs:
        parts = [p for p in parts if len(p.data)] or [cls.empty(length)]
        return cls(
            np.concatenate([p.data for p in parts]),
            np.concatenate([p.source for p in parts]).astype(np.int64),
            np.concatenate([p.channel.astype(str) for p in parts]),
            np.concatenate([p.onset for p in parts]).astype(np.float64),
        )


def _as_sources(source: Any) -> list[Any]:
    from ..core.timeseries import TimeSeries

    if source is None:
        raise ParameterError(MISSING_SOURCE)
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise ParameterError(MISSING_SOURCE)
    out = []
    for item in items:
        if isinstance(item, TimeSeries):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            from ..io import read

            ts = read(item)
            if not isinstance(ts, TimeSeries):
                raise ParameterError(
                    f"source {item} is not a time series recording; pass an EEG recording."
                )
            out.append(ts)
        else:
            raise ParameterError(
                f"source={item!r} is neither a path nor a TimeSeries; pass a recording path "
                "(--source PATH) or a TimeSeries."
            )
    return out


def _source_name(ts: Any, index: int) -> str:
    return Path(ts.source).name if ts.source else f"timeseries{index}"


def _pick(ts: Any, names: Sequence[str] | None, auto: np.ndarray) -> np.ndarray:
    if names is not None:
        return ts.channels.index(list(names))
    return np.flatnonzero(auto)


def _clean_channels(ts: Any, names: Sequence[str] | None) -> np.ndarray:
    info = ts.channels
    is_eeg = np.array([t == "eeg" for t in info.types])
    by_name = np.array([bool(_POSTERIOR.match(n)) for n in info.names]) & is_eeg
    auto = by_name
    if not by_name.any() and info.positions is not None:
        y = info.positions[:, 1]
        auto = is_eeg & np.isfinite(y) & (y < 0)
    index = _pick(ts, names, auto)
    if len(index) == 0:
        raise ParameterError(
            f"No posterior EEG channel (P*, PO*, O* or position y < 0) in "
            f"{_source_name(ts, 0)}; name clean channels with clean_channels=[...]."
        )
    return index


def _eog_channels(ts: Any, names: Sequence[str] | None) -> np.ndarray:
    info = ts.channels
    auto = np.array(
        [
            t == "eog" or bool(_EOG_NAME.match(n)) or bool(_FRONTOPOLAR.match(n))
            for n, t in zip(info.names, info.types, strict=True)
        ]
    )
    return _pick(ts, names, auto)


def _robust_z(x: np.ndarray) -> np.ndarray:
    """Per-row (x - median) / (1.4826 MAD); flat rows give zeros."""
    med = np.median(x, axis=-1, keepdims=True)
    mad = _MAD_TO_SD * np.median(np.abs(x - med), axis=-1, keepdims=True)
    return (x - med) / np.where(mad > 0, mad, np.inf)


def _bandpass(x: np.ndarray, band: tuple[float, float], fs: float) -> np.ndarray:
    from scipy import signal

    sos = signal.butter(4, band, btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, axis=-1)


def _resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    from scipy import signal

    ratio = Fraction(rate_out / rate_in).limit_denominator(1000)
    if ratio == 1:
        return x
    return signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


def _segment_bounds(duration: float, test_fraction: float, guard: float) -> dict[str, tuple]:
    """Seconds ``(start, stop)`` of each split: train first, a guard gap, then test."""
    boundary = (1.0 - test_fraction) * duration
    return {"train": (0.0, boundary - guard), "test": (boundary, duration)}


def _prepare_split(
    ts: Any,
    src: int,
    start_s: float,
    stop_s: float,
    clean_idx: np.ndarray,
    eog_idx: np.ndarray,
    cfg: dict[str, Any],
) -> tuple[_Epochs, _Epochs, list[dict[str, Any]]]:
    """Clean and blink epochs of one time segment of one source."""
    from scipy import signal

    from ..core.channels import unit_scale

    fs_in = ts.sampling_rate
    fs = cfg["sampling_rate"]
    length = cfg["length"]
    a, b = int(np.ceil(start_s * fs_in)), int(np.floor(stop_s * fs_in))
    picks = np.concatenate([clean_idx, eog_idx]).astype(np.int64)
    info = ts.channels
    scale = np.array([unit_scale(info.units[i], info.names[i]) for i in picks])
    raw = ts.get_data(a, b, channels=picks).astype(np.float64) * scale[:, None]
    if not np.isfinite(raw).all():
        raise DataValueError(
            f"{_source_name(ts, src)} holds NaN or infinite samples; interpolate or crop them."
        )
    # Filter each segment on its own: no filter memory crosses the train/test boundary.
    x = _resample(raw, fs_in, fs)
    n = x.shape[1]
    t0 = a / fs_in
    eeg = _bandpass(x[: len(clean_idx)], cfg["eeg_band"], fs)
    names = np.array(info.names)

    # Blink-band EOG and its robust z (statistics of this segment only).
    bad = np.zeros(n, dtype=bool)
    blinks: list[dict[str, Any]] = []
    eog_parts: list[_Epochs] = []
    if len(eog_idx):
        eog = _bandpass(x[len(clean_idx) :], cfg["eog_band"], fs)
        z = np.abs(_robust_z(eog))
        zmax = z.max(axis=0)
        margin = round(cfg["margin"] * fs)
        busy = np.convolve((zmax > cfg["clean_threshold"]).astype(float), np.ones(2 * margin + 1))
        bad = busy[margin : margin + n] > 0.5
        half = length // 2
        peaks, _ = signal.find_peaks(
            zmax, height=cfg["blink_threshold"], distance=max(round(1.0 * fs), 1)
        )
        peaks = peaks[(peaks - half >= 0) & (peaks + half <= n)]
        if len(peaks):
            # A channel contributes a waveform where the blink itself crosses the threshold.
            near = max(round(0.1 * fs), 1)
            win = peaks[:, None] + np.arange(-near, near + 1)
            peak_z = z[:, np.clip(win, 0, n - 1)].max(axis=2)  # (n_eog, n_peaks)
            ch, pk = np.nonzero(peak_z >= cfg["blink_threshold"])
            starts = peaks[pk] - half
            seg = signal.detrend(eog[ch[:, None], starts[:, None] + np.arange(length)], axis=-1)
            # Keep epochs whose largest deflection is the blink at their centre (not a
            # neighbour in a flurry of blinks or an eye movement at the edge).
            centred = np.abs(np.argmax(np.abs(seg), axis=1) - half) <= round(0.25 * fs)
            ch, pk, starts, seg = ch[centred], pk[centred], starts[centred], seg[centred]
            eog_parts.append(
                _Epochs(
                    seg,
                    np.full(len(ch), src),
                    names[eog_idx[ch]],
                    t0 + starts / fs,
                )
            )
            for j, p in enumerate(peaks):
                used = ch[pk == j]
                if len(used):
                    blinks.append(
                        {
                            "onset": float(t0 + (p - half) / fs),
                            "peak": float(t0 + p / fs),
                            "channels": tuple(names[eog_idx[used]].tolist()),
                            "z": float(peak_z[:, j].max()),
                        }
                    )

    # Clean epochs: tile each blink-free run with whole epochs, then drop epochs whose own
    # channel has large deflections (robust z above max_clean_z) or is flat.
    starts = np.concatenate(
        [np.arange(s, e - length + 1, length) for s, e in iter_runs(~bad)] or [np.zeros(0, int)]
    ).astype(np.int64)
    clean = _Epochs.empty(length)
    if len(starts):
        zc = np.abs(_robust_z(eeg))
        idx = starts[:, None] + np.arange(length)
        ep = eeg[:, idx]  # (n_clean_ch, n_windows, length)
        peak = zc[:, idx].max(axis=2)
        ep = signal.detrend(ep, axis=-1)
        rms = np.sqrt(np.mean(ep**2, axis=-1))
        ok = (peak <= cfg["max_clean_z"]) & (rms > _MIN_RMS)
        ch, w = np.nonzero(ok)
        clean = _Epochs(ep[ch, w], np.full(len(ch), src), names[clean_idx[ch]], t0 + starts[w] / fs)
    eog_epochs = _Epochs.concat(eog_parts, length)
    return clean, eog_epochs, blinks


# -- artifacts and mixing --------------------------------------------------------------------
def _simulate_emg(
    rng: np.random.Generator, n: int, length: int, fs: float, band: tuple[float, float]
) -> np.ndarray:
    """EMG-like epochs: band-limited Gaussian noise under a bursty envelope (arbitrary units).

    The spectrum is a 4th-order Butterworth band-pass (broad, like the facial EMG of
    EEGdenoiseNet); the envelope is a tonic floor plus 1-4 Gaussian bursts 0.2-0.8 s long,
    smooth enough (a few Hz wide) to leave the power above the band's lower edge.
    """
    from scipy import signal

    freqs = np.fft.rfftfreq(length, 1.0 / fs)
    sos = signal.butter(4, band, btype="bandpass", fs=fs, output="sos")
    _, response = signal.sosfreqz(sos, worN=freqs, fs=fs)
    spectra = rng.standard_normal((n, len(freqs))) + 1j * rng.standard_normal((n, len(freqs)))
    noise = np.fft.irfft(spectra * np.abs(response), n=length, axis=1)
    t = np.arange(length) / fs
    max_bursts = 4
    n_bursts = rng.integers(1, max_bursts + 1, size=n)
    centres = rng.uniform(0.0, length / fs, size=(n, max_bursts))
    widths = rng.uniform(0.2, 0.8, size=(n, max_bursts)) / 4.0  # Gaussian sd = width / 4
    heights = rng.uniform(0.5, 1.5, size=(n, max_bursts)) * (
        np.arange(max_bursts) < n_bursts[:, None]
    )
    tonic = rng.uniform(0.1, 0.3, size=n)
    bursts = heights[..., None] * np.exp(-0.5 * ((t - centres[..., None]) / widths[..., None]) ** 2)
    envelope = tonic[:, None] + bursts.sum(axis=1)
    return noise * envelope


def _assign(rng: np.random.Generator, n_clean: int, n_pairs: int) -> np.ndarray:
    """Clean epoch of each pair: random order, each epoch reused only once all have been."""
    reps = -(-n_pairs // n_clean)
    return np.concatenate([rng.permutation(n_clean) for _ in range(reps)])[:n_pairs]


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1))


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


def achieved_snr(split: EpochSplit) -> np.ndarray:
    """SNR measured back from the stored float32 arrays, ``10 log10(RMS(x) / RMS(artifact))``."""
    return 10.0 * np.log10(_rms(split.clean) / _rms(split.artifact))


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


def _jsonable(value: Any) -> Any:
    from ._truth import _jsonable as convert

    return convert(value)
