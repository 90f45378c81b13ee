"""Cardiac (ECG) artifact rule: a spatial filter for the heart's field, then a beat comb.

A single heartbeat in scalp EEG is often only 1-3 SDs of the background, too weak to be
picked beat by beat. Two things make it detectable:

1. *Space*: the cardiac field has one fixed pattern, decaying from a far source below and
   left of the head. A noise-whitened spatial filter ``w = C^-1 a`` (``C``: covariance of the
   8-30 Hz band-passed data, from up to :data:`COV_CHUNKS` chunks spread over the
   recording, ``a``: that pattern, or a flat one when positions are unknown) roughly doubles
   the per-beat SNR over the channel mean.
2. *Time*: beats repeat every 0.55-1.6 s. The QRS-matched trace of the component, binned
   (20 ms) and clipped so artifacts cannot dominate, is summed along a comb of ``2K+1``
   teeth for every candidate period; the best period's sum (a z-score) is the feature.
   Runs where it exceeds ``ecg_z`` for >= ``ecg_min_s`` seconds are candidate episodes.
3. *Acceptance*: a candidate is kept when a logistic model of its peak comb z, its mean
   comb z and its log duration (:data:`ACCEPT`) gives at least ``ecg_p``. Chance comb peaks
   are brief and barely over the threshold; heartbeats hold it for many beats.
4. *With a recorded ECG lead* the beats are known (:func:`heartbeats`): the trace is read at
   them and summed over ``2 ecg_lead_teeth + 1`` beats, and episodes are where that holds
   above ``ecg_lead_z``. Nothing is searched over periods or phases, so a lower level and
   no acceptance step keep chance runs out, and weaker hearts are found.
"""

from __future__ import annotations

import numpy as np

from ..core.findings import Finding
from ..core.timeseries import TimeSeries
from ._stats import row_median, row_nanmedian, zero_phase
from .base import runs

__all__ = ["ACCEPT", "ECG_DEFAULTS", "accept_probability", "ecg_rule", "heartbeats"]

ECG_DEFAULTS: dict[str, float] = {
    "ecg_z": 4.0,  # comb z-score of a candidate episode
    "ecg_p": 0.45,  # acceptance probability (ACCEPT) of a candidate
    "ecg_edge": 0.6,  # an accepted episode's edges: comb z >= this share of its peak
    # (ecg_p and ecg_edge chosen on the same training seeds as ACCEPT; see tune_ecg)
    "ecg_min_s": 6.0,
    "ecg_teeth": 5,  # comb half-width in beats
    "ecg_bridge_s": 4.0,  # lulls shorter than this inside an episode are bridged
    # With an ECG lead: the sum at the known beats (a z-score) over 2 x 8 + 1 beats. Chosen
    # on training seeds 200-247 with simulate_eeg(ecg_lead=True) (see tune_ecg_lead).
    "ecg_lead_z": 3.0,
    "ecg_lead_teeth": 8,
}

#: Logistic acceptance of a candidate: weights of (peak comb z, mean comb z, log duration
#: in s) and the intercept. Fitted by :func:`neurolint.bench.tasks.detect_tuning.tune_ecg` on
#: simulator seeds 200-247 (training seeds; candidates at ``ecg_z`` 4.0), as is ``ecg_p``.
ACCEPT = (0.7480, 1.6844, 1.0960, -14.1699)

BIN_S = 0.02
_SOURCE = np.array([-0.06, -0.08, -0.25])  # far source below-left of the head (heart)
_CLIP = 2.5  # per-bin z clip: a beat is 1-3 SD, artifacts far more
COV_CHUNKS = 10  # chunks the spatial filter's covariance is estimated from


def _beat(sfreq: float) -> np.ndarray:
    t = np.arange(-round(0.06 * sfreq), round(0.06 * sfreq) + 1) / sfreq
    waves = ((-0.03, 0.01, -0.15), (0.0, 0.012, 1.0), (0.03, 0.01, -0.25))
    return sum(h * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, h in waves)


def _pattern(ts: TimeSeries, channels: np.ndarray) -> np.ndarray:
    pos = ts.channels.subset(channels).positions
    known = np.zeros(len(channels), bool) if pos is None else np.isfinite(pos).all(axis=1)
    if pos is None or known.sum() < 4:
        return np.ones(len(channels))
    d = np.linalg.norm(pos[known] - _SOURCE, axis=1)
    # An unplaced channel gets the placed channels' median weight: unknown, not absent.
    a = np.full(len(channels), 0.0)
    a[known] = np.exp(-(d - d.min()) / 0.08)
    a[~known] = np.median(a[known])
    return a


def _read(ts, channels, start, stop, margin):
    """Chunk ``[start, stop)`` with ``margin`` samples each side (float32), NaN and exact
    zeros (dropouts) replaced by each channel's median; also the missing-sample mask."""
    lo, hi = max(0, start - margin), min(ts.n_times, stop + margin)
    x = ts.get_data(lo, hi, channels=channels).astype(np.float32, copy=False)
    missing = np.isnan(x) | (x == 0)
    if missing.any():
        with np.errstate(all="ignore"):
            med = np.nan_to_num(row_nanmedian(np.where(missing, np.nan, x))).astype(np.float32)
        x = np.where(missing, med[:, None], x)
    return x, missing, start - lo


def _spans(n_times: int, core: int) -> list[tuple[int, int]]:
    return [(a, min(n_times, a + core)) for a in range(0, n_times, core)]


def _chunks(ts, channels, sos, spans):
    """Yield ``(start, stop, band-passed core, usable-sample mask)`` for ``spans``."""
    sfreq = ts.sampling_rate
    margin = round(2.0 * sfreq)
    for start, stop in spans:
        x, missing, off = _read(ts, channels, start, stop, margin)
        y = zero_phase(x, sos, sfreq) if x.shape[1] > 15 else np.zeros_like(x)
        y = y[:, off : off + stop - start]
        scale = 1.4826 * row_median(np.abs(y))[:, None] + 1e-30
        # Artifacts (muscle, pops, clipping) and gaps stay out of covariance and trace.
        ok = (np.abs(y) < 5 * scale).all(axis=0) & ~missing[:, off : off + stop - start].any(axis=0)
        yield start, stop, y, ok


def _component(ts, channels, sos, w, spans):
    """Yield ``(start, stop, band-passed w @ x, usable-sample mask)`` for ``spans``.

    Filtering is linear, so projecting first and filtering one trace equals projecting the
    band-passed channels, at 1/n_channels of the cost. Samples where the component itself
    jumps (5 robust SDs: an artifact it picks up) or any channel is missing are not usable.
    """
    from scipy.signal import sosfiltfilt

    margin = round(2.0 * ts.sampling_rate)
    for start, stop in spans:
        x, missing, off = _read(ts, channels, start, stop, margin)
        # einsum, not BLAS: a threaded gemv stalls when the other cores are busy.
        z = np.einsum("c,cn->n", w.astype(np.float32), x).astype(np.float64)
        y = sosfiltfilt(sos, z) if z.shape[0] > 15 else np.zeros_like(z)
        y = y[off : off + stop - start]
        scale = 1.4826 * np.median(np.abs(y)) + 1e-30
        ok = (np.abs(y) < 5 * scale) & ~missing[:, off : off + stop - start].any(axis=0)
        yield start, stop, y, ok


def ecg_rule(
    ts: TimeSeries,
    channels: np.ndarray,
    thresholds: dict[str, float],
    *,
    beats: np.ndarray | None = None,
    chunk_s: float = 30.0,
) -> list[Finding]:
    """ECG episodes on ``channels`` (indices) of ``ts``; see the module docstring.

    Parameters
    ----------
    ts : TimeSeries
        EEG recording.
    channels : ndarray of int
        Good channels to use.
    thresholds : dict
        ``ecg_z`` (comb z-score of a candidate), ``ecg_p`` (acceptance probability; 0 keeps
        every candidate), ``ecg_edge`` (an accepted episode spans where the comb z stays
        above this share of its peak; 0 keeps the candidate's span), ``ecg_min_s``
        (shortest candidate, s), ``ecg_teeth`` (comb half-width, beats) and ``ecg_bridge_s``
        (longest lull bridged, s); missing keys take :data:`ECG_DEFAULTS`. With
        ``beats``, ``ecg_lead_z`` replaces ``ecg_z`` and the acceptance, and
        ``ecg_lead_teeth`` the comb's half-width.
    beats : ndarray of int | None
        Sample of every heartbeat, from a recorded ECG lead (:func:`heartbeats`). The
        component is then read at the beats instead of along the comb of every period.
        default: ``None``.
    chunk_s : float, default: 30.0
        Seconds per chunk (memory bound).

    Returns
    -------
    list of Finding
        Kind ``"ecg"``, detector ``"rules"``, extras feature (``"ecg_probability"``)/value/
        threshold plus ``comb_z`` (peak), ``comb_z_mean``, ``comb_z_threshold`` and ``bpm``.
    """
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import butter, oaconvolve, sosfiltfilt

    t = {**ECG_DEFAULTS, **{k: v for k, v in thresholds.items() if k in ECG_DEFAULTS}}
    sfreq = ts.sampling_rate
    n_ch = len(channels)
    if n_ch == 0 or ts.n_times < 20 * sfreq or sfreq < 70:
        return []
    sos = butter(2, [8.0, min(30.0, 0.45 * sfreq)], "bandpass", fs=sfreq, output="sos")
    cov = np.zeros((n_ch, n_ch))
    count = 0
    spans = _spans(ts.n_times, max(1, round(chunk_s * sfreq)))
    # The noise covariance from at most COV_CHUNKS chunks spread over the recording (five
    # minutes of 64 channels estimate it well): this pass filters every channel.
    pick = np.unique(np.linspace(0, len(spans) - 1, min(len(spans), COV_CHUNKS)).round())
    for _start, _stop, y, ok in _chunks(ts, channels, sos, [spans[int(i)] for i in pick]):
        yo = y[:, ok]
        cov += yo @ yo.T
        count += yo.shape[1]
    if count < n_ch + 10:
        return []
    cov /= count
    a = _pattern(ts, channels)
    w = np.linalg.solve(cov + 0.05 * np.trace(cov) / n_ch * np.eye(n_ch), a)
    tmpl = sosfiltfilt(sos, np.pad(_beat(sfreq), 50))[50:-50][::-1]
    b = max(1, round(BIN_S * sfreq))
    n_bins = -(-ts.n_times // b)
    trace = np.zeros(n_bins)
    usable = np.zeros(n_bins, bool)
    for start, stop, y, ok in _component(ts, channels, sos, w, spans):
        c = oaconvolve(y, tmpl, mode="same")
        c[~ok] = np.nan
        n = stop - start
        nb = -(-n // b)
        c = np.pad(c, (0, nb * b - n), constant_values=np.nan).reshape(nb, b)
        i0 = start // b
        with np.errstate(all="ignore"):
            usable[i0 : i0 + nb] = np.isfinite(c).all(axis=1)
            trace[i0 : i0 + nb] = np.nanmax(np.where(np.isfinite(c), c, -np.inf), axis=1)
    if usable.sum() < 100:
        return []
    trace[~usable] = 0
    scale = 1.4826 * np.median(np.abs(trace[usable])) + 1e-30
    e = maximum_filter1d(trace / scale, 3)  # +-1 bin: beat-to-beat jitter
    med = np.median(e[usable])
    e = np.clip((e - med) / (1.4826 * np.median(np.abs(e[usable] - med)) + 1e-30), -_CLIP, _CLIP)
    e[~usable] = 0
    rate = sfreq / b  # bins per second: b samples each, not exactly BIN_S at every rate
    locked = beats is not None and len(beats) > 2 * int(t["ecg_lead_teeth"])
    if locked:
        teeth = max(1, int(t["ecg_lead_teeth"]))
        best, best_p = _at_beats(e, usable, np.asarray(beats) // b, teeth)
        level = t["ecg_lead_z"]
    else:
        best, best_p = _comb(e, rate, max(1, int(t["ecg_teeth"])))
        level = t["ecg_z"]
    score = maximum_filter1d(best, round(rate))
    active = score > level
    for a0, z0 in runs(~active):
        if a0 > 0 and z0 < n_bins and (z0 - a0) / rate < t["ecg_bridge_s"]:
            active[a0:z0] = True
    names = [ts.ch_names[i] for i in channels]
    chans = tuple(n for n, v in zip(names, a / a.max(), strict=True) if v >= 0.2)
    out = []
    for a0, z0 in runs(active):
        seconds = (z0 - a0) / rate
        if seconds < t["ecg_min_s"]:
            continue
        peak, mean = float(best[a0:z0].max()), float(score[a0:z0].mean())
        # Known beats need no acceptance: the comb's chance peaks come from searching
        # every period and phase, which reading at the beats does not do.
        p = 1.0 if locked else accept_probability(peak, mean, seconds)
        if p < t["ecg_p"]:
            continue
        # The period where the comb peaks (on the beats), not between beats where any
        # period scores a chance tooth or two.
        on_beats = best[a0:z0] >= score[a0:z0] - 1e-9
        bpm = float(60.0 / (np.median(best_p[a0:z0][on_beats]) / rate))
        if locked:  # 0.5 at the threshold, 1 at twice it
            conf = 0.5 + 0.5 * (mean - level) / level
        else:  # 0.5 at the acceptance threshold, towards 1 at certainty
            conf = 0.5 + 0.5 * (p - t["ecg_p"]) / max(1.0 - t["ecg_p"], 1e-9)
        # A strong episode's comb stays above the candidate level for a few beats past its
        # ends (a partial comb still sums several beats): its edges are where the score
        # falls below a share of its peak.
        held = np.flatnonzero(score[a0:z0] >= max(level, t["ecg_edge"] * peak))
        a0, z0 = a0 + int(held[0]), a0 + int(held[-1]) + 1
        out.append(
            Finding(
                onset=a0 / rate,
                duration=(z0 - a0) / rate,
                kind="ecg",
                channels=chans,
                confidence=float(np.clip(conf, 0.5, 1.0)),
                detector="rules",
                extras=(
                    {
                        "feature": "beat_locked_z",
                        "value": mean,
                        "threshold": float(level),
                        "beat_locked_z_peak": peak,
                        "bpm": bpm,
                    }
                    if locked
                    else {
                        "feature": "ecg_probability",
                        "value": p,
                        "threshold": float(t["ecg_p"]),
                        "comb_z": peak,
                        "comb_z_mean": mean,
                        "comb_z_threshold": float(level),
                        "bpm": bpm,
                    }
                ),
            )
        )
    return out


def _comb(e: np.ndarray, rate: float, teeth: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bin, the best comb sum over every period (a z-score) and that period (bins)."""
    n_bins = len(e)
    periods = np.arange(round(0.55 * rate), round(1.6 * rate) + 1)
    pad = teeth * periods[-1]
    ep = np.pad(e, pad)
    best = np.full(n_bins, -np.inf)
    best_p = np.zeros(n_bins)
    for p in periods:
        s = sum(ep[pad + k * p : pad + k * p + n_bins] for k in range(-teeth, teeth + 1))
        s = s / np.sqrt(2 * teeth + 1)
        m = s > best
        best[m], best_p[m] = s[m], p
    return best, best_p


def _at_beats(
    e: np.ndarray, usable: np.ndarray, at: np.ndarray, teeth: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per bin, the sum of ``e`` at the ``2 teeth + 1`` beats around it (a z-score), and the
    beat interval there (bins); bins before the first or after the last beat score 0.

    ``at`` holds each beat's bin. A beat on unusable bins counts 0, as in the comb.
    """
    n_bins = len(e)
    at = np.unique(at[(at >= 0) & (at < n_bins)])
    v = np.where(usable[at], e[at], 0.0)
    width = 2 * teeth + 1
    s = np.convolve(v, np.ones(width), mode="same") / np.sqrt(width)
    interval = np.gradient(at.astype(np.float64)) if len(at) > 1 else np.ones(len(at))
    # Each bin takes the beat nearest to it.
    mid = (at[1:] + at[:-1]) / 2
    nearest = np.searchsorted(mid, np.arange(n_bins))
    best, best_p = s[nearest], interval[nearest]
    outside = (np.arange(n_bins) < at[0]) | (np.arange(n_bins) > at[-1])
    best[outside] = 0.0
    return best, best_p


def heartbeats(ts: TimeSeries, lead: int, *, chunk_s: float = 300.0) -> np.ndarray | None:
    """Samples of the R peaks on ECG lead ``lead`` of ``ts``.

    Parameters
    ----------
    ts : TimeSeries
    lead : int
        Index of a channel recording the ECG.
    chunk_s : float, default: 300.0
        The lead is read and searched in chunks of this many seconds (with 10 s of margin a
        side, peaks kept in the chunk's own span), so memory does not grow with the
        recording.

    Returns
    -------
    ndarray of int64 | None
        Sorted R-peak samples, or ``None`` where they do not look like a heart: a median
        beat interval outside 0.33-2 s, or fewer than 80% of the intervals within 20% of
        the one before (a peak picker finds "beats" in noise too, at random intervals).
    """
    sfreq = ts.sampling_rate
    if ts.n_times < 10 * sfreq:
        return None
    core = max(1, round(chunk_s * sfreq))
    margin = round(10 * sfreq)
    found = []
    for start in range(0, ts.n_times, core):
        stop = min(ts.n_times, start + core)
        lo, hi = max(0, start - margin), min(ts.n_times, stop + margin)
        peaks = _r_peaks(ts.get_data(lo, hi, channels=[lead]), sfreq) + lo
        found.append(peaks[(peaks >= start) & (peaks < stop)])
    peaks = np.unique(np.concatenate(found))
    if len(peaks) < 5:
        return None
    rr = np.diff(peaks) / sfreq
    steady = np.abs(np.diff(rr)) <= 0.2 * rr[:-1]
    if not 0.33 <= float(np.median(rr)) <= 2.0 or steady.mean() < 0.8:
        return None
    return peaks


def _r_peaks(x: np.ndarray, sfreq: float) -> np.ndarray:
    """R peaks in one chunk ``(1, n)`` of a lead (none in a flat or too short one).

    The lead band-passed to 5-30 Hz, where the QRS complex dominates and P and T waves are
    small; peaks of its magnitude above 0.35 of its 99.5th percentile, at least 0.3 s apart;
    each put at the largest excursion of the dominant polarity within 50 ms. On the
    simulator's leads this finds every beat in about 0.04 s per hour at 256 Hz; MNE's
    ``find_ecg_events``, used at first, missed 1-2% of them and loops in Python (2-2.5 s
    per hour).
    """
    from scipy.signal import butter, find_peaks, sosfiltfilt

    x = np.nan_to_num(np.asarray(x, dtype=np.float64)).ravel()
    if len(x) < 10 * sfreq or not np.ptp(x):
        return np.zeros(0, np.int64)
    sos = butter(2, [5.0, min(30.0, 0.45 * sfreq)], "bandpass", fs=sfreq, output="sos")
    y = sosfiltfilt(sos, x)
    size = np.abs(y)
    found, _ = find_peaks(
        size, height=0.35 * np.percentile(size, 99.5), distance=round(0.3 * sfreq)
    )
    if len(found) == 0:
        return found.astype(np.int64)
    sign = 1.0 if np.median(y[found]) >= 0 else -1.0
    half = max(1, round(0.05 * sfreq))
    lo = np.clip(found - half, 0, len(y) - 1)
    span = lo[:, None] + np.arange(2 * half + 1)[None]
    span = np.minimum(span, len(y) - 1)
    return (lo + np.argmax(sign * y[span], axis=1)).astype(np.int64)


def accept_probability(peak: float, mean: float, seconds: float) -> float:
    """:data:`ACCEPT`'s probability that a candidate episode is cardiac.

    Parameters
    ----------
    peak, mean : float
        The candidate's largest and mean comb z-score.
    seconds : float
        Its duration.

    Returns
    -------
    float
    """
    w_peak, w_mean, w_log, bias = ACCEPT
    logit = w_peak * peak + w_mean * mean + w_log * np.log(max(seconds, 1e-3)) + bias
    return float(1.0 / (1.0 + np.exp(-logit)))
