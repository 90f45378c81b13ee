"""The HTML quality report: one self-contained page per recording.

:func:`report` writes it; :func:`build_report` returns it as a string. The page embeds its
plots as PNG data, needs no network, and escapes every string that came from a file.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import QCResult

__all__ = ["build_report", "report"]


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _header(qc: QCResult, data: Any, source: str | None) -> dict[str, Any]:
    from ._content import grade

    path = source or qc.source or ""
    covered = sum(e.duration for e in qc.events)
    modality = getattr(data, "modality", None) if data is not None else None
    if modality is None:
        modality = "imaging" if "imaging" in qc.traces else "fMRI" if "fmri" in qc.traces else ""
        modality = modality or ("EEG" if qc.channels else "recording")
    modality = _MODALITY_NAMES.get(str(modality).lower(), str(modality))
    return {
        "file": Path(path).name if path else "recording",
        "path": path or "(in memory)",
        "modality": str(modality),
        "duration": _duration(qc.duration),
        "size": _size(qc, data),
        "sampling_rate": f"{qc.sampling_rate:g} Hz",
        "score": float(qc.score),
        "grade": grade(float(qc.score)),
        "n_bad": len(qc.bad_channels),
        "n_events": len(qc.events),
        "event_percent": min(100.0, 100 * covered / qc.duration) if qc.duration else 0.0,
    }


_MODALITY_NAMES = {
    "eeg": "EEG",
    "meg": "MEG",
    "ieeg": "iEEG",
    "ephys": "extracellular",
    "lfp": "LFP",
    "fmri": "fMRI",
}


def _size(qc: QCResult, data: Any) -> str:
    """What the recording is made of: channels, or pixels/voxels per frame."""
    if qc.channels:
        return f"{len(qc.channels)} channels"
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) in (3, 4):
        what = "pixels" if len(shape) == 3 else "voxels"
        return f"{shape[0]} frames of {' x '.join(str(n) for n in shape[1:])} {what}"
    return "frames"


def _is_timeseries(data: Any) -> bool:
    return data is not None and hasattr(data, "ch_names") and hasattr(data, "get_data")


def build_report(
    qc: QCResult,
    data: Any = None,
    *,
    corrected: Any = None,
    log: Any = None,
    source: str | None = None,
    command: str | None = None,
) -> str:
    """The report of one recording as a self-contained HTML string.

    Parameters
    ----------
    qc : QCResult
        The assessment (from :func:`neurolint.check` or ``QCResult.from_json``).
    data : TimeSeries | None
        The checked recording: adds power spectra, example segments and, for learned
        findings, their attributions. default: ``None`` (results only).
    corrected : TimeSeries | None
        The corrected recording from :func:`neurolint.fix`: spectra and examples then show
        before and after, with what was removed. default: ``None``.
    log : CorrectionLog | None
        The correction's log, shown as a table. default: ``None``.
    source : str | None
        The recording's path, shown in the header. default: ``qc.source``.
    command : str | None
        The command or call that produced the report, for provenance. default: a
        ``neurolint.report(...)`` call.

    Returns
    -------
    str
        The HTML page.
    """
    from . import _content as content
    from . import _figures as fig
    from ._page import render

    if not isinstance(qc, QCResult):
        raise ParameterError(f"qc must be a QCResult (from neurolint.check); got {type(qc)}.")
    series = _is_timeseries(data)
    names = [c.name for c in qc.channels]
    if series:
        _check_matches(qc, data, "data")
    if _is_timeseries(corrected):
        _check_matches(qc, corrected, "corrected")
    bad = qc.bad_channels
    context: dict[str, Any] = {
        "header": _header(qc, data, source),
        "bad_rows": content.bad_channel_rows(qc),
        "kind_rows": content.kind_rows(qc),
        "sensor_map": None,
        "heatmap": None,
        "spectra": None,
        "examples": [],
        "traces": content.trace_figures(qc),
        "log_rows": content.log_rows(log) if log is not None else [],
        "versions": content.versions(),
        "command": command or "neurolint.report(qc, ...)",
        "written": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if qc.quality is not None and qc.window_duration and len(qc.quality):
        context["heatmap"] = fig.quality_heatmap(
            qc.quality, qc.window_duration, names, bad, qc.events, qc.duration
        )
    if series:
        pos = data.channels.positions
        if pos is not None and len(names) == data.n_channels:
            known = np.isfinite(pos).all(axis=1)
            if known.sum() >= 3:
                context["sensor_map"] = fig.sensor_map(
                    pos[known], [n for n, k in zip(names, known, strict=True) if k], bad
                )
        good = [i for i, n in enumerate(data.ch_names) if n not in set(bad)]
        if good:
            freqs, before = content.mean_spectrum(data, good)
            curves = {"before": before}
            if _is_timeseries(corrected):
                curves["after"] = content.mean_spectrum(corrected, good)[1]
            finite = {k: v for k, v in curves.items() if np.isfinite(v).any()}
            if finite and len(freqs) > 2:
                unit = _unit(qc)
                context["spectra"] = fig.spectra_figure(freqs, finite, unit)
        if qc.events:
            context["examples"] = content.example_figures(
                qc, data, corrected if _is_timeseries(corrected) else None
            )
    return render(context)


def _check_matches(qc: QCResult, ts: Any, what: str) -> None:
    """The results must describe this recording: same channels, same length."""
    if list(ts.ch_names) != [c.name for c in qc.channels] or abs(
        ts.duration - qc.duration
    ) > 2.0 / float(ts.sampling_rate):
        raise ParameterError(
            f"{what} ({ts.n_channels} channels, {ts.duration:.1f} s) is not the recording "
            f"these results describe ({len(qc.channels)} channels, {qc.duration:.1f} s); "
            "pass the recording that was checked."
        )


def _unit(qc: QCResult) -> str:
    units = qc.meta.get("units") or []
    return str(units[0]) if units and len(set(units)) == 1 else "unit"


def report(
    qc: QCResult,
    path: str | Path,
    data: Any = None,
    *,
    corrected: Any = None,
    log: Any = None,
    source: str | None = None,
    command: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the HTML report of one recording (atomically; never over a file unless asked).

    Parameters
    ----------
    qc, data, corrected, log, source, command
        As in :func:`build_report`.
    path : str | Path
        The ``.html`` file to write.
    overwrite : bool
        Replace an existing file. default: ``False``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from ..io._atomic import atomic_path, check_writable

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"{path} must end in .html: the report is one HTML page.")
    check_writable(path, overwrite)
    page = build_report(qc, data, corrected=corrected, log=log, source=source, command=command)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
