"""What goes into a report, worked out from the results (no HTML here).

Reading the recording is bounded: spectra average at most ``_MAX_SEGMENTS`` 4 s segments
spread over the file, and example segments read a few seconds each, so a report of an hour
costs about as much as one of a minute.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import NeurolintError
from ..core.findings import Finding, QCResult
from ..correct.artifacts import COVERED
from . import _figures as fig

__all__ = [
    "bad_channel_rows",
    "choose_examples",
    "example_figures",
    "grade",
    "kind_rows",
    "log_rows",
    "mean_spectrum",
    "trace_figures",
    "versions",
]

_MAX_SEGMENTS = 48
_MAX_CHANNELS = 64
_SEGMENT_S = 4.0
# Kinds that are episodes over long stretches: poor examples of what an artifact looks like.
_EPISODES = ("line_noise", "ecg", "flat", "noisy_channel", "bridged")


def grade(score: float) -> str:
    """A (90+) to F (under 60), as a lab would read a score out of 100."""
    for letter, bar in (("A", 90), ("B", 80), ("C", 70), ("D", 60)):
        if score >= bar:
            return letter
    return "F"


def kind_rows(qc: QCResult) -> list[dict[str, Any]]:
    """Per kind: count, total seconds, share of the recording, colour; most time first."""
    rows: dict[str, dict[str, Any]] = {}
    for e in qc.events:
        row = rows.setdefault(e.kind, {"kind": e.kind, "count": 0, "seconds": 0.0})
        row["count"] += 1
        row["seconds"] += e.duration
    for row in rows.values():
        row["percent"] = 100 * row["seconds"] / qc.duration if qc.duration else 0.0
        row["colour"] = fig.kind_colour(row["kind"])
    return sorted(rows.values(), key=lambda r: (-r["seconds"], r["kind"]))


def bad_channel_rows(qc: QCResult) -> list[dict[str, Any]]:
    """Bad channels with their reasons and scores (rounded for reading)."""
    return [
        {
            "name": c.name,
            "type": c.type,
            "reasons": ", ".join(c.reasons),
            "scores": _scores(c.scores),
        }
        for c in qc.channels
        if c.is_bad
    ]


def _scores(scores: dict[str, float]) -> str:
    """``rms_ratio 9.5 (threshold 5)``: each feature with its threshold, detector prefix
    dropped when every score shares it."""
    prefixes = {k.split(".", 1)[0] for k in scores if "." in k}
    strip = len(prefixes) == 1 and all("." in k for k in scores)
    plain = {k.split(".", 1)[1] if strip else k: v for k, v in scores.items()}
    parts = []
    for key, value in sorted(plain.items()):
        if key.startswith("threshold_"):
            continue
        text = f"{key} {value:.3g}"
        if f"threshold_{key}" in plain:
            text += f" (threshold {plain[f'threshold_{key}']:.3g})"
        parts.append(text)
    return ", ".join(parts)


def mean_spectrum(ts: Any, picks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectrum averaged over segments spread through ``ts``, median over ``picks``.

    Segments holding NaN (gaps) are left out; ``(freqs, psd)`` with ``psd`` NaN when none
    is complete.
    """
    from scipy.signal import welch

    sfreq = float(ts.sampling_rate)
    # Bounded reading on probes too: at most 64 channels, evenly spread, and 2^16 samples
    # (2 s at 30 kHz) per segment.
    picks = list(picks)
    if len(picks) > _MAX_CHANNELS:
        picks = [picks[i] for i in np.linspace(0, len(picks) - 1, _MAX_CHANNELS).astype(int)]
    n = min(ts.n_samples, round(_SEGMENT_S * sfreq), 2**16)
    count = max(1, min(_MAX_SEGMENTS, ts.n_samples // max(n, 1)))
    starts = np.linspace(0, ts.n_samples - n, count).astype(int)
    nper = min(n, round(2 * sfreq), 2**14)
    total, used, freqs = None, 0, None
    for s in starts:
        x = ts.get_data(int(s), int(s) + n, channels=picks).astype(np.float64)
        if not np.isfinite(x).all():
            continue
        freqs, p = welch(x, sfreq, nperseg=nper, axis=1)
        total = p if total is None else total + p
        used += 1
    if total is None:
        freqs = np.fft.rfftfreq(nper, 1 / sfreq)
        return freqs, np.full(len(freqs), np.nan)
    return freqs, np.median(total / used, axis=0)


def choose_examples(qc: QCResult, max_n: int = 3, prefer: Sequence[str] = ()) -> list[int]:
    """Indices of findings worth showing: one per kind, the most confident of each; kinds
    in ``prefer`` (those a correction acted on) first, long episodes last."""
    best: dict[str, int] = {}
    for i, e in enumerate(qc.events):
        j = best.get(e.kind)
        if j is None or e.confidence > qc.events[j].confidence:
            best[e.kind] = i
    order = sorted(
        best.values(),
        key=lambda i: (qc.events[i].kind not in prefer, qc.events[i].kind in _EPISODES, i),
    )
    return sorted(order[:max_n], key=lambda i: qc.events[i].onset)


def _example_channels(qc: QCResult, e: Finding, names: list[str], a: float, z: float) -> list:
    chans = [names.index(c) for c in e.channels if c in names][:3]
    if chans:
        return chans
    if qc.quality is not None and qc.window_duration:
        w0 = int(a / qc.window_duration)
        w1 = max(w0 + 1, int(np.ceil(z / qc.window_duration)))
        worst = np.argsort(qc.quality[w0:w1].min(axis=0), kind="stable")[:3]
        return [int(i) for i in worst]
    return list(range(min(3, len(names))))


def example_figures(
    qc: QCResult, data: Any, corrected: Any = None, max_n: int = 3
) -> list[dict[str, Any]]:
    """Figures of a few findings before and after correction, with attributions for
    learned findings."""
    out = []
    names = list(data.ch_names)
    sfreq = float(data.sampling_rate)
    # Kinds the correction removes first, so the examples show a before and an after.
    prefer = COVERED if corrected is not None else ()
    for i in choose_examples(qc, max_n, prefer):
        e = qc.events[i]
        half = min(5.0, max(2.0, e.duration / 2 + 1.0))
        centre = e.onset + e.duration / 2
        a = max(0.0, centre - half)
        z = min(data.duration, centre + half)
        s0, s1 = int(a * sfreq), max(int(a * sfreq) + 2, int(z * sfreq))
        chans = _example_channels(qc, e, names, a, z)
        before = data.get_data(s0, s1, channels=chans)
        after = corrected.get_data(s0, s1, channels=chans) if corrected is not None else None
        times = (s0 + np.arange(s1 - s0)) / sfreq
        attribution, note = _attribution(qc, i, data, names[chans[0]], times)
        out.append(
            {
                "title": f"{e.kind} at {e.onset:.2f} s ({e.duration:.2f} s), "
                f"confidence {e.confidence:.2f}, {e.detector}",
                "channels": [names[c] for c in chans],
                "image": fig.segment_figure(
                    times,
                    [names[c] for c in chans],
                    before,
                    after,
                    (e.onset, e.duration, e.kind),
                    attribution,
                ),
                "why": _why(qc, i) or note,
            }
        )
    return out


def _why(qc: QCResult, index: int) -> str:
    e = qc.events[index]
    x = e.extras
    if "feature" in x:
        value, threshold = x.get("value"), x.get("threshold")
        text = f"rule: {x['feature']}"
        if isinstance(value, (int, float)) and isinstance(threshold, (int, float)):
            text += f" = {value:.3g} against threshold {threshold:.3g}"
        return text
    if e.kind == "anomaly" and "score" in x:
        text = f"{e.detector}: score {x['score']:.3g} against threshold {x.get('threshold', 0):.3g}"
        features = x.get("features") or {}
        if features:
            text += "; most unusual: " + ", ".join(f"{k} {v:.3g}" for k, v in features.items())
        return text
    return ""


def _attribution(
    qc: QCResult, index: int, data: Any, channel: str, times: np.ndarray
) -> tuple[np.ndarray | None, str]:
    """The learned detector's integrated-gradients attribution on the shown channel."""
    e = qc.events[index]
    if e.detector != "learned" or "model" not in e.extras:
        return None, ""  # only the learned classifier has gradients to attribute
    try:
        ex = qc.explain(index, data=data)
    except (NeurolintError, RuntimeError, ValueError) as err:
        # An explanation is a bonus: the report says why it is missing and goes on.
        return None, f"no attribution ({type(err).__name__})"
    attr = np.asarray(ex.get("attribution"))
    if attr.ndim != 2 or ex.get("channel") != channel:
        return None, ""
    # Input rows are the channel's sample features then its neighbours': take the channel.
    trace = np.abs(attr[0])
    at = np.interp(times, ex["times"], trace, left=0.0, right=0.0)
    p = ex.get("probability")
    note = f"learned: p={p:.2f}; shaded band = attribution (integrated gradients)"
    return at, note


def log_rows(log: Any) -> list[dict[str, Any]]:
    """One row per correction step: what, how, where, how much."""
    rows = []
    for step in log.steps:
        energy = step.energy_removed
        worst = max(energy, key=energy.get) if energy else None
        rows.append(
            {
                "name": step.name,
                "method": step.method,
                "skipped": step.skipped or "",
                "regions": len(step.regions),
                "energy": f"mean {100 * np.mean(list(energy.values())):.2f}%, "
                f"max {100 * energy[worst]:.1f}% ({worst})"
                if worst is not None
                else "",
                "parameters": ", ".join(
                    f"{k}={_short(v)}"
                    for k, v in step.parameters.items()
                    if not isinstance(v, dict)
                ),
            }
        )
    return rows


def _short(value: Any, items: int = 6) -> str:
    """A parameter for a table cell: long lists cut to their first ``items``."""
    if isinstance(value, (list, tuple)) and len(value) > items:
        shown = ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in value[:items])
        return f"[{shown}, ... {len(value)} in all]"
    return str(value)


# (detector, trace key, title, legend label, y label) of the traces drawn against time.
_TRACES = (
    ("imaging", "frame_quality", "Frame quality (1 = good)", "quality", "quality"),
    ("fmri", "dvars", "DVARS", "DVARS", "DVARS"),
    ("fmri", "fd", "Framewise displacement", "FD", "mm"),
)
_MAPS = (
    ("imaging", "snr_map", "SNR map", "per-pixel SNR"),
    ("fmri", "tsnr_map", "tSNR map", "tSNR"),
)


def trace_figures(qc: QCResult) -> list[dict[str, str]]:
    """Motion, frame-quality and SNR map for movies; DVARS, FD and tSNR map for fMRI."""
    out: list[dict[str, str]] = []
    marks = [e.onset for e in qc.events if e.kind in ("motion", "gap", "intensity_spike")]
    motion = qc.traces.get("imaging", {}).get("motion")
    if motion is not None:
        m = np.asarray(motion, dtype=np.float64).reshape(len(motion), -1)
        t = np.arange(len(m)) / qc.sampling_rate
        lines = {"rows": m[:, 0], "columns": m[:, 1]} if m.shape[1] > 1 else {"shift": m[:, 0]}
        out.append({"title": "Motion (pixels)", "image": fig.trace_figure(t, lines, "px")})
    for detector, key, title, label, ylabel in _TRACES:
        values = qc.traces.get(detector, {}).get(key)
        if values is not None:
            y = np.asarray(values, dtype=np.float64)
            t = np.arange(len(y)) / qc.sampling_rate
            out.append({"title": title, "image": fig.trace_figure(t, {label: y}, ylabel, marks)})
    for detector, key, title, caption in _MAPS:
        image = qc.traces.get(detector, {}).get(key)
        if image is not None:
            out.append({"title": title, "image": fig.image_map(image, caption)})
    return out


def versions() -> dict[str, Any]:
    """neurolint, its shipped models (with weight hashes) and the libraries under it."""
    import neurolint

    from ..models.registry import MODELS, load_card

    models = {}
    for name in MODELS:
        try:
            card = load_card(name)
            models[name] = str(card.get("weights_sha256", ""))[:12]
        except (NeurolintError, OSError, ValueError):  # reported as such, not fatal
            models[name] = "card missing"
    libs = {}
    for lib in ("numpy", "scipy", "mne", "torch", "matplotlib"):
        try:
            libs[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            libs[lib] = "not installed"
    return {"neurolint": neurolint.__version__, "models": models, "libraries": libs}
