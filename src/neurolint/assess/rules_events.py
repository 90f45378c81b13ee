"""Event rules: gaps, saturation, pops, line noise, muscle, movement, blinks, saccades, ECG.

One chunked pass over the recording (:func:`scan`) finds gaps and clipping plateaus at exact
sample boundaries and reduces every channel to a few envelopes sampled in bins of about
20 ms (slow signal, high-frequency power, largest step); the rules then
work on those envelopes, which are ~5-50x smaller than the data. Long recordings are taken
in segments of :data:`SEGMENT_S` (with context on both sides), so memory stays bounded by
the segment whatever the recording's length.

==========  ==================================================================================
kind        rule (feature vs threshold)
==========  ==================================================================================
gap         samples NaN or exactly 0 on at least ``gap_channels`` of the channels (exact);
            on fewer, each channel's own NaN runs (runs under ``gap_merge_s`` apart joined)
saturation  a run of identical samples at the channel's extreme, ``sat_z`` robust SDs away
            from its median, lasting >= 20 ms (exact)
pop         a one-bin step ``pop_z`` times the channel's typical largest step, neighbours
            quiet; extent until the deflection decays to a quarter
line_noise  line_<f> power ratio (per 1 s window) above ``line_ratio`` on ``line_channels``
            of the channels; consecutive windows merged into episodes
muscle      20 Hz-to-mains power, ratio to the channel's own median over time > ``muscle_ratio``
movement    slow (< 2 Hz) deflection, robust z over time > ``movement_z`` on >= 2 neighbouring
            channels, not explained by blinks or saccades
blink       positive slow peak on the most anterior channels (or EOG/Fp), robust z >
            ``blink_z``, half-height width 0.05-0.45 s, larger in front than behind
saccade     opposite steps on left vs right frontal-lateral channels (a horizontal EOG from the
            scalp), stepping back 0.3-1.8 s later
ecg         noise-whitened spatial filter for the cardiac field, QRS-matched, summed along
            a comb of beats 0.55-1.6 s apart (:mod:`.rules_ecg`); comb z > ``ecg_z``
==========  ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..core.findings import Finding
from ..core.threads import map_in_threads, n_workers
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive
from ._stats import row_median, row_nanmedian, zero_phase
from .base import runs
from .neighbours import neighbours
from .rules_ecg import ECG_DEFAULTS, ecg_rule

__all__ = ["EVENT_DEFAULTS", "Scan", "event_rules", "scan"]

EVENT_DEFAULTS: dict[str, float] = {
    "gap_channels": 0.8,
    "gap_merge_s": 0.1,
    "sat_z": 8.0,
    "sat_min_s": 0.02,
    "pop_z": 6.0,
    "pop_neighbour_ratio": 0.35,
    "line_ratio": 0.12,
    "line_channels": 0.1,
    "muscle_ratio": 4.0,
    "movement_z": 6.0,
    "blink_z": 4.0,
    "saccade_z": 4.0,
    **ECG_DEFAULTS,
}

BIN_S = 0.02  # envelope resolution (s)
_SCALE_BINS = 8192  # bins per row that robust baselines and scales are estimated from
SEGMENT_S = 600.0  # envelope rules see at most this much at once (memory bound)
SEGMENT_MARGIN_S = 30.0  # context read on each side of a segment


def _conf(value: float, threshold: float) -> float:
    """Confidence from how far a feature passes its threshold: 0.5 at it, ->1 far beyond."""
    if not np.isfinite(value) or threshold == 0:
        return 0.5
    ratio = abs(value / threshold)
    return float(np.clip(1.0 - 0.5 / max(ratio, 1.0), 0.5, 1.0))


def _runs2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, start, stop)`` of every run of True along the last axis of a 2-D mask."""
    n_rows, n = mask.shape
    padded = np.zeros((n_rows, n + 2), np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rs, cs = np.nonzero(d == 1)
    _re, ce = np.nonzero(d == -1)
    return rs, cs, ce


@dataclass
class Scan:
    """What one pass over the data leaves for the event rules."""

    sfreq: float
    bin: int  # samples per bin
    n_times: int
    gaps: list[tuple[int, int]] = field(default_factory=list)
    channel_gaps: list[tuple[int, int, int]] = field(default_factory=list)  # ch, start, stop
    plateaus: list[tuple[int, int, int, float]] = field(default_factory=list)  # ch, start, stop, z
    slow: np.ndarray | None = None  # (n_ch, n_bins) bin means
    hf: np.ndarray | None = None  # (n_ch, n_bins) mean power 20 Hz - mains
    step: np.ndarray | None = None  # (n_ch, n_bins) largest |diff|, signed
    gap_bins: np.ndarray | None = None  # (n_bins,) bool

    @property
    def rate(self) -> float:
        return self.sfreq / self.bin


def _binned(v: np.ndarray, how: str, nb: int, b: int) -> np.ndarray:
    """Reduce the last axis of ``v`` to ``nb`` bins of ``b`` samples (the last padded)."""
    if nb * b != v.shape[-1]:
        v = np.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, nb * b - v.shape[-1])], mode="edge")
    v = v.reshape(*v.shape[:-1], nb, b)
    if how == "mean":
        return _fold(v, np.add) / np.float32(b)
    hi = _fold(v, np.maximum)
    if how == "absmax":
        # The signed extreme of larger size, without an argmax and gather.
        lo = _fold(v, np.minimum)
        return np.where(hi >= -lo, hi, lo)
    return hi


def _fold(v: np.ndarray, op: np.ufunc) -> np.ndarray:
    """``op`` reduced over the short last axis of ``v``, one strided slice at a time.

    NumPy reduces a last axis of a few elements ~15x slower than it combines whole slices.
    """
    out = v[..., 0].copy()
    for k in range(1, v.shape[-1]):
        op(out, v[..., k], out=out)
    return out


def scan(
    ts: TimeSeries,
    channels: np.ndarray,
    line_freq: float,
    thresholds: dict[str, float],
    *,
    chunk_s: float = 30.0,
) -> Scan:
    """One chunked pass over ``channels`` of ``ts`` (indices), see the module docstring."""
    from scipy.signal import butter, iirnotch, tf2sos

    sfreq = ts.sampling_rate
    b = max(1, round(BIN_S * sfreq))
    n_times = ts.n_times
    n_bins = -(-n_times // b)
    n_ch = len(channels)
    core = b * max(1, round(chunk_s * sfreq / b))
    margin = round(2.0 * sfreq)
    top = min(0.45 * sfreq, 150.0)
    sos_hf = butter(4, [20.0, top], "bandpass", fs=sfreq, output="sos") if top > 25 else None
    if sos_hf is not None:
        # Mains and its harmonics notched out: hum is line_noise, not muscle.
        notches = [
            tf2sos(*iirnotch(f, 4.0, fs=sfreq))
            for f in np.arange(line_freq, min(top + 10.0, 0.49 * sfreq), line_freq)
        ]
        sos_hf = np.concatenate([sos_hf, *notches])
    out = Scan(sfreq, b, n_times)
    slow = np.zeros((n_ch, n_bins), np.float32)
    hf = np.zeros((n_ch, n_bins), np.float32)
    step = np.zeros((n_ch, n_bins), np.float32)
    gap_bins = np.zeros(n_bins, bool)
    sat_len = max(3, round(thresholds["sat_min_s"] * sfreq))
    for start in range(0, n_times, core):
        stop = min(n_times, start + core)
        lo, hi = max(0, start - margin), min(n_times, stop + margin)
        x = ts.get_data(lo, hi, channels=channels).astype(np.float32)
        c0, c1 = start - lo, stop - lo
        missing = np.isnan(x) | (x == 0)
        gap = missing.mean(axis=0) >= thresholds["gap_channels"] if n_ch else np.zeros(0, bool)
        for a, z in runs(gap[c0:c1]):
            out.gaps.append((start + a, start + z))
        # One channel's dropped samples, outside the gaps of (nearly) every channel: rare,
        # so no per-channel work otherwise.
        nan = np.isnan(x[:, c0:c1]) & ~gap[None, c0:c1]
        if nan.any():
            for ch in np.flatnonzero(nan.any(axis=1)):
                out.channel_gaps += [(int(ch), start + a, start + z) for a, z in runs(nan[ch])]
        # Fill what is missing with the channel's median so filters see no steps there.
        with np.errstate(all="ignore"):
            ok = ~missing & ~gap[None]
            if ok.all():
                med = row_median(x).astype(np.float32)
            else:
                med = np.nan_to_num(row_nanmedian(np.where(ok, x, np.nan))).astype(np.float32)
        x = np.where(np.isnan(x) | gap[None], med[:, None], x)
        core_x = x[:, c0:c1]
        # Plateaus at an extreme: identical consecutive samples far from the median.
        dev = np.abs(core_x - med[:, None])
        scale = 1.4826 * row_median(dev) + 1e-30
        same = core_x[:, 1:] == core_x[:, :-1]
        extreme = (dev[:, 1:] > thresholds["sat_z"] * scale[:, None]) & (core_x[:, 1:] != 0)
        plateau = same & extreme
        hit = np.flatnonzero(plateau.any(axis=1))  # run-finding only on rows with any
        rows, s0, s1 = _runs2d(plateau[hit])
        rows = hit[rows]
        long = (s1 - s0) >= sat_len - 1
        for r, a, z in zip(rows[long], s0[long], s1[long], strict=True):
            out.plateaus.append(
                (int(r), start + int(a), start + int(z) + 1, float(dev[r, a + 1] / scale[r]))
            )
        # Envelopes per bin.
        nb = (c1 - c0) // b if (c1 - c0) % b == 0 else -(-(c1 - c0) // b)
        bins = slice(start // b, start // b + nb)

        slow[:, bins] = _binned(core_x, "mean", nb, b)
        d = np.diff(x, axis=1, prepend=x[:, :1])[:, c0:c1]
        step[:, bins] = _binned(d, "absmax", nb, b)
        gap_bins[bins] = _binned(gap[c0:c1].astype(np.float32)[None], "max", nb, b)[0] > 0
        if sos_hf is not None and x.shape[1] > 30:
            y = zero_phase(x, sos_hf, sfreq)[:, c0:c1]
            hf[:, bins] = _binned(y * y, "mean", nb, b)
    out.slow, out.hf, out.step, out.gap_bins = slow, hf, step, gap_bins
    return out


# --- rules ----------------------------------------------------------------------------------


def _finding(kind, on, off, chans, feature, value, threshold, **extra) -> Finding:
    return Finding(
        onset=max(0.0, float(on)),
        duration=max(0.0, float(off - on)),
        kind=kind,
        channels=tuple(chans),
        confidence=_conf(value, threshold),
        detector="rules",
        extras={"feature": feature, "value": float(value), "threshold": float(threshold), **extra},
    )


def _median(v: np.ndarray) -> np.ndarray:
    """Median along the last axis (kept) from at most :data:`_SCALE_BINS` evenly spaced bins.

    These medians set baselines and scales of rows of a 10-minute segment (30,000 bins at
    50 per second); every few bins estimate them to about 1% of the row's spread, at a
    fraction of the cost of partitioning every row.
    """
    stride = max(1, -(-v.shape[-1] // _SCALE_BINS))
    return np.median(v[..., ::stride], axis=-1, keepdims=True)


def _mad(v: np.ndarray, med: np.ndarray | None = None) -> np.ndarray:
    """1.4826 x the median absolute deviation along the last axis, kept (``med``: the
    median, if already known), both estimated as in :func:`_median`."""
    if med is None:
        med = _median(v)
    return 1.4826 * _median(np.abs(v - med)) + 1e-30


def _gap_rule(s: Scan, t: dict, names: list[str]) -> list[Finding]:
    """Gaps of (nearly) every channel, then each channel's own NaN runs outside them."""
    merged: list[list[int]] = []
    for a, z in s.gaps:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    wide = [(a, z) for a, z in merged if z - a >= 2]
    out = [
        _finding(
            "gap", a / s.sfreq, z / s.sfreq, (), "missing_channel_frac", 1.0, t["gap_channels"]
        )
        for a, z in wide
    ]
    # A channel's runs closer than gap_merge_s are one event: sporadic NaN samples on a
    # long recording would otherwise make an event each.
    join = max(1, round(t["gap_merge_s"] * s.sfreq))
    runs_by_ch: dict[int, list[list[int]]] = {}
    for ch, a, z in sorted(s.channel_gaps):
        own = runs_by_ch.setdefault(ch, [])
        if own and a - own[-1][1] < join:
            own[-1][1] = max(own[-1][1], z)
        else:
            own.append([a, z])
    for ch, own in runs_by_ch.items():
        for a, z in own:
            out.append(
                _finding(
                    "gap", a / s.sfreq, z / s.sfreq, [names[ch]], "missing_samples", z - a, 1.0
                )
            )
    return out


def _saturation_rule(s: Scan, t: dict, names: list[str]) -> list[Finding]:
    if not s.plateaus:
        return []
    items = sorted(s.plateaus, key=lambda p: p[1])
    out: list[Finding] = []
    group = [items[0]]
    join = round(0.25 * s.sfreq)

    def emit(g):
        on = min(p[1] for p in g)
        off = max(p[2] for p in g)
        z = max(p[3] for p in g)
        chans = sorted({names[p[0]] for p in g})
        out.append(
            _finding("saturation", on / s.sfreq, off / s.sfreq, chans, "plateau_z", z, t["sat_z"])
        )

    for p in items[1:]:
        if p[1] <= max(q[2] for q in group) + join:
            group.append(p)
        else:
            emit(group)
            group = [p]
    emit(group)
    return out


def _busy(s: Scan, events: list[Finding], pad: float = 0.1) -> np.ndarray:
    """Bins covered by ``events`` (and ``pad`` seconds around them)."""
    mask = np.zeros(s.slow.shape[1], bool)
    for e in events:
        a = max(0, int((e.onset - pad) * s.rate))
        mask[a : int(np.ceil((e.offset + pad) * s.rate))] = True
    return mask


def _pop_rule(s: Scan, t: dict, names, nbrs, exclude: np.ndarray) -> list[Finding]:
    step = np.abs(s.step)
    med = _median(step)
    ref = med + _mad(step, med=med)
    z = step / ref
    z[:, exclude] = 0
    if nbrs.shape[1]:
        # Neighbours' steps in the same bin, relative to this channel's.
        nstep = step[nbrs].max(axis=1)
        quiet = nstep < t["pop_neighbour_ratio"] * step
    else:
        quiet = np.ones_like(z, bool)
    cand = (z > t["pop_z"]) & quiet
    out: list[Finding] = []
    rows, cols = np.nonzero(cand)
    order = np.argsort(-z[rows, cols])
    taken = np.zeros(s.slow.shape[1], bool)
    for i in order:
        ch, b = rows[i], cols[i]
        if taken[max(0, b - 25) : b + 25].any():
            continue
        sig = s.slow[ch]
        base = np.median(sig[max(0, b - 10) : b]) if b > 0 else sig[b]
        seg = sig[b + 1 : b + 1 + int(2.0 * s.rate)] - base
        if len(seg) == 0:
            continue
        amp = float(np.median(seg[: max(1, round(0.04 * s.rate))]))
        # A pop leaves the level shifted (then decays); a muscle or noise spike does not.
        if np.sign(amp) != np.sign(s.step[ch, b]) or abs(amp) < 0.5 * step[ch, b]:
            continue
        below = np.flatnonzero(np.sign(amp) * seg < 0.25 * abs(amp))
        end = b + 1 + (below[0] if len(below) else len(seg))
        end = max(end, b + 3)
        taken[b:end] = True
        out.append(
            _finding("pop", b / s.rate, end / s.rate, (names[ch],), "step_z", z[ch, b], t["pop_z"])
        )
    return out


def _line_rule(feats, t: dict, names, good: np.ndarray, line_freq: float) -> list[Finding]:
    ratio = feats[f"line_{int(line_freq)}"][:, good]
    base = np.median(ratio, axis=0)
    hot = (ratio > t["line_ratio"]) & (ratio > 5 * base)
    frac = hot.mean(axis=1)
    active = (frac >= t["line_channels"]) | (hot.sum(axis=1) >= 3)
    out = []
    good_names = [n for n, g in zip(names, good, strict=True) if g]
    for a, z in runs(active):
        if z - a < 3:
            continue
        on = feats.starts[a] / feats.sampling_rate
        off = (feats.starts[z - 1] + feats.length) / feats.sampling_rate
        chans = [good_names[j] for j in np.flatnonzero(hot[a:z].mean(axis=0) > 0.3)]
        value = float(np.median(ratio[a:z][hot[a:z]])) if hot[a:z].any() else 0.0
        out.append(
            _finding(
                "line_noise",
                on,
                off,
                chans,
                f"line_{int(line_freq)}",
                value,
                t["line_ratio"],
                line_freq=line_freq,
            )
        )
    return out


def _smooth(v: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return v
    k = np.ones(n) / n
    from scipy.ndimage import convolve1d

    return convolve1d(v, k, axis=-1, mode="nearest")


def _muscle_rule(s: Scan, t: dict, names, exclude: np.ndarray) -> list[Finding]:
    hf = _smooth(s.hf, max(1, round(0.2 * s.rate)))
    base = _median(hf) + 1e-30
    ratio = hf / base
    ratio[:, exclude] = 1.0
    hot = ratio > t["muscle_ratio"]
    active = hot.any(axis=0)
    out = []
    for a, z in runs(active):
        if (z - a) / s.rate < 0.1:
            continue
        chans = [names[j] for j in np.flatnonzero(hot[:, a:z].any(axis=1))]
        value = float(ratio[:, a:z].max())
        out.append(
            _finding("muscle", a / s.rate, z / s.rate, chans, "hf_ratio", value, t["muscle_ratio"])
        )
    return out


def _highpass_bins(
    s: Scan, cutoff: float, low: float | None = None, rows: list[int] | None = None
) -> np.ndarray:
    """``s.slow`` high- (or band-) passed, for every channel or only ``rows``."""
    from scipy.signal import butter, sosfiltfilt

    band = [cutoff, low] if low else cutoff
    sos = butter(2, band, "bandpass" if low else "highpass", fs=s.rate, output="sos")
    x = (s.slow if rows is None else s.slow[rows]).astype(np.float64)
    x = x - _median(x)
    if x.shape[1] < 20:
        return x.astype(np.float32)
    # float32 afterwards: the rules take medians of these rows, twice as fast in single.
    return sosfiltfilt(sos, x, axis=1).astype(np.float32)


def _frontal_sets(pos, names, types):
    """Indices of anterior channels, and of left/right frontal-lateral ones."""
    upper = [n.upper() for n in names]
    eog = [
        i
        for i, (n, ty) in enumerate(zip(upper, types, strict=True))
        if ty == "eog" or n.startswith("FP")
    ]
    # Channels without a position (an unplaced extra electrode) take no part; the others
    # still define the front, back and sides.
    known = np.zeros(len(names), bool) if pos is None else np.isfinite(pos).all(axis=1)
    if pos is None or known.sum() < 4:
        return eog, [], [], []
    # NaN compares false, so unplaced channels fall in no set.
    x = np.where(known, pos[:, 0], np.nan)
    y = np.where(known, pos[:, 1], np.nan)
    top = np.nanmax(y)
    with np.errstate(invalid="ignore"):
        front = list(np.flatnonzero(y >= top - 0.015)) or eog
        back = list(np.flatnonzero((y < top - 0.035) & (y > top - 0.07)))
        left = list(np.flatnonzero((x < -0.035) & (y > 0.0)))
        right = list(np.flatnonzero((x > 0.035) & (y > 0.0)))
    return front, back, left, right


def _blink_rule(s: Scan, t: dict, names, front, back, exclude) -> list[Finding]:
    if not front:
        return []
    # Blinks (0.2-0.4 s bumps) stand out best in 0.7-6 Hz, above the 1/f background. Only
    # the frontal and posterior means are used, so only those rows are filtered.
    rows = list(front) + [i for i in back if i not in front]
    hp = _highpass_bins(s, 0.7, 6.0, rows=rows)
    f = hp[: len(front)].mean(axis=0)
    r = hp[[rows.index(i) for i in back]].mean(axis=0) if back else np.zeros_like(f)
    z = (f - _median(f)[0]) / _mad(f)[0]
    z[exclude] = 0
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(z, height=t["blink_z"], distance=max(1, round(0.3 * s.rate)))
    out = []
    for p in peaks:
        half = 0.5 * f[p]
        lo = p
        while lo > 0 and f[lo - 1] > half:
            lo -= 1
        hi = p
        while hi < len(f) - 1 and f[hi + 1] > half:
            hi += 1
        width = (hi - lo + 1) / s.rate
        if width > 0.45:
            continue
        if back and r[p] > 0.7 * f[p]:
            continue
        out.append(
            _finding(
                "blink",
                lo / s.rate,
                (hi + 1) / s.rate,
                [names[i] for i in front],
                "frontal_z",
                z[p],
                t["blink_z"],
            )
        )
    return out


def _saccade_rule(s: Scan, t: dict, names, slow_hp, left, right, exclude) -> list[Finding]:
    if not left or not right:
        return []
    w = max(2, round(0.08 * s.rate))

    def stepped(v: np.ndarray) -> np.ndarray:
        c = np.cumsum(np.concatenate(([0.0], v)))
        idx = np.arange(w, len(v) - w)
        out = np.zeros(len(v))
        out[idx] = (c[idx + w] - c[idx]) / w - (c[idx] - c[idx - w]) / w
        return out

    L = stepped(slow_hp[left].mean(axis=0))
    R = stepped(slow_hp[right].mean(axis=0))
    st = L - R
    # Antisymmetric: both sides step, in opposite directions (blinks and one-sided movement
    # or pops do not).
    anti = (np.sign(L) == -np.sign(R)) & (np.minimum(np.abs(L), np.abs(R)) > 0.25 * np.abs(st))
    z = st / _mad(st)[0]
    z[exclude | ~anti] = 0
    from scipy.signal import find_peaks

    dist = max(1, round(0.2 * s.rate))
    up, _ = find_peaks(z, height=t["saccade_z"], distance=dist)
    down, _ = find_peaks(-z, height=t["saccade_z"], distance=dist)
    steps = sorted([(p, 1) for p in up] + [(p, -1) for p in down])
    out = []
    used = set()
    for i, (p, sign) in enumerate(steps):
        if p in used:
            continue
        for q, sign2 in steps[i + 1 :]:
            gap = (q - p) / s.rate
            if gap > 1.8:
                break
            if sign2 == -sign and gap >= 0.3 and q not in used:
                ratio = abs(st[q] / st[p])
                if 0.4 < ratio < 2.5:
                    used.update((p, q))
                    val = min(abs(z[p]), abs(z[q]))
                    out.append(
                        _finding(
                            "saccade",
                            p / s.rate,
                            q / s.rate,
                            [names[j] for j in left + right],
                            "heog_step_z",
                            val,
                            t["saccade_z"],
                        )
                    )
                break
    return out


def _movement_rule(s: Scan, t: dict, names, slow_hp, nbrs, exclude) -> list[Finding]:
    env = np.abs(slow_hp)
    z = env / _mad(slow_hp)
    z = _smooth(z, max(1, round(0.2 * s.rate)))
    z[:, exclude] = 0
    hot = z > t["movement_z"]
    if nbrs.shape[1]:
        # A channel counts only with at least one hot neighbour (a group, not one channel).
        hot &= hot[nbrs].any(axis=1)
    active = hot.sum(axis=0) >= 2
    # A slow wander crosses its baseline: bridge lulls shorter than 1 s within one movement.
    for a, zz in runs(~active):
        if a > 0 and zz < len(active) and (zz - a) / s.rate < 1.0 and not exclude[a:zz].any():
            active[a:zz] = True
    out = []
    for a, zz in runs(active):
        if (zz - a) / s.rate < 0.3:
            continue
        chans = [names[j] for j in np.flatnonzero(hot[:, a:zz].any(axis=1))]
        out.append(
            _finding(
                "movement",
                a / s.rate,
                zz / s.rate,
                chans,
                "slow_z",
                float(z[:, a:zz].max()),
                t["movement_z"],
            )
        )
    return out


def _segment_rules(
    ts: TimeSeries, idx: np.ndarray, names: list[str], t: dict[str, float], line_freq: float
) -> list[Finding]:
    """The envelope rules (everything but line noise and ECG) on one stretch of ``ts``."""
    s = scan(ts, idx, line_freq, t)
    info = ts.channels.subset(idx)
    nbrs = neighbours(info, 4)
    events = _gap_rule(s, t, names)
    events += _saturation_rule(s, t, names)
    hard = _busy(s, events, 0.15) | s.gap_bins
    slow_hp = _highpass_bins(s, 0.2)
    front, back, left, right = _frontal_sets(info.positions, names, info.types)
    blinks = _blink_rule(s, t, names, front, back, hard)
    saccades = _saccade_rule(s, t, names, slow_hp, left, right, hard)
    pops = _pop_rule(s, t, names, nbrs, hard)
    eye = _busy(s, blinks + saccades + pops, 0.2)
    muscle = _muscle_rule(s, t, names, hard | _busy(s, pops, 0.1))
    wide = _busy(s, [e for e in events if e.kind in ("saturation", "gap")], 1.0)
    movement = _movement_rule(s, t, names, slow_hp, nbrs, hard | eye | wide)
    return events + blinks + saccades + pops + muscle + movement


def _clip(e: Finding, lo: float, hi: float) -> Finding | None:
    """``e`` cut to ``[lo, hi)`` seconds, or ``None`` if nothing of it lies there."""
    on, off = max(e.onset, lo), min(e.offset, hi)
    if off <= on:
        return None
    return replace(e, onset=on, duration=off - on)


def _join(pieces: list[Finding], cuts: list[float]) -> list[Finding]:
    """Join pieces of one kind that meet at a segment boundary in ``cuts``: one event."""
    at = set(cuts)
    out: list[Finding] = []

    def own(e: Finding) -> tuple[str, ...]:  # a channel's own gap joins only its own pieces
        return e.channels if e.kind == "gap" else ()

    for e in sorted(pieces, key=lambda e: (e.kind, own(e), e.onset)):
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == e.kind
            and own(prev) == own(e)
            and e.onset in at
            and prev.offset == e.onset
        ):
            best = prev if prev.extras.get("value", 0) >= e.extras.get("value", 0) else e
            out[-1] = replace(
                best,
                onset=prev.onset,
                duration=e.offset - prev.onset,
                channels=tuple(sorted(set(prev.channels) | set(e.channels))),
                confidence=max(prev.confidence, e.confidence),
            )
        else:
            out.append(e)
    return out


def event_rules(
    ts: TimeSeries,
    feats,
    good: np.ndarray,
    thresholds: dict[str, float],
    line_freq: float,
    *,
    segment_s: float = SEGMENT_S,
    n_jobs: int | None = None,
    beats: np.ndarray | None = None,
) -> list[Finding]:
    """All event rules on the ``good`` channels (boolean mask) of ``ts``.

    The envelope rules run on segments of ``segment_s`` seconds (each read with
    :data:`SEGMENT_MARGIN_S` of context on both sides), so memory is bounded by the segment,
    not the recording; their baselines (a channel's typical high-frequency power, step size
    and slow spread) are those of the segment, which also follows slow changes over a long
    recording. Findings are cut to their segment and pieces meeting at a boundary joined.
    ``n_jobs`` segments run side by side (``-1``: one per core; memory grows by a segment
    per thread). ``beats`` (samples of heartbeats from an ECG lead) go to the ECG rule.
    """
    t = thresholds
    idx = np.flatnonzero(good)
    if len(idx) == 0:
        return []
    names = [ts.ch_names[i] for i in idx]
    sfreq = ts.sampling_rate
    n = ts.n_times
    seg = max(1, round(check_positive("segment_s", segment_s) * sfreq))
    margin = round(SEGMENT_MARGIN_S * sfreq)
    if n <= seg + margin:
        pieces = _segment_rules(ts, idx, names, t, line_freq)
        cuts: list[float] = []
    else:

        def segment(a: int) -> list[Finding]:
            b = min(n, a + seg)
            lo, hi = max(0, a - margin), min(n, b + margin)
            found = _segment_rules(ts.frame_slice(lo, hi), idx, names, t, line_freq)
            clipped = (
                _clip(replace(e, onset=e.onset + lo / sfreq), a / sfreq, b / sfreq) for e in found
            )
            return [e for e in clipped if e is not None]

        starts = range(0, n, seg)
        found = map_in_threads(segment, starts, n_workers(n_jobs, len(starts)), "neurolint-rules")
        pieces = [e for part in found for e in part]
        cuts = [a / sfreq for a in starts[1:]]
    events = _join(pieces, cuts)
    events += _line_rule(feats, t, ts.ch_names, good, line_freq) + ecg_rule(ts, idx, t, beats=beats)
    return sorted(events, key=lambda e: (e.onset, e.kind))
