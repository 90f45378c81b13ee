"""Task ``anomaly``: artifact kinds the simulators never make, found as ``anomaly``.

Clean simulated EEG (``simulate_eeg(artifacts=None)``, held-out seeds ``10_000 + seed + i``)
receives artifacts of kinds absent from every simulator and training recipe
(:func:`inject_unseen`):

- ``glitch``: a square wave of 2-20 Hz, 30-150 µV peak to peak, 0.2-2 s, on 1-4
  neighbouring channels (an amplifier or cable fault);
- ``burst``: a Hann-tapered sinusoid of 5-15 Hz, 30-150 µV peak to peak, 0.5-2 s, on 1-4
  neighbouring channels (not mains, not a physiological rhythm's spread).

Every method sees the same recordings. Before scoring, each method's events less than 0.25 s
apart are merged (``merge_close``, the ``detect`` task's rule). Scores, pooled over
recordings:

- ``recall_glitch`` / ``recall_burst``: injected events matched one to one by a predicted
  event overlapping them by at least half the shorter of the two (``match_events``,
  ``by_kind=False``);
- ``fa_per_min``: predicted events overlapping no injected event, per minute of clean
  recording (total minus injected time);
- ``precision``: matched predictions over all predictions.

Our detectors' thresholds were set on training seeds only (:func:`tune`, seeds < 10 000).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...core.errors import ParameterError
from ...core.findings import Finding
from ...core.timeseries import TimeSeries
from ..harness import BenchResult, run_method
from ..metrics import match_events
from .detect import merge_close

__all__ = ["UNSEEN_KINDS", "inject_unseen", "ptp_zscore", "run", "suite", "tune"]

SEED_OFFSET = 10_000
UNSEEN_KINDS = ("glitch", "burst")
#: Peak-to-peak amplitude (V), duration (s) and frequency (Hz) ranges of the unseen kinds.
_RANGES = {
    "glitch": {"amplitude": (30e-6, 150e-6), "duration": (0.2, 2.0), "freq": (2.0, 20.0)},
    "burst": {"amplitude": (30e-6, 150e-6), "duration": (0.5, 2.0), "freq": (5.0, 15.0)},
}
PTP_Z = 4.0  # ptp_zscore threshold, set on training seeds by tune() like ours


def _neighbours(ts: TimeSeries, centre: int, k: int) -> np.ndarray:
    """``k`` channels nearest to ``centre`` (by position; by index when there are none)."""
    pos = ts.channels.positions
    if pos is None or not np.isfinite(pos).all():
        order = np.argsort(np.abs(np.arange(ts.n_channels) - centre), kind="stable")
    else:
        order = np.argsort(np.linalg.norm(pos - pos[centre], axis=1), kind="stable")
    return order[:k]


def inject_unseen(
    ts: TimeSeries,
    kinds: Sequence[str] = UNSEEN_KINDS,
    rate: float = 2.0,
    seed: int = 0,
) -> tuple[TimeSeries, list[Finding]]:
    """Add artifacts of kinds no simulator makes; return the new recording and the truth.

    Parameters
    ----------
    ts : TimeSeries
        The recording (in volts), left unchanged.
    kinds : sequence of {"glitch", "burst"}
        Kinds to inject. default: both.
    rate : float
        Events per minute of each kind (at least one each). default: 2.
    seed : int
        Random seed. default: 0.

    Returns
    -------
    (TimeSeries, list of Finding)
        The recording with the artifacts (in memory), and one ``anomaly`` Finding per
        injected event with ``extras`` ``{"injected": kind, "amplitude", "freq"}``. Events
        never overlap and lie at least 1 s apart.
    """
    for kind in kinds:
        if kind not in _RANGES:
            raise ParameterError(f"kind {kind!r} is not one of {', '.join(UNSEEN_KINDS)}.")
    rng = np.random.default_rng(seed)
    sfreq, n_times = ts.sampling_rate, ts.n_times
    minutes = n_times / sfreq / 60.0
    plan = [k for k in kinds for _ in range(max(1, round(rate * minutes)))]
    rng.shuffle(plan)
    # One event per equal slot, placed at random inside it, so events never overlap.
    slot = n_times / max(1, len(plan))
    data = ts.to_numpy().copy()
    truth: list[Finding] = []
    for i, kind in enumerate(plan):
        r = _RANGES[kind]
        dur = rng.uniform(*r["duration"])
        n = round(dur * sfreq)
        room = slot - n - 2 * sfreq
        if room <= 0:
            raise ParameterError("The recording is too short for this rate; lower rate.")
        start = round(i * slot + sfreq + rng.uniform(0, room))
        t = np.arange(n) / sfreq
        freq, amp = rng.uniform(*r["freq"]), rng.uniform(*r["amplitude"])
        phase = rng.uniform(0, 2 * np.pi)
        if kind == "glitch":
            wave = 0.5 * amp * np.sign(np.sin(2 * np.pi * freq * t + phase))
        else:
            wave = 0.5 * amp * np.sin(2 * np.pi * freq * t + phase) * np.hanning(n)
        chans = _neighbours(ts, int(rng.integers(ts.n_channels)), int(rng.integers(1, 5)))
        gains = rng.uniform(0.7, 1.0, len(chans))
        gains[0] = 1.0
        data[chans, start : start + n] += (gains[:, None] * wave[None]).astype(np.float32)
        truth.append(
            Finding(
                onset=start / sfreq,
                duration=n / sfreq,
                kind="anomaly",
                channels=tuple(ts.ch_names[c] for c in chans),
                detector="truth",
                extras={"injected": kind, "amplitude": float(amp), "freq": float(freq)},
            )
        )
    out = TimeSeries(data, sfreq, ts.channels, modality=ts.modality)
    return out, truth


def ptp_zscore(ts: TimeSeries, z: float = PTP_Z, window: float = 1.0, hop: float = 0.5):
    """Baseline: windows whose log peak-to-peak lies ``z`` robust SDs above the channel's.

    Returns a list of ``anomaly`` Findings (runs of flagged windows, flagged channels).
    """
    from ...assess.base import runs
    from ...assess.features import window_features

    wf = window_features(ts, window=window, hop=hop)
    x = np.log(wf["ptp"] + 1e-30)
    med = np.median(x, axis=0)
    mad = np.maximum(1.4826 * np.median(np.abs(x - med), axis=0), 1e-3)
    score = (x - med) / mad
    flagged = score > z
    events = []
    for k0, k1 in runs(flagged.any(axis=1)):
        onset = wf.starts[k0] / wf.sampling_rate
        chans = np.flatnonzero(flagged[k0:k1].any(axis=0))
        events.append(
            Finding(
                onset=float(onset),
                duration=float((wf.starts[k1 - 1] + wf.length) / wf.sampling_rate - onset),
                kind="anomaly",
                channels=tuple(wf.channels[c] for c in chans),
                detector="ptp_zscore",
                extras={
                    "feature": "ptp_robust_z",
                    "value": float(score[k0:k1].max()),
                    "threshold": z,
                },
            )
        )
    return events


def suite(quick: bool, seed: int = 0, offset: int = SEED_OFFSET) -> list[dict[str, Any]]:
    """Recordings with unseen artifacts: ``{"data", "truth", "seed", ...}`` each."""
    from ...simulate import simulate_eeg

    layouts = (
        [(32, 256.0, 60.0)]
        if quick
        else [(32, 256.0, 300.0), (64, 256.0, 300.0), (64, 256.0, 300.0)]
    )
    out = []
    for i, (n_ch, sfreq, duration) in enumerate(layouts):
        s = offset + seed + i
        sim = simulate_eeg(n_ch, duration, sfreq, artifacts=None, seed=s)
        data, truth = inject_unseen(sim.data, seed=s)
        out.append({"data": data, "truth": truth, "seed": s, "duration": duration})
    return out


def _methods(seed: int) -> list[tuple[str, str, Callable[[TimeSeries], list[Finding]], str]]:
    from ...assess.anomaly import AnomalyDetector, AutoencoderDetector, IsolationForestDetector
    from ..baselines import eeg_detect as peers

    return [
        (
            "anomaly.iforest",
            "ours",
            lambda ts: IsolationForestDetector(random_state=seed).detect(ts).events,
            "isolation forest on standardised window features, fitted on the recording",
        ),
        (
            "anomaly.autoencoder",
            "ours",
            lambda ts: AutoencoderDetector(random_state=seed).detect(ts).events,
            "dense autoencoder reconstruction error, trained on the recording",
        ),
        (
            "anomaly (combined)",
            "ours",
            lambda ts: AnomalyDetector(random_state=seed).detect(ts).events,
            "mean of the two robust z-scores",
        ),
        (
            "mne.annotate_amplitude",
            "peer",
            # One-sample min_duration so single jumps count; flat off, since one-sample
            # "flat" spans then fire everywhere (flat spans are not this task's kinds).
            lambda ts: (
                peers.mne_annotate_amplitude(
                    ts, flat=None, min_duration=1.0 / ts.sampling_rate
                ).events
            ),
            "MNE-Python annotate_amplitude (peak=50 µV/sample, flat off, min_duration one sample)",
        ),
        (
            "ptp_zscore",
            "baseline",
            ptp_zscore,
            f"robust z of log peak-to-peak per channel-window > {PTP_Z:g} (1 s, hop 0.5 s)",
        ),
    ]


def _evaluate(recordings: list[dict[str, Any]], outputs: list[list[Finding]]) -> dict[str, Any]:
    hits = {k: [0, 0] for k in UNSEEN_KINDS}
    n_pred = n_matched = n_false = 0
    clean_minutes = 0.0
    for rec, events in zip(recordings, outputs, strict=True):
        truth = rec["truth"]
        events = merge_close(events)
        match = match_events(truth, events, by_kind=False)
        matched = {i for i, _ in match.pairs}
        for i, t in enumerate(truth):
            hits[t.extras["injected"]][0] += i in matched
            hits[t.extras["injected"]][1] += 1
        n_pred += len(events)
        n_matched += match.tp
        n_false += sum(
            1
            for e in events
            if not any(min(e.offset, t.offset) > max(e.onset, t.onset) for t in truth)
        )
        clean_minutes += (rec["duration"] - sum(t.duration for t in truth)) / 60.0
    out: dict[str, Any] = {}
    for kind, (got, total) in hits.items():
        out[f"recall_{kind}"] = got / total if total else float("nan")
    out["fa_per_min"] = n_false / clean_minutes
    out["precision"] = n_matched / n_pred if n_pred else float("nan")
    out["n_pred"] = n_pred
    return out


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Run our anomaly detectors and the baselines on the suite; return the table."""
    recordings = suite(quick, seed)
    result = BenchResult(
        task="anomaly",
        quick=quick,
        seed=seed,
        description="unseen artifact kinds (square-wave glitches, sinusoidal bursts) in clean "
        "simulated EEG, held-out seeds",
        params={
            "recordings": [
                {
                    "n_channels": r["data"].n_channels,
                    "sampling_rate": r["data"].sampling_rate,
                    "duration_s": r["duration"],
                    "seed": r["seed"],
                    "glitches": sum(t.extras["injected"] == "glitch" for t in r["truth"]),
                    "bursts": sum(t.extras["injected"] == "burst" for t in r["truth"]),
                }
                for r in recordings
            ],
            "min_overlap": 0.5,
            "ranges": _RANGES,
        },
        columns=["recall_glitch", "recall_burst", "fa_per_min", "precision", "n_pred"],
        notes=[
            "Goal (issue 4): recall_glitch >= 0.80 at fa_per_min <= 1.",
            "fa_per_min: merged predicted events overlapping no injected event, per minute of "
            "recording outside the injected events.",
            "Thresholds of ours and of ptp_zscore were set on seeds < 10000 (tune()).",
        ],
    )
    for name, kind, fn, source in _methods(seed):
        row = run_method(
            name,
            lambda fn=fn: [fn(r["data"]) for r in recordings],
            lambda out: _evaluate(recordings, out),
            kind=kind,
            source=source,
            debug=debug,
        )
        result.rows.append(row)
    return result


def tune(
    seeds: Sequence[int] = range(6),
    budget: float = 0.3,
    n_channels: int = 64,
    duration: float = 180.0,
) -> dict[str, float]:
    """Thresholds that hold ``budget`` false alarms per minute on clean training EEG.

    For each method, the lowest robust-z threshold (on a 0.25 grid) at which clean
    recordings (``simulate_eeg(artifacts=None)``, ``seeds`` all < 10 000) yield at most
    ``budget`` events per minute, pooled.

    Parameters
    ----------
    seeds : sequence of int
        Training seeds, each < 10 000. default: 0-5.
    budget : float
        False alarms per minute to hold (below the goal of 1, for margin). default: 0.3.
    n_channels, duration : int, float
        Of each recording (more channels, more chances of a false alarm). default: 64, 180.

    Returns
    -------
    dict
        Method key (``"iforest"``, ``"autoencoder"``, ``"mean"``, ``"max"``, ``"min"``,
        ``"ptp_zscore"``) to threshold.
    """
    from ...assess.anomaly import AnomalyDetector, AutoencoderDetector, IsolationForestDetector
    from ...assess.base import runs
    from ...assess.features import window_features
    from ...simulate import simulate_eeg

    if any(s >= SEED_OFFSET for s in seeds):
        raise ParameterError(f"tune() uses training seeds only; keep them below {SEED_OFFSET}.")
    grid = np.arange(2.0, 40.0, 0.25)
    maxima: dict[str, list[np.ndarray]] = {}
    minutes = 0.0
    for s in seeds:
        ts = simulate_eeg(n_channels, duration, 256.0, artifacts=None, seed=s).data
        minutes += duration / 60.0
        wf = window_features(ts, window=1.0, hop=0.5)
        dets: dict[str, Any] = {
            "iforest": IsolationForestDetector(),
            "autoencoder": AutoencoderDetector(),
            **{c: AnomalyDetector(combine=c) for c in ("mean", "max", "min")},
        }
        for key, det in dets.items():
            maxima.setdefault(key, []).append(det.score(ts, features=wf).z.max(axis=1))
        x = np.log(wf["ptp"] + 1e-30)
        med = np.median(x, axis=0)
        mad = np.maximum(1.4826 * np.median(np.abs(x - med), axis=0), 1e-3)
        maxima.setdefault("ptp_zscore", []).append(((x - med) / mad).max(axis=1))
    out = {}
    for key, per_rec in maxima.items():
        for thr in grid:
            count = sum(sum(1 for _ in runs(m > thr)) for m in per_rec)
            if count / minutes <= budget:
                out[key] = float(thr)
                break
    return out
