"""``check()``: run the detectors that suit a recording and merge them into one QCResult."""

from __future__ import annotations

import importlib
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

import numpy as np

from .. import __version__
from ..core.chunks import job_options
from ..core.errors import DataValueError, EmptyRecordingError, ParameterError
from ..core.findings import ChannelStatus, Finding, QCResult
from ..core.imaging import Movie, VolumeSeries
from ..core.threads import core_budget, holding_core, torch_threads
from ..core.timeseries import TimeSeries
from ..integrations import as_series
from .base import Detection
from .features import shared_features

__all__ = ["DETECTORS", "check", "default_detectors"]

log = logging.getLogger("neurolint")

#: Detector name → "module:class" under neurolint.assess (imported when used).
DETECTORS = {
    "rules": "rules:RuleDetector",
    "learned": "learned:LearnedDetector",
    "anomaly": "anomaly:AnomalyDetector",
    "ephys": "ephys:EphysDetector",
    "imaging": "imaging:MovieDetector",
    "fmri": "fmri:FmriDetector",
}

#: For EEG, which detectors' findings of each kind check() keeps when both ran: the best of
#: rules, learned or both, by event F1 on 24 validation recordings, seeds 9000-9005 and
#: 9020-9037 (``neurolint.bench.tasks.detect_tuning.choose_sources()``, rerun after retraining or
#: changing a rule); kinds not listed keep every detector. ECG comes from the rules: the
#: learned detector does not report it (its card's ``not_reported``). Muscle keeps both
#: (chosen so; the validation recordings run at 256 and 500 Hz, and on real EEG at 128 Hz,
#: ``eeglab_data``, the learned detector reports no muscle at all).
KIND_SOURCES: dict[str, tuple[str, ...]] = {
    "blink": ("learned",),
    "saccade": ("rules",),
    "muscle": ("rules", "learned"),
    "pop": ("rules", "learned"),
    "movement": ("learned",),
    "saturation": ("learned",),
    "gap": ("rules",),
    "ecg": ("rules",),
    "line_noise": ("rules",),
}

EPHYS_MIN_RATE = 5000.0  # Hz; the same floor as assess.ephys.MIN_SAMPLING_RATE

_EEG_LIKE = {"eeg", "meg", "eog", "ecg", "emg", "seeg", "ecog", "lfp", "misc"}


def default_detectors(data: Any) -> list[str]:
    """The detectors ``check`` runs on ``data`` by default (see :func:`_not_run` for why a
    detector is left out)."""
    if isinstance(data, Movie):
        return ["imaging"]
    if isinstance(data, VolumeSeries):
        return ["fmri"]
    types = set(data.channels.types)
    # Probes often come typed "misc"; a spike-band rate is what tells them from EEG.
    if data.sampling_rate >= EPHYS_MIN_RATE and (types <= {"ephys", "misc"} or "ephys" in types):
        return ["ephys"]
    if types & _EEG_LIKE or not types:
        return [n for n in ("rules", "learned", "anomaly") if n not in _not_run(data)]
    return ["rules"]


def _not_run(data: Any) -> dict[str, str]:
    """Default detectors that cannot run on ``data``, with why: the learned classifier
    needs 100 Hz (muscle and mains); the rules and anomaly models work at any rate."""
    from .learned import MIN_RATE

    if data.sampling_rate < MIN_RATE:
        return {
            "learned": f"sampling_rate={data.sampling_rate:g} Hz is below the learned "
            f"detector's minimum of {MIN_RATE:g} Hz"
        }
    return {}


def _build(name: str, options: dict[str, Any]):
    if name not in DETECTORS:
        raise ParameterError(f"Unknown detector {name!r}; choose from {', '.join(DETECTORS)}.")
    module, cls = DETECTORS[name].split(":")
    return getattr(importlib.import_module(f"neurolint.assess.{module}"), cls)(**options)


#: Detectors that run torch models, and those that spread their work over ``n_jobs`` threads.
_TORCH_USERS = {"learned", "anomaly"}
_CHUNK_PARALLEL = {"learned", "anomaly", "ephys", "imaging", "fmri"}


def _with_jobs(name: str, options: dict[str, Any], cores: int) -> dict[str, Any]:
    """``options`` with ``n_jobs=cores`` for a chunk-parallel detector, unless given."""
    options = dict(options)
    if cores > 1 and name in _CHUNK_PARALLEL:
        options.setdefault("n_jobs", cores)
    return options


def _check_input(data: Any) -> None:
    if not isinstance(data, (TimeSeries, Movie, VolumeSeries)):
        raise ParameterError(
            f"check() takes a TimeSeries, Movie or VolumeSeries (from neurolint.read), not "
            f"{type(data).__name__}; wrap arrays with neurolint.TimeSeries (MNE Raw and "
            "SpikeInterface recordings are taken as they are)."
        )
    if data.n_times == 0:
        raise EmptyRecordingError("The recording has no samples; nothing to check.")
    if isinstance(data, TimeSeries) and data.n_channels == 0:
        raise EmptyRecordingError("The recording has no channels; nothing to check.")
    # A recording that is NaN or infinite throughout cannot be assessed; a sample read
    # from the start, middle and end tells without reading it all.
    n = data.n_times
    probes = [data.frame_slice(i, min(n, i + 64)) for i in (0, n // 2, max(0, n - 64))]
    values = [np.asarray(p.get_data() if hasattr(p, "get_data") else p.to_numpy()) for p in probes]
    if not any(np.isfinite(v).any() for v in values):
        raise DataValueError(
            "The recording holds no finite values (all NaN or infinite) where sampled; check "
            "the file and its scaling."
        )


def _merge_events(events: Sequence[Finding], min_overlap: float = 0.5) -> list[Finding]:
    """Findings of one kind from several detectors that overlap become one.

    Kept: the extent of the most confident one, the union of channels, the highest
    confidence, and the detectors joined by ``+``. Gaps on different channels stay apart:
    each channel's dropped samples are a fact about it, exact to the sample.
    """
    merged: list[Finding] = []
    by_kind: dict[str, list[int]] = {}
    for event in sorted(events, key=lambda e: (-e.confidence, e.onset)):
        same = by_kind.setdefault(event.kind, [])
        for i in same:
            other = merged[i]
            overlap = min(other.offset, event.offset) - max(other.onset, event.onset)
            shorter = min(other.duration, event.duration)
            apart = (
                event.channels and other.channels and not set(event.channels) & set(other.channels)
            )
            if event.kind == "gap" and apart:
                continue
            if overlap > 0 and overlap >= min_overlap * shorter:
                detectors = sorted(set(other.detector.split("+")) | {event.detector})
                channels = other.channels
                if channels and event.channels:
                    channels = tuple(dict.fromkeys(channels + event.channels))
                else:
                    channels = ()
                merged[i] = replace(other, channels=channels, detector="+".join(detectors))
                break
        else:
            same.append(len(merged))
            merged.append(event)
    return sorted(merged, key=lambda e: (e.onset, e.kind))


def _merge_channels(names: Sequence[str], types: Sequence[str], results: Sequence[Detection]):
    verdicts: dict[str, dict[str, Any]] = {
        n: {"bad": False, "reasons": [], "scores": {}} for n in names
    }
    for result in results:
        for status in result.channels:
            slot = verdicts.get(status.name)
            if slot is None:
                continue
            slot["scores"].update({f"{result.detector}.{k}": v for k, v in status.scores.items()})
            if status.is_bad:
                slot["bad"] = True
                slot["reasons"].extend(r for r in status.reasons if r not in slot["reasons"])
    return [
        ChannelStatus(n, t, "bad" if v["bad"] else "good", tuple(v["reasons"]), v["scores"])
        for (n, t), v in zip(zip(names, types, strict=True), verdicts.values(), strict=True)
    ]


def _quality(results: Sequence[Detection], duration: float, n_channels: int):
    """The window x channel quality on the finest grid any detector used: the minimum."""
    graded = [r for r in results if r.quality is not None and r.window_duration]
    if not graded or n_channels == 0:
        return None, None
    step = min(r.window_duration for r in graded)
    n_windows = max(1, int(np.ceil(duration / step)))
    quality = np.ones((n_windows, n_channels), np.float32)
    centres = (np.arange(n_windows) + 0.5) * step
    for r in graded:
        q = np.asarray(r.quality, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != n_channels:
            continue
        index = np.clip((centres / r.window_duration).astype(int), 0, len(q) - 1)
        np.minimum(quality, q[index], out=quality)
    return quality, step


def _score(quality, channels: Sequence[ChannelStatus], events, duration: float) -> float:
    """0-100: the share of good channel-time, as the mean quality over good channels times
    the share of good channels (bad channels count as lost)."""
    n = len(channels)
    good = np.array([not c.is_bad for c in channels], bool) if n else np.ones(1, bool)
    if quality is not None and good.any():
        clean = float(quality[:, good].mean())
    else:
        # No grading: the share of time free of events.
        covered = np.zeros(max(1, int(np.ceil(duration * 10))), bool)
        for e in events:
            covered[int(e.onset * 10) : int(np.ceil(e.offset * 10))] = True
        clean = 1.0 - float(covered.mean())
    return round(100.0 * clean * float(good.mean()), 1)


def check(
    data: Any,
    *,
    detectors: Sequence[str] | str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    kind_sources: dict[str, Sequence[str]] | None = None,
    progress_bar: bool = False,
    n_jobs: int | None = None,
) -> QCResult:
    """Assess a recording: bad channels, artifact events with kinds, reasons and confidence.

    Parameters
    ----------
    data : TimeSeries | Movie | VolumeSeries | mne.io.Raw | spikeinterface recording
        From :func:`neurolint.read`; an MNE ``Raw`` or a one-segment SpikeInterface
        recording is wrapped with :func:`neurolint.from_mne` /
        :func:`neurolint.from_spikeinterface`. Never modified.
    detectors : sequence of str | str | None
        Names from :data:`DETECTORS` (comma-separated string accepted). default: ``None``
        (by modality: EEG-like → rules, learned, anomaly; ephys → ephys; movies →
        imaging; volumes → fmri).
    options : dict | None
        Per-detector constructor options, e.g. ``{"rules": {"line_freq": 50}}``.
    kind_sources : dict | None
        Kind → detectors whose findings of that kind are kept (when at least one of them
        ran). default: ``None`` (:data:`KIND_SOURCES`); ``{}`` keeps everything.
    progress_bar : bool
        Show which detector runs, on stderr. default: ``False``.
    n_jobs : int | None
        Detectors run side by side in this many threads (``-1``: one per core); they share
        one pass of window features. default: ``None`` (the global job options, 1).

    Returns
    -------
    QCResult
        Score 0-100, channel verdicts, merged events (overlapping findings of one kind from
        several detectors become one), a window x channel quality matrix and, in ``meta``,
        versions, timings and each detector's traces (motion, DVARS, SNR maps, ...).
    """
    data = as_series(data)
    _check_input(data)
    if isinstance(data, TimeSeries):  # infinite samples are missing ones, as NaN are
        data = data.inf_as_missing()
    names = default_detectors(data) if detectors is None else detectors
    not_run = _not_run(data) if detectors is None and isinstance(data, TimeSeries) else {}
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    options = options or {}
    unknown = sorted(set(options) - set(DETECTORS))
    if unknown:
        raise ParameterError(f"options for unknown detector(s) {', '.join(unknown)}.")
    # Every core the caller asked for goes to each detector's chunks (a lone detector too);
    # several detectors share them through the core budget.
    cores = job_options(n_jobs=n_jobs).workers
    workers = min(len(names), cores)
    built = [_build(name, _with_jobs(name, options.get(name, {}), cores)) for name in names]
    bar = _Stages(len(built), progress_bar)
    timings: dict[str, float] = {}

    def run(name: str, detector: Any) -> Detection:
        start = time.perf_counter()
        found = detector.fit(data).detect(data)
        timings[name] = round(time.perf_counter() - start, 3)
        return found

    # BLAS and torch on one thread per worker: ``n_jobs`` workers is all the cores asked for,
    # and their calls here are small. Spare threads spin waiting for a core that the
    # detectors' own threads (or other processes) keep busy: with one core taken, a 64 x 8192
    # matrix-vector product took 8 ms against 0.03 ms on one thread, and the CNN 3.5x longer.
    from threadpoolctl import threadpool_limits

    torch_users = _TORCH_USERS & set(names)
    with (
        shared_features(),
        threadpool_limits(1, user_api="blas"),
        torch_threads(1 if torch_users else None),
    ):
        if workers <= 1:
            _prime_features(data, built)
            results = []
            for name, detector in zip(names, built, strict=True):
                bar.start(name)
                results.append(run(name, detector))
                bar.advance()
        else:
            bar.start(", ".join(names))
            results = _run_in_threads(data, names, built, run, workers, bar)
    bar.stop()
    timings = {name: timings[name] for name in names}

    sources = KIND_SOURCES if kind_sources is None else kind_sources
    ran = {r.detector for r in results}
    known = [
        e
        for r in results
        if not r.detector.startswith("anomaly")
        for e in r.events
        if e.kind not in sources or not ran & set(sources[e.kind]) or r.detector in sources[e.kind]
    ]
    anomalies = [e for r in results if r.detector.startswith("anomaly") for e in r.events]
    if anomalies:
        from .anomaly import suppress_known

        anomalies = suppress_known(anomalies, known)
    events = _merge_events(known + anomalies)
    if isinstance(data, TimeSeries):
        ch_names, ch_types = list(data.ch_names), list(data.channels.types)
        units = list(data.channels.units)
    else:
        ch_names, ch_types, units = [], [], []
    channels = _merge_channels(ch_names, ch_types, results)
    quality, step = _quality(results, data.duration, len(ch_names))
    meta = {
        "neurolint": __version__,
        "detectors": [r.detector for r in results],
        "timings_s": timings,
        **({"not_run": not_run} if not_run else {}),
        "units": units,
    }
    # The channels the file itself marks bad (info['bads'], a BIDS channels.tsv): shown
    # beside the verdicts, which stay the detectors' own.
    marked = [b for b in (data.meta.get("bads") or []) if b in ch_names]
    if marked:
        meta["file_bads"] = marked
    return QCResult(
        score=_score(quality, channels, events, data.duration),
        sampling_rate=float(data.sampling_rate),
        duration=float(data.duration),
        channels=channels,
        events=events,
        quality=quality,
        window_duration=step,
        source=None if data.source is None else os.fspath(data.source),
        meta=meta,
        traces={r.detector: r.traces for r in results if r.traces},
    )


def _run_in_threads(data, names, built, run, workers, bar) -> list[Detection]:
    """Run detectors side by side; results in ``names`` order.

    The first detector that reads window features computes the shared pass first (the
    others that read them wait for it); the rest start at once, so the learned detector
    overlaps the feature pass instead of waiting behind it.
    """
    users = [i for i, d in enumerate(built) if hasattr(d, "feature_windows")]
    primed = threading.Event()

    def task(i: int) -> Detection:
        if users and i == users[0]:
            with holding_core():
                try:
                    _prime_features(data, built)
                finally:
                    primed.set()
                return run(names[i], built[i])
        if i in users:
            primed.wait()  # without a core: the feature pass needs it
        with holding_core():
            return run(names[i], built[i])

    order = users[:1] + [i for i in range(len(built)) if i not in users] + users[1:]
    # A thread per detector, ``workers`` cores between them (core_budget): a detector that
    # finishes early leaves its core to the chunks of the others.
    with (
        core_budget(workers),
        ThreadPoolExecutor(len(built), thread_name_prefix="neurolint-check") as pool,
    ):
        futures = {i: pool.submit(task, i) for i in order}
        for _ in as_completed(futures.values()):
            bar.advance()
        return [futures[i].result() for i in range(len(built))]


def _prime_features(data: Any, detectors: list[Any]) -> None:
    """Compute window features once at the finest hop several detectors need.

    Detectors that declare ``feature_windows(ts)`` then read theirs from the shared cache
    (a hop of 1 s is every other window of a hop of 0.5 s).
    """
    if not isinstance(data, TimeSeries) or data.n_times == 0:
        return
    from .features import window_features

    sfreq = data.sampling_rate
    hops: dict[int, list[int]] = {}
    for detector in detectors:
        for window, hop in getattr(detector, "feature_windows", lambda _ts: [])(data):
            hops.setdefault(round(window * sfreq), []).append(round(hop * sfreq))
    for length, steps in hops.items():
        if len(steps) > 1 and min(steps) >= 1:
            window_features(data, window=length / sfreq, hop=math.gcd(*steps) / sfreq)


class _Stages:
    """A progress bar over detectors (rich, on stderr), or nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.progress = None
        if enabled:
            from rich.progress import Progress

            self.progress = Progress(transient=True)
            self.progress.start()
            self.task = self.progress.add_task("checking", total=total)

    def start(self, name: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=f"checking: {name}")

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
