"""What the learned gap inpainter sees and gives back, shared by ``GapFiller`` and its recipe.

The network works at one rate, :data:`RATE` (256 Hz), on a window of :data:`WINDOW` samples
(3 s) centred on the gap, whatever the recording's rate: the window is resampled there
(polyphase, :func:`scipy.signal.resample_poly`) and the fill resampled back. Five inputs,
all divided by the standard deviation of the channel's recorded samples in the window:

0. the channel, zero where missing (this gap, other gaps, past the recording's edges);
1. the missing mask (1 missing);
2. the classical fill: the channel with the gap filled by a ridge regression on the peers
   recorded throughout the window where at least :data:`MIN_PEERS` were, else by forward and
   backward AR prediction (order :data:`AR_ORDER` at 256 Hz, i.e. 78 ms of history), as
   :class:`~neurolint.correct.impute.GapFiller` does;
3. the peers' ridge prediction of the channel over the whole window (zeros without peers):
   the network sees in the context how well the neighbouring channels predict this one;
4. 1 where that prediction exists, else 0.

The same :func:`prepare` builds the training examples (from simulated recordings with
artificial gaps) and the inputs at inference, so both see the same resampling smear.
torch is imported only inside :func:`run_inpainter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ._regression import ridge_solve

__all__ = [
    "RATE",
    "WINDOW",
    "InpaintInput",
    "half_span",
    "load_inpainter",
    "low_mask",
    "low_rate_row",
    "native_fill",
    "prepare",
    "rate_ratio",
    "run_inpainter",
]

RATE = 256.0  # the network's working rate: gamma (30-80 Hz) fits below its Nyquist
WINDOW = 768  # 3 s at RATE: a 0.5 s gap still has 1.25 s of context on each side
EDGE = 16  # low-rate samples resampled beyond each window edge (filter transients)
AR_ORDER = 20
MIN_PEERS = 3
MAX_PEERS = 32  # the most correlated peers kept (bounded cost on 384-channel probes)
CLIP = 20.0  # inputs in units of the context's std: a spike in a flat context stays bounded
N_INPUTS = 5
GAP_RANGE_S = (0.02, 0.5)  # gaps the network was trained on
MIN_RATE = 128.0  # slower recordings would be upsampled more than twofold
SPIKE_BAND_HZ = 100.0  # a channel with most power above this is left to the classical fill

_CACHE: dict[str, Any] = {}


def load_inpainter(model: Any) -> tuple[Any, dict[str, Any]]:
    """``(module, config)`` of a registered name or ``.safetensors`` path (loaded once per
    process), or of a torch module given as is (with the default input spec)."""
    if not isinstance(model, (str, Path)):
        return model, {"input": {"gap_range_s": list(GAP_RANGE_S)}}
    key = str(model)
    if key not in _CACHE:
        from ..models.registry import load_model

        _CACHE[key] = load_model(model)
    return _CACHE[key]


def rate_ratio(sfreq: float) -> tuple[int, int]:
    """``(up, down)``: ``sfreq * up / down`` is :data:`RATE` (to 0.1% for odd rates)."""
    frac = Fraction(RATE / float(sfreq)).limit_denominator(1000)
    return frac.numerator, frac.denominator


@dataclass
class InpaintInput:
    """One gap made ready for the network, and how to map its fill back."""

    inputs: np.ndarray  # (N_INPUTS, WINDOW) float32, normalised
    target_mask: np.ndarray  # (WINDOW,) bool: the low-rate samples of this gap
    low: np.ndarray  # (WINDOW,) float64: the channel at RATE (gaps interpolated), volts etc.
    start: int  # native index of low-rate sample 0
    up: int
    down: int
    mean: float
    std: float
    spatial: bool  # whether the peers' prediction was available


def low_mask(missing: np.ndarray, up: int, down: int, n_low: int, offset: int) -> np.ndarray:
    """Low-rate samples within one low-rate step of a missing native sample.

    ``missing`` is a native bool row whose index 0 is native position ``offset`` relative to
    the low-rate sample 0; low-rate sample ``j`` lies at native ``j * down / up``. The
    dilation covers the resampling filter's main lobe, so no masked-out value leaks in as
    "recorded"; at an unchanged rate it is the exact mask.
    """
    cs = np.concatenate(([0], np.cumsum(missing, dtype=np.int64)))
    pos = np.arange(n_low) * (down / up) - offset
    reach = 0.0 if up == down else down / up
    lo = np.clip(np.ceil(pos - reach - 1e-9).astype(np.int64), 0, len(missing))
    hi = np.clip(np.floor(pos + reach + 1e-9).astype(np.int64) + 1, 0, len(missing))
    return (cs[np.maximum(hi, lo)] - cs[lo]) > 0


def _interpolate_missing(rows: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Rows with missing samples linearly interpolated (constant past the ends): the
    resampling filter then sees no step into zero."""
    out = np.array(rows, dtype=np.float64)
    idx = np.arange(out.shape[1])
    for r in range(out.shape[0]):
        bad = missing[r]
        if not bad.any():
            continue
        good = ~bad
        out[r] = np.interp(idx, idx[good], out[r, good]) if good.any() else 0.0
    return out


def _resample(rows: np.ndarray, up: int, down: int) -> np.ndarray:
    if up == down:
        return rows
    from scipy.signal import resample_poly

    return resample_poly(rows, up, down, axis=-1)


def _window(
    block: np.ndarray, missing: np.ndarray, rows: list[int], lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """``block[rows, lo:hi]`` and its mask, padded as missing where the range leaves the
    block."""
    n = block.shape[1]
    data = np.zeros((len(rows), hi - lo), dtype=np.float64)
    miss = np.ones((len(rows), hi - lo), dtype=bool)
    a, b = max(lo, 0), min(hi, n)
    if b > a:
        data[:, a - lo : b - lo] = block[rows, a:b]
        miss[:, a - lo : b - lo] = missing[rows, a:b]
    miss |= ~np.isfinite(data)
    data[miss] = 0.0
    return data, miss


def _peers(
    block: np.ndarray, missing: np.ndarray, ch: int, lo: int, hi: int, known: np.ndarray
) -> list[int]:
    """Channels recorded throughout ``[lo, hi)`` and not flat; at most :data:`MAX_PEERS`,
    the most correlated with ``ch`` over its recorded samples (``missing`` marks every
    sample that is not finite, as :func:`prepare` requires)."""
    a, b = max(lo, 0), min(hi, block.shape[1])
    if a != lo or b != hi:
        return []  # the window leaves the block: no peer is recorded throughout
    seg = block[:, a:b]
    ok = ~missing[:, a:b].any(axis=1)
    ok[ch] = False
    # Not flat: a strided look settles almost every row (a probe's window is 384 x 90,000,
    # and two whole reductions over it cost 70 ms a gap); a row flat there is read whole.
    stride = max(1, seg.shape[1] // 4096)
    rows = np.flatnonzero(ok)
    sample = seg[:, ::stride][rows]
    flat = rows[sample.max(axis=1) <= sample.min(axis=1)]
    for r in flat:
        ok[r] = seg[r].max() > seg[r].min()
    cand = [int(c) for c in np.flatnonzero(ok)]
    if len(cand) <= MAX_PEERS:
        return cand
    step = max(1, seg.shape[1] // 2000)  # a strided correlation is enough to rank
    y = seg[ch, ::step][known[::step]]
    x = seg[:, ::step][cand][:, known[::step]]  # strided first: no copy of whole rows
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean()
    r = np.abs(x @ y) / (np.sqrt((x * x).sum(axis=1) * (y @ y)) + 1e-30)
    return [cand[i] for i in np.argsort(-r, kind="stable")[:MAX_PEERS]]


def _known_run(x: np.ndarray, miss: np.ndarray, at: int, step: int, limit: int) -> np.ndarray:
    """Contiguous recorded samples from ``at`` going ``step`` (-1 back, +1 forward)."""
    out = []
    i = at
    while 0 <= i < len(x) and not miss[i] and len(out) < limit:
        out.append(x[i])
        i += step
    arr = np.array(out, dtype=np.float64)
    return arr[::-1] if step < 0 else arr


def _geometry(start: int, up: int, down: int) -> tuple[int, int, int]:
    """``(lo, hi, pad_low)``: the native range resampled for a window whose low-rate sample
    0 lies at native ``start``, and how many low-rate samples precede that sample."""
    reps = int(np.ceil(EDGE / up))
    lo = start - reps * down
    hi = start + int(np.ceil(WINDOW * down / up)) + reps * down + 1
    return lo, hi, reps * up


def half_span(sfreq: float) -> int:
    """Native samples the window and its resampling padding reach on each side of a gap's
    centre (the gap filler's margin must cover it)."""
    up, down = rate_ratio(sfreq)
    lo, hi, _ = _geometry(0, up, down)
    return int(np.ceil(max(-lo + WINDOW / 2 * down / up, hi - WINDOW / 2 * down / up))) + 1


def low_rate_row(block: np.ndarray, ch: int, item: InpaintInput) -> np.ndarray:
    """Row ``ch`` of ``block`` (complete: no sample missing) at :data:`RATE` over
    ``item``'s window, normalised like its inputs (the training target)."""
    lo, hi, pad_low = _geometry(item.start, item.up, item.down)
    data, _ = _window(block, np.zeros(block.shape, dtype=bool), [ch], lo, hi)
    low = _resample(data, item.up, item.down)[0, pad_low : pad_low + WINDOW]
    return ((low - item.mean) / item.std).astype(np.float32)


def prepare(
    block: np.ndarray,
    missing: np.ndarray,
    ch: int,
    a: int,
    z: int,
    sfreq: float,
    *,
    spatial: bool = True,
) -> InpaintInput:
    """The network's inputs for gap ``[a, z)`` of channel ``ch`` of ``block``.

    Parameters
    ----------
    block : ndarray, shape (n_channels, n)
        Samples, any values where missing (they are not read).
    missing : ndarray of bool, same shape
        Missing samples: every gap of every channel, not only this one, and every sample
        that is not finite.
    ch, a, z : int
        The gap, in ``block``'s indices.
    sfreq : float
        ``block``'s rate.
    spatial : bool
        Use the peers recorded around the gap. default: ``True``.

    Returns
    -------
    InpaintInput
    """
    from .impute import _fill_ar

    up, down = rate_ratio(sfreq)
    per_low = down / up  # native samples per low-rate sample
    # Low-rate sample WINDOW/2 lands on the gap's centre (to half a native sample).
    start = round((a + z - 1) / 2 - (WINDOW / 2) * per_low)
    lo, hi, pad_low = _geometry(start, up, down)
    data, miss = _window(block, missing, [ch], lo, hi)
    gap = np.zeros(hi - lo, dtype=bool)
    gap[a - lo : z - lo] = True
    miss[0] |= gap
    low = _resample(_interpolate_missing(data, miss), up, down)[0, pad_low : pad_low + WINDOW]
    m_all = low_mask(miss[0], up, down, WINDOW + pad_low, 0)[pad_low:]
    m_gap = low_mask(gap, up, down, WINDOW + pad_low, 0)[pad_low:]
    known = ~m_all
    if known.sum() >= 2:
        mean, std = float(low[known].mean()), float(low[known].std())
    else:
        mean, std = 0.0, 0.0
    std = std if std > 0 else 1.0
    x = np.where(known, (low - mean) / std, 0.0)

    # Peers' ridge prediction, fitted on the channel's recorded low-rate samples.
    pred = np.zeros(WINDOW)
    have = False
    if spatial:
        peers = _peers(block, missing, ch, lo, hi, ~miss[0])
        if len(peers) >= MIN_PEERS and known.sum() >= 4 * len(peers):
            pdata, _ = _window(block, missing, peers, lo, hi)
            plow = _resample(pdata, up, down)[:, pad_low : pad_low + WINDOW].T
            pm = plow[known].mean(axis=0)
            try:
                w = ridge_solve(plow[known] - pm, x[known], 1e-2)
            except np.linalg.LinAlgError:
                w = None
            if w is not None and np.isfinite(w).all():
                pred = (plow - pm) @ w
                have = True
    # The classical fill: the peers' prediction, else forward/backward AR.
    base = x.copy()
    idx = np.flatnonzero(m_gap)
    if len(idx):
        g0, g1 = int(idx[0]), int(idx[-1]) + 1
        if have:
            base[g0:g1] = pred[g0:g1]
        else:
            limit = round(RATE)
            before = _known_run(x, m_all, g0 - 1, -1, limit)
            after = _known_run(x, m_all, g1, 1, limit)
            base[g0:g1] = _fill_ar(before, after, g1 - g0, AR_ORDER)
    inputs = np.stack([x, m_all.astype(np.float64), base, pred, np.full(WINDOW, float(have))])
    inputs = np.clip(inputs, -CLIP, CLIP).astype(np.float32)
    return InpaintInput(inputs, m_gap, low, start, up, down, mean, std, have)


def native_fill(item: InpaintInput, output: np.ndarray, a: int, z: int) -> np.ndarray:
    """The network's normalised low-rate ``output`` as native samples ``[a, z)``."""
    low = item.low.copy()
    low[item.target_mask] = output[item.target_mask] * item.std + item.mean
    if item.up == item.down:
        return low[a - item.start : z - item.start]
    native = _resample(low[None], item.down, item.up)[0]
    return native[a - item.start : z - item.start]


def run_inpainter(module: Any, inputs: np.ndarray, batch: int = 256) -> np.ndarray:
    """The network's ``(n, WINDOW)`` output for ``(n, N_INPUTS, WINDOW)`` inputs, in
    batches of ``batch`` (bounded memory), without gradients."""
    import torch

    dev = next(module.parameters()).device
    out = np.empty((len(inputs), inputs.shape[-1]), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            x = torch.from_numpy(np.ascontiguousarray(inputs[i : i + batch])).to(dev)
            out[i : i + batch] = module(x)[:, 0].cpu().numpy()
    return out
