"""Learned window classifier for EEG artifacts: a small 1D CNN over channel + neighbours.

Input spec (shared by training, inference and explanations, see :func:`prepare`):

- every recording is resampled to the model rate (256 Hz, ``resample_poly``) so muscle
  (20-128 Hz) and 50/60 Hz mains stay visible;
- non-finite and exactly-zero samples are set to 0 and flagged in a missing-sample mask, so
  dropped packets (NaN or zero filled) are visible to the net;
- amplitudes are divided by one recording-level robust scale (median over channels of the
  channel MAD, :func:`robust_scale`), not z-scored per window, so a large blink still looks
  large next to the background; a 1 s moving mean is removed (DC offsets, drift) and
  values beyond ~20 scale units are compressed (``20 asinh(x / 20)``);
- each channel is seen with its ``k`` nearest neighbours (electrode positions; index
  neighbours where positions are unknown) and two masks (its own, the neighbours' mean), so
  any channel count or montage works;
- the net labels every 0.25 s segment (hop) from ~1 s of context around it; a kind is
  present in a segment when any channel's probability reaches that kind's threshold
  (chosen on training-seed validation recordings, stored in the model card); consecutive
  segments merge into one event, so boundaries are accurate to one hop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any

import numpy as np

from ..core.errors import DataValueError, ParameterError
from ..core.findings import Finding
from ..core.threads import map_in_threads, n_workers, torch_threads
from ..core.validate import check_positive
from .base import Detection, judged_part, runs, widened

__all__ = [
    "KINDS",
    "LearnedDetector",
    "contexts",
    "events_from_probs",
    "neighbours",
    "prepare",
    "robust_scale",
]

#: Output labels of the detector, in order (the last one is ``clean``).
KINDS = (
    "blink",
    "saccade",
    "muscle",
    "ecg",
    "line_noise",
    "pop",
    "movement",
    "saturation",
    "gap",
    "clean",
)
EPISODE_KINDS = ("ecg", "line_noise")
MODEL_RATE = 256.0
SEGMENT = 64  # model samples per output segment (0.25 s)
N_NEIGHBOURS = 4
MIN_RATE = 100.0
_MARGIN_S = 3.0  # context each side of a chunk: pooling (±1.5 s), moving mean (±0.5 s), convs
_COMPRESS = 20.0


@dataclass(frozen=True)
class _Grid:
    """How input samples map onto model samples and segments."""

    sfreq: float
    up: int
    down: int

    @property
    def hop(self) -> float:
        """Seconds per segment in the input's time base."""
        return SEGMENT * self.down / (self.up * self.sfreq)

    @property
    def unit(self) -> int:
        """Input samples per alignment unit (a whole number of segments)."""
        u = self.up // gcd(self.up, SEGMENT * self.down)
        return SEGMENT * u * self.down // self.up

    def n_model(self, n: int) -> int:
        return -(-n * self.up // self.down)

    def n_segments(self, n: int) -> int:
        return -(-self.n_model(n) // SEGMENT)


def _grid(sfreq: float) -> _Grid:
    if sfreq < MIN_RATE:
        raise ParameterError(
            f"sampling_rate={sfreq:g} Hz is below the learned detector's minimum of "
            f"{MIN_RATE:g} Hz (it needs muscle and mains frequencies); resample the recording "
            "or use the rule-based detectors."
        )
    ratio = Fraction(MODEL_RATE / sfreq).limit_denominator(10_000)
    return _Grid(float(sfreq), ratio.numerator, ratio.denominator)


def robust_scale(ts: Any, n_blocks: int = 32, block_duration: float = 2.0) -> float:
    """Recording-level amplitude scale: median over channels and blocks of 1.4826 x MAD.

    Reads ``n_blocks`` blocks of ``block_duration`` s spread evenly over the recording
    (memory bounded); non-finite samples are ignored. Returns 1.0 when nothing finite varies.

    Parameters
    ----------
    ts : TimeSeries
    n_blocks : int
        default: 32.
    block_duration : float
        Seconds. default: 2.

    Returns
    -------
    float
    """
    n = ts.n_samples
    length = max(1, min(n, round(block_duration * ts.sampling_rate)))
    starts = np.unique(np.linspace(0, n - length, max(1, n_blocks)).round().astype(np.int64))
    values = []
    for s in starts:
        block = ts.get_data(int(s), int(s) + length).astype(np.float64)
        finite = np.isfinite(block)
        seen = finite.any(axis=1)  # a channel missing throughout the block has no MAD in it
        if not seen.any():
            continue
        block, finite = block[seen], finite[seen]
        block[~finite] = np.nan
        med = np.nanmedian(block, axis=1, keepdims=True)
        values.append(np.nanmedian(np.abs(block - med), axis=1))
    allv = np.concatenate(values) if values else np.zeros(0)
    allv = allv[allv > 0]
    if allv.size == 0:
        return 1.0
    return float(1.4826 * np.median(allv))


def neighbours(channels: Any, k: int = N_NEIGHBOURS) -> np.ndarray:
    """``(n_channels, k)`` indices of each channel's nearest neighbours (itself excluded).

    Uses electrode positions where known; channels without a position take index
    neighbours (i-1, i+1, i-2, ...). With fewer than ``k + 1`` channels, neighbours repeat
    (a single channel is its own context).

    Parameters
    ----------
    channels : ChannelInfo
    k : int
        default: 4.

    Returns
    -------
    numpy.ndarray of int64
    """
    n = len(channels)
    pos = channels.positions
    idx = np.arange(n)
    # Index neighbours by distance in channel order, ties broken towards lower indices.
    order_index = np.argsort(np.abs(idx[:, None] - idx[None]) * 2 + (idx[None] > idx[:, None]), 1)
    out = np.empty((n, k), dtype=np.int64)
    has = np.zeros(n, bool) if pos is None else np.isfinite(pos).all(axis=1)
    if has.sum() >= 2:
        p = np.where(has[:, None], pos, 0.0) if pos is not None else np.zeros((n, 3))
        dist = np.linalg.norm(p[:, None] - p[None], axis=-1)
        dist[~has[None].repeat(n, 0)] = np.inf  # only positioned channels as neighbours
        np.fill_diagonal(dist, np.inf)
        order_pos = np.argsort(dist, axis=1, kind="stable")
    for c in range(n):
        if has[c] and has.sum() >= 2:
            cand = order_pos[c][: max(0, int(has.sum()) - 1)]
        else:
            cand = order_index[c][1:]
        if cand.size == 0:
            cand = np.array([c])
        out[c] = np.resize(cand[:k], k)
    return out


def prepare(block: np.ndarray, grid: _Grid, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Input-spec transform of a ``(n_channels, n)`` block: model-rate signal and mask.

    Returns
    -------
    (x, miss) : float32 arrays of shape ``(n_channels, n_model)``
        Scaled, de-meaned, compressed signal at 256 Hz, and 1.0 where samples are missing.
    """
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import resample_poly

    block = np.asarray(block, dtype=np.float32)
    miss = ~np.isfinite(block) | (block == 0)
    x = np.where(miss, np.float32(0), block)
    if grid.up != grid.down:
        n_out = grid.n_model(block.shape[1])
        x = resample_poly(x, grid.up, grid.down, axis=1).astype(np.float32)[:, :n_out]
        src = np.minimum((np.arange(n_out) * grid.down) // grid.up, block.shape[1] - 1)
        miss = miss[:, src]
    x *= np.float32(1.0 / scale)
    x -= uniform_filter1d(x, size=int(MODEL_RATE) + 1, axis=1, mode="nearest")
    x = _COMPRESS * np.arcsinh(x / np.float32(_COMPRESS))
    return x.astype(np.float32, copy=False), miss.astype(np.float32)


def contexts(x: np.ndarray, miss: np.ndarray, nbrs: np.ndarray) -> np.ndarray:
    """Stack each channel's input rows: itself, its neighbours, its mask, the neighbours' mask.

    Returns
    -------
    numpy.ndarray of float32, shape ``(n_channels, 3 + k, n)``
    """
    n_ch, n = x.shape
    k = nbrs.shape[1]
    out = np.empty((n_ch, 3 + k, n), dtype=np.float32)
    out[:, 0] = x
    out[:, 1 : 1 + k] = x[nbrs]
    if miss.any():
        nb_miss = miss[nbrs]  # (n_ch, k, n)
        # A neighbour missing where the channel itself is recorded (one electrode's dropout)
        # reads as the mean of its recorded neighbours, or the channel where none is: the net
        # learnt from gaps of every channel at once, and a lone zeroed neighbour made it see
        # muscle on the channels around a gap. Only samples missing on some channels but
        # not all can hold one (gaps of every channel are the usual kind: none to look at).
        per_sample = miss.sum(axis=0)  # channels missing at each sample
        cols = np.flatnonzero((per_sample > 0) & (per_sample < n_ch))
        if len(cols):
            sub = nb_miss[:, :, cols]
            lone = (sub > 0) & (miss[:, None, cols] == 0)
            nbx = out[:, 1 : 1 + k, cols]
            count = k - sub.sum(axis=1)  # recorded neighbours per sample
            mean = nbx.sum(axis=1) / np.maximum(count, 1)  # missing ones are 0 already
            fill = np.where(count > 0, mean, x[:, cols])
            nbx[lone] = np.broadcast_to(fill[:, None], nbx.shape)[lone]
            sub[lone] = 0.0
            out[:, 1 : 1 + k, cols] = nbx
            nb_miss[:, :, cols] = sub
        out[:, 1 + k] = miss
        out[:, 2 + k] = nb_miss.mean(axis=1)
    else:  # most chunks: no gather and mean of an all-zero mask (~0.25 s per hour)
        out[:, 1 + k :] = 0.0
    return out


def _pad_to_segments(arr: np.ndarray) -> np.ndarray:
    extra = -arr.shape[-1] % SEGMENT
    if not extra:
        return arr
    mode = "reflect" if arr.shape[-1] > extra else "edge"
    return np.pad(arr, [(0, 0)] * (arr.ndim - 1) + [(0, extra)], mode=mode)


def _run_model(module: Any, ctx: np.ndarray, batch_size: int) -> np.ndarray:
    """Sigmoid probabilities ``(n_channels, n_segments, n_kinds)`` for stacked contexts."""
    import torch

    dev = next(module.parameters()).device
    outs = []
    with torch.inference_mode():
        for i in range(0, ctx.shape[0], batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(ctx[i : i + batch_size])).to(dev)
            outs.append(torch.sigmoid(module(xb)).float().cpu().numpy())
    return np.concatenate(outs).transpose(0, 2, 1)


def events_from_probs(
    probs: np.ndarray,
    hop: float,
    names: list[str],
    thresholds: dict[str, float],
    *,
    kinds: tuple[str, ...] = KINDS,
    model: str = "eeg-detector",
    duration: float | None = None,
    episode_fill: int = 8,
    episode_min: int = 4,
) -> list[Finding]:
    """Turn per-segment probabilities into events.

    A kind is present in a segment when any channel reaches its threshold; consecutive
    segments merge into one event. For episode kinds (ECG, line noise), holes up to
    ``episode_fill`` segments are filled and runs shorter than ``episode_min`` dropped.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_segments, n_channels, n_kinds)
    hop : float
        Seconds per segment.
    names : list of str
        Channel names.
    thresholds : dict
        Kind → probability threshold.
    kinds : tuple of str
        Label order of ``probs``' last axis.
    model : str
        Written into ``extras``.
    duration : float | None
        Recording length, to clip the last event. default: ``None``.
    episode_fill, episode_min : int
        Segments. defaults: 8 (2 s), 4 (1 s).

    Returns
    -------
    list of Finding
        Sorted by onset; ``detector="learned"``, ``extras={"model", "probability"}``.
    """
    summary = _Summary.empty(probs.shape[0], probs.shape[1], kinds)
    summary.add(0, probs, _threshold_vector(thresholds, kinds))
    return _events(
        summary, hop, names, thresholds, kinds, model, duration, episode_fill, episode_min
    )


@dataclass
class _Summary:
    """What :func:`events_from_probs` and :meth:`LearnedDetector.detect` need of the
    ``(n_segments, n_channels, n_kinds)`` probabilities, filled chunk by chunk: an hour of 64
    channels is 37 MB of probabilities and 1.7 MB of this (plus the quality matrix)."""

    pmax: np.ndarray  # (n_segments, n_kinds): the largest probability over channels
    above: np.ndarray  # (n_segments, n_kinds, ceil(n_channels / 8)): packed p >= threshold
    quality: np.ndarray  # (n_segments, n_channels): 1 - the largest artifact probability
    n_channels: int

    @classmethod
    def empty(cls, n_seg: int, n_ch: int, kinds: tuple[str, ...]) -> _Summary:
        k = len(kinds)
        return cls(
            np.zeros((n_seg, k), np.float32),
            np.zeros((n_seg, k, -(-n_ch // 8)), np.uint8),
            np.zeros((n_seg, n_ch), np.float32),
            n_ch,
        )

    def add(self, g0: int, p: np.ndarray, thr: np.ndarray) -> None:
        """Summarise ``p`` ``(segments, n_channels, n_kinds)`` into rows from ``g0`` on."""
        g1 = g0 + p.shape[0]
        self.pmax[g0:g1] = p.max(axis=1)
        self.above[g0:g1] = np.packbits((p >= thr).transpose(0, 2, 1), axis=-1)
        self.quality[g0:g1] = 1.0 - p[:, :, :-1].max(axis=2)

    def channels_above(self, a: int, b: int, ki: int) -> np.ndarray:
        """Channel indices at or above kind ``ki``'s threshold in any of segments a..b."""
        hit = np.bitwise_or.reduce(self.above[a:b, ki], axis=0)
        return np.flatnonzero(np.unpackbits(hit, count=self.n_channels))


def _threshold_vector(thresholds: dict[str, float], kinds: tuple[str, ...]) -> np.ndarray:
    """Per-kind thresholds in label order; kinds without one are never above (inf)."""
    return np.array(
        [float(thresholds[k]) if k in thresholds and k != "clean" else np.inf for k in kinds],
        np.float32,
    )


def _events(summary, hop, names, thresholds, kinds, model, duration, episode_fill, episode_min):
    """:func:`events_from_probs` from a :class:`_Summary` (same parameters)."""
    events: list[Finding] = []
    for ki, kind in enumerate(kinds):
        if kind == "clean" or kind not in thresholds:
            continue
        thr = float(thresholds[kind])
        pmax = summary.pmax[:, ki]
        present = pmax >= thr
        spans = list(runs(present))
        if kind in EPISODE_KINDS:
            merged: list[list[int]] = []
            for a, b in spans:
                if merged and a - merged[-1][1] <= episode_fill:
                    merged[-1][1] = b
                else:
                    merged.append([a, b])
            spans = [(a, b) for a, b in merged if b - a >= episode_min]
        for a, b in spans:
            onset = a * hop
            offset = b * hop if duration is None else min(b * hop, duration)
            if offset <= onset:
                continue
            chans = tuple(names[i] for i in summary.channels_above(a, b, ki))
            if len(chans) == len(names):
                chans = ()  # every channel: the convention for "all"
            conf = float(np.clip(pmax[a:b].max(), 0.0, 1.0))
            events.append(
                Finding(
                    onset=float(onset),
                    duration=float(offset - onset),
                    kind=kind,
                    channels=chans,
                    confidence=conf,
                    detector="learned",
                    extras={"model": model, "probability": round(conf, 4)},
                )
            )
    events.sort(key=lambda e: (e.onset, e.kind))
    return events


class LearnedDetector:
    """Learned EEG artifact detector (1D CNN over each channel and its neighbours).

    Parameters
    ----------
    model : str
        Registered model name or ``.safetensors`` path. default: ``"eeg-detector"``.
    threshold : float | dict | None
        Probability threshold, one for all kinds or per kind; ``None`` uses the per-kind
        thresholds in the model card. Kinds the card lists under ``not_reported`` (the
        shipped model: ``ecg``, whose probability does not tell cardiac episodes from the
        rest) give events only when a dict names them. default: ``None``.
    batch_size : int
        Channels per forward pass (32 keeps a batch in cache). default: 32.
    n_jobs : int | None
        Chunks processed side by side, each on one torch thread (``-1``: one per core;
        ``None``: one chunk at a time on torch's default threads). default: ``None``.
    chunk_duration : float
        Seconds of recording processed at a time (memory bound). default: 60.

    Attributes
    ----------
    scale_ : float
        Robust amplitude scale from :meth:`fit` (``detect`` without ``fit`` uses the
        recording's own).
    """

    def __init__(
        self,
        model: str = "eeg-detector",
        threshold: float | dict[str, float] | None = None,
        batch_size: int = 32,
        n_jobs: int | None = None,
        chunk_duration: float = 60.0,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.chunk_duration = chunk_duration

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, ts: Any) -> LearnedDetector:
        """Compute the recording-level amplitude scale ``scale_`` on ``ts``.

        Parameters
        ----------
        ts : TimeSeries
            The scale comes from the channels :meth:`detect` judges.

        Returns
        -------
        LearnedDetector
            ``self``.
        """
        self._check(ts)
        self.scale_ = robust_scale(judged_part(ts)[0])
        return self

    def predict_proba(self, ts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per-segment, per-channel probabilities of every label.

        Parameters
        ----------
        ts : TimeSeries

        Returns
        -------
        probs : numpy.ndarray of float32, shape (n_segments, n_channels, n_kinds)
            Labels in :data:`KINDS` order (``clean`` last).
        starts : numpy.ndarray of float64, shape (n_segments,)
            Segment start times in seconds (segments last ``hop`` = 0.25 s).
        """
        grid = self._check(ts)
        probs = np.empty((grid.n_segments(ts.n_samples), ts.n_channels, len(KINDS)), np.float32)

        def keep(g0: int, p: np.ndarray) -> None:
            probs[g0 : g0 + len(p)] = p  # disjoint rows

        self._run_chunks(ts, keep)
        return probs, np.arange(len(probs)) * grid.hop

    def _run_chunks(self, ts: Any, sink: Callable[[int, np.ndarray], None]) -> None:
        """Run the net over ``ts`` chunk by chunk; ``sink(g0, p)`` receives each chunk's
        probabilities ``p`` ``(segments, n_channels, n_kinds)`` for segments from ``g0`` on
        (disjoint, possibly from several threads at once)."""
        grid = self._check(ts)
        module, config = self._load()
        scale = getattr(self, "scale_", None) or robust_scale(ts)
        nbrs = neighbours(ts.channels, int(config.get("n_neighbours", N_NEIGHBOURS)))
        n = ts.n_samples
        n_seg = grid.n_segments(n)
        unit = grid.unit
        core = max(1, round(check_positive("chunk_duration", self.chunk_duration) * grid.sfreq))
        core = max(unit, core // unit * unit)
        margin = -(-round(_MARGIN_S * grid.sfreq) // unit) * unit
        batch = int(check_positive("batch_size", self.batch_size))

        def chunk(start: int) -> None:
            stop = min(n, start + core)
            r0, r1 = max(0, start - margin), min(n, stop + margin)
            x, miss = prepare(ts.get_data(r0, r1), grid, scale)
            ctx = _pad_to_segments(contexts(x, miss, nbrs))
            p = _run_model(module, ctx, batch)  # (n_ch, segments of the read, kinds)
            s0 = (r0 * grid.up // grid.down) // SEGMENT
            g0 = (start * grid.up // grid.down) // SEGMENT
            g1 = n_seg if stop == n else (stop * grid.up // grid.down) // SEGMENT
            sink(g0, p[:, g0 - s0 : g1 - s0].transpose(1, 0, 2))

        starts = range(0, n, core)
        # Several chunks side by side, each on one torch thread: for a net this small that
        # keeps every core busy, where threads inside each convolution mostly wait.
        with torch_threads(None if self.n_jobs is None else 1):
            map_in_threads(chunk, starts, n_workers(self.n_jobs, len(starts)), "neurolint-cnn")

    def detect(self, ts: Any) -> Detection:
        """Find artifact events of every kind the model knows.

        Parameters
        ----------
        ts : TimeSeries
            Channels typed eeg, meg, ecog, seeg or lfp are judged
            (:func:`~neurolint.assess.base.judged_channels`); EOG, ECG and EMG leads and
            ``misc`` channels beside them are not (a QRS complex is not a pop).

        Returns
        -------
        Detection
            ``detector="learned"``; ``events`` per kind (channels above threshold,
            confidence = max probability); ``quality`` ``(n_segments, n_channels)`` =
            1 - max artifact probability (1 on channels not judged); ``window_duration`` =
            the hop (0.25 s).
        """
        grid = self._check(ts)
        part, judged = judged_part(ts)
        if not judged.any():
            return Detection(detector="learned", window_duration=grid.hop)
        if part is not ts:
            return widened(self.detect(part), judged)
        _, config = self._load()
        thresholds = self._thresholds(config)
        # Summarised chunk by chunk, not kept whole: memory bounded by the chunk size.
        summary = _Summary.empty(grid.n_segments(ts.n_samples), ts.n_channels, KINDS)
        thr = _threshold_vector(thresholds, KINDS)
        self._run_chunks(ts, lambda g0, p: summary.add(g0, p, thr))
        events = _events(
            summary,
            grid.hop,
            list(ts.ch_names),
            thresholds,
            KINDS,
            str(self.model),
            ts.n_samples / grid.sfreq,
            int(config.get("episode_fill", 8)),
            int(config.get("episode_min", 4)),
        )
        return Detection(
            detector="learned",
            events=events,
            quality=summary.quality,
            window_duration=grid.hop,
            traces={"learned_probability": summary.pmax},
        )

    # -- helpers -----------------------------------------------------------------------------
    def _thresholds(self, config: dict[str, Any]) -> dict[str, float]:
        card = {k: float(v) for k, v in config.get("thresholds", {}).items()}
        base = {k: card.get(k, 0.5) for k in KINDS if k != "clean"}
        # Kinds the card marks unreliable are reported only when named in a threshold dict.
        reported = {k: v for k, v in base.items() if k not in config.get("not_reported", {})}
        if self.threshold is None:
            return reported
        if isinstance(self.threshold, dict):
            unknown = sorted(set(self.threshold) - set(base))
            if unknown:
                raise ParameterError(
                    f"threshold names unknown kind(s) {', '.join(unknown)}; use {', '.join(base)}."
                )
            return {**reported, **{k: float(v) for k, v in self.threshold.items()}}
        t = float(self.threshold)
        if not 0 < t < 1:
            raise ParameterError(f"threshold={t} must be in (0, 1) or a dict of them per kind.")
        return dict.fromkeys(reported, t)

    def _load(self) -> tuple[Any, dict[str, Any]]:
        cached = getattr(self, "_cache", None)
        if cached is None or cached[0] != self.model:
            from ..models.registry import load_model

            module, config = load_model(self.model)
            if hasattr(module, "fused"):  # inference only: batch norms folded away
                module = module.fused()
            self._cache = (self.model, module, config)
        return self._cache[1], self._cache[2]

    @staticmethod
    def _check(ts: Any) -> _Grid:
        if not hasattr(ts, "get_data") or not hasattr(ts, "ch_names"):
            raise DataValueError(
                "LearnedDetector needs a neurolint TimeSeries; wrap arrays with "
                "neurolint.core.TimeSeries(data, sampling_rate, names)."
            )
        if ts.n_samples < 1:
            raise DataValueError("The recording has no samples; nothing to assess.")
        return _grid(float(ts.sampling_rate))
