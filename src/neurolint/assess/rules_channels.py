"""Channel rules: flat, dropout, noisy (amplitude, high frequency, neighbour prediction), bridged.

Every rule is a robust statistic of the whole recording, computed from the shared window
features (:func:`~neurolint.assess.features.window_features`) over the windows that are not
gaps or huge transients, and from up to ``max_windows`` sampled windows for correlations, so
the cost is bounded whatever the recording's length.

=================  ===========================================================  ==============
rule               feature (per channel)                                         reason
=================  ===========================================================  ==============
flat               median window RMS / median over channels < ``flat_ratio``,    ``flat``
                   or median ``flat_frac`` > ``flat_frac``
dropout            mean fraction of NaN or zero samples > ``dropout_frac``      ``flat``
deviation          robust z (median/MAD across channels) of log median RMS       ``noisy_channel``
hf_noise           robust z of the high-frequency amplitude ratio                ``noisy_channel``
predictability     correlation with the least-squares prediction from the        ``noisy_channel``
                   ``k`` nearest good neighbours (RANSAC-like, PREP's idea
                   without splines), below ``predict_corr`` with robust z
bridged            a pair with correlation > ``bridge_corr`` and                 ``bridged``
                   var(difference) / var < ``bridge_var_ratio``
=================  ===========================================================  ==============
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.findings import ChannelStatus
from ..core.timeseries import TimeSeries
from .features import WindowFeatures
from .neighbours import neighbours

__all__ = ["CHANNEL_DEFAULTS", "channel_rules", "clean_windows"]

CHANNEL_DEFAULTS: dict[str, float] = {
    "flat_ratio": 0.02,
    "flat_frac": 0.5,
    "dropout_frac": 0.5,
    "robust_z_rms": 5.0,
    "robust_z_hf": 5.0,
    "predict_corr": 0.3,
    "robust_z_predict": 5.0,
    "bridge_corr": 0.98,
    "bridge_var_ratio": 0.005,
}

_MAX_WINDOWS = 120  # windows sampled for correlations


def robust_z(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """(x - median) / (1.4826 MAD) along ``axis``; 0 where the MAD is 0."""
    med = np.nanmedian(values, axis=axis, keepdims=True)
    mad = 1.4826 * np.nanmedian(np.abs(values - med), axis=axis, keepdims=True)
    floor = 1e-3 * np.nanmedian(np.abs(med)) + 1e-30
    return (values - med) / np.maximum(mad, floor)


def clean_windows(feats: WindowFeatures, usable: np.ndarray) -> np.ndarray:
    """Windows with no gap and no huge transient, for whole-recording statistics."""
    nan = feats["nan_frac"][:, usable]
    zero = feats["zero_frac"][:, usable]
    gap = (nan > 0).any(axis=1) | (np.median(zero, axis=1) > 0.05)
    level = np.median(feats["rms"][:, usable], axis=1)
    ref = np.median(level[~gap]) if (~gap).any() else np.median(level)
    keep = ~gap & (level < 3.0 * ref)
    if keep.sum() < max(3, 0.2 * len(keep)):
        keep = ~gap if (~gap).sum() >= 3 else np.ones(len(keep), bool)
    return keep


def _window_cov(
    ts: TimeSeries, feats: WindowFeatures, keep: np.ndarray, channels: np.ndarray
) -> np.ndarray | None:
    """Covariance matrices ``(n_win, n, n)`` of band-passed (1-40 Hz) samples of the ``n``
    ``channels`` (indices) in up to ``_MAX_WINDOWS`` clean windows spread over the
    recording."""
    from scipy.signal import butter, sosfiltfilt

    idx = np.flatnonzero(keep)
    if len(idx) < 3 or feats.length < 16:
        return None
    idx = np.unique(
        idx[np.linspace(0, len(idx) - 1, min(len(idx), _MAX_WINDOWS)).round().astype(int)]
    )
    sfreq = feats.sampling_rate
    sos = butter(2, [1.0, min(40.0, 0.45 * sfreq)], "bandpass", fs=sfreq, output="sos")
    edge = feats.length // 8
    covs = []
    for i in idx:
        start = int(feats.starts[i])
        x = ts.get_data(start, start + feats.length, channels=channels).astype(np.float64)
        x = np.nan_to_num(x - np.nanmean(x, axis=1, keepdims=True))
        x = np.ascontiguousarray(sosfiltfilt(sos, x, axis=1)[:, edge : feats.length - edge])
        x -= x.mean(axis=1, keepdims=True)
        covs.append(x @ x.T / x.shape[1])
    return np.stack(covs)


def _predictability(covs: np.ndarray, nbrs: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Median over windows of the correlation of each channel with its least-squares
    prediction from its good neighbours (coefficients from the median covariance)."""
    n_ch = covs.shape[1]
    ref = np.median(covs, axis=0)
    out = np.ones(n_ch)
    for ch in range(n_ch):
        pick = np.array([j for j in nbrs[ch] if good[j]], dtype=np.int64)
        if len(pick) < 2:
            continue
        a = ref[np.ix_(pick, pick)]
        coef = np.linalg.lstsq(
            a + 0.05 * np.trace(a) / len(pick) * np.eye(len(pick)), ref[pick, ch], rcond=None
        )[0]
        cross = covs[:, ch, pick] @ coef
        var_pred = np.einsum("i,wij,j->w", coef, covs[:, pick][:, :, pick], coef)
        r = cross / np.sqrt(np.maximum(var_pred * covs[:, ch, ch], 1e-60))
        out[ch] = float(np.median(r))
    return out


def channel_rules(
    ts: TimeSeries,
    feats: WindowFeatures,
    thresholds: dict[str, float],
    usable: np.ndarray,
    *,
    leads: np.ndarray | None = None,
    k: int = 6,
) -> tuple[list[ChannelStatus], np.ndarray, dict[str, Any]]:
    """Judge every channel; ``usable`` marks the channels every rule applies to.

    ``leads`` marks reference leads (EOG, ECG, EMG) that only the dropout and flat-fraction
    rules judge: their amplitude and content differ from the scalp's by nature, so the rules
    that compare a channel with the others do not apply.

    Returns
    -------
    statuses : list of ChannelStatus
        One per channel of ``ts``; channels neither ``usable`` nor ``leads`` are ``good``
        with no scores.
    bad : numpy.ndarray
        Boolean mask of bad channels.
    info : dict
        ``keep`` (windows used) and ``sample_corr`` (pairwise correlations) for other rules.
    """
    t = thresholds
    n_ch = ts.n_channels
    keep = clean_windows(feats, usable) if usable.any() else np.ones(feats.n_windows, bool)
    scores: list[dict[str, float]] = [{} for _ in range(n_ch)]
    reasons: list[list[str]] = [[] for _ in range(n_ch)]

    def flag(ch: int, reason: str, name: str, value: float, threshold: float) -> None:
        if reason not in reasons[ch]:
            reasons[ch].append(reason)
        scores[ch][f"threshold_{name}"] = float(threshold)
        scores[ch][name] = float(value)

    use = np.flatnonzero(usable)
    lead_idx = np.flatnonzero(leads) if leads is not None else np.zeros(0, np.int64)
    if len(use) == 0 and len(lead_idx) == 0:
        return (
            [ChannelStatus(n, ty) for n, ty in zip(ts.ch_names, ts.channels.types, strict=False)],
            np.zeros(n_ch, bool),
            {"keep": keep},
        )
    rms = np.median(feats["rms"][keep], axis=0).astype(np.float64)
    hf = np.sqrt(np.median(feats["hf_power"][keep], axis=0).astype(np.float64))
    flat_frac = np.median(feats["flat_frac"][keep], axis=0)
    missing = (feats["nan_frac"] + feats["zero_frac"]).mean(axis=0)
    ref = (float(np.median(rms[use])) if len(use) else 1.0) or 1e-30
    rms_ratio = rms / ref
    for ch in np.concatenate([use, lead_idx]):
        if usable[ch]:
            scores[ch]["rms_ratio"] = float(rms_ratio[ch])
        scores[ch].update(flat_frac=float(flat_frac[ch]), dropout_frac=float(missing[ch]))
        if missing[ch] > t["dropout_frac"]:
            flag(ch, "flat", "dropout_frac", missing[ch], t["dropout_frac"])
        if usable[ch] and rms_ratio[ch] < t["flat_ratio"]:
            flag(ch, "flat", "rms_ratio", rms_ratio[ch], t["flat_ratio"])
        if flat_frac[ch] > t["flat_frac"]:
            flag(ch, "flat", "flat_frac", flat_frac[ch], t["flat_frac"])
    alive = usable & np.array(["flat" not in r for r in reasons])
    live = np.flatnonzero(alive)
    if len(live) >= 3:
        z_rms = np.zeros(n_ch)
        z_rms[live] = robust_z(np.log(rms[live] + 1e-30))
        ratio = hf / np.maximum(rms, 1e-30)
        z_hf = np.zeros(n_ch)
        z_hf[live] = robust_z(ratio[live])
        for ch in live:
            scores[ch].update(robust_z_rms=float(z_rms[ch]), robust_z_hf=float(z_hf[ch]))
            if z_rms[ch] > t["robust_z_rms"]:
                flag(ch, "noisy_channel", "robust_z_rms", z_rms[ch], t["robust_z_rms"])
            if z_hf[ch] > t["robust_z_hf"]:
                flag(ch, "noisy_channel", "robust_z_hf", z_hf[ch], t["robust_z_hf"])
    info: dict[str, Any] = {"keep": keep}
    # Only the live channels are read: a lead's gap or a flat channel has no place here.
    covs = _window_cov(ts, feats, keep, live) if len(live) >= 3 else None
    if covs is not None:
        good_live = np.array(["noisy_channel" not in reasons[c] for c in live])
        nb = neighbours(ts.channels.subset(live), k)
        pred = _predictability(covs, nb, good_live)
        z_pred = robust_z(1.0 - pred)
        for i, ch in enumerate(live):
            scores[ch].update(predict_corr=float(pred[i]), robust_z_predict=float(z_pred[i]))
            if pred[i] < t["predict_corr"] and z_pred[i] > t["robust_z_predict"]:
                flag(ch, "noisy_channel", "predict_corr", pred[i], t["predict_corr"])
        # Bridged: a pair sharing one signal; medians over windows resist transients.
        var = np.einsum("wii->wi", covs)
        iu, ju = np.triu_indices(len(live), 1)
        cab = covs[:, iu, ju]
        va, vb = var[:, iu], var[:, ju]
        corr = np.median(cab / np.sqrt(np.maximum(va * vb, 1e-60)), axis=0)
        rel = np.median((va + vb - 2 * cab) / np.maximum(0.5 * (va + vb), 1e-60), axis=0)
        hit = np.flatnonzero((corr > t["bridge_corr"]) & (rel < t["bridge_var_ratio"]))
        for h in hit:
            a, b = iu[h], ju[h]
            for ch, other in ((live[a], live[b]), (live[b], live[a])):
                prev = scores[ch].get("bridge_var_ratio", np.inf)
                flag(ch, "bridged", "bridge_var_ratio", min(rel[h], prev), t["bridge_var_ratio"])
                scores[ch]["bridge_corr"] = max(corr[h], scores[ch].get("bridge_corr", -1.0))
                scores[ch]["threshold_bridge_corr"] = t["bridge_corr"]
                scores[ch][f"bridged_with_{ts.ch_names[other]}"] = float(corr[h])
        info["live"] = live
    bad = np.array([bool(r) for r in reasons])
    statuses = [
        ChannelStatus(
            name,
            ty,
            "bad" if reasons[i] else "good",
            tuple(reasons[i]),
            {key: round(float(v), 6) for key, v in scores[i].items()},
        )
        for i, (name, ty) in enumerate(zip(ts.ch_names, ts.channels.types, strict=True))
    ]
    return statuses, bad, info
