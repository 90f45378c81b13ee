"""``fix()``: correct a recording step by step and account for every change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..core.arrays import zero_nonfinite
from ..core.errors import DataValueError, EmptyRecordingError, ParameterError
from ..core.imaging import Movie, VolumeSeries
from ..core.provenance import CorrectionLog
from ..core.timeseries import TimeSeries
from ..integrations import as_series
from .base import EnergyTally, Float32Rows, Step, corrected_series

__all__ = ["STEPS", "account", "fix", "residual"]

#: Step name → class, in the order fix() runs them: gaps first (filters must not see NaN),
#: then bad channels (so the line-noise filter is fitted on repaired data), then mains, then
#: movement (a slow wave the remover was not trained on), then the learned artifact remover
#: (trained on mains-free mixtures).
STEPS: dict[str, str] = {
    "gaps": "impute:GapFiller",
    "channels": "channels:ChannelRepair",
    "line": "line_noise:LineNoiseRemover",
    "movement": "movement:MovementRemover",
    "artifacts": "artifacts:ArtifactRemover",
}
_PLANNED: dict[str, str] = {}


def _build(name: str, options: dict[str, Any]) -> Step:
    import importlib

    module, cls = STEPS[name].split(":")
    return getattr(importlib.import_module(f"neurolint.correct.{module}"), cls)(**options)


def _parse_steps(steps: Sequence[str] | str) -> list[str]:
    names = [s.strip() for s in steps.split(",")] if isinstance(steps, str) else list(steps)
    names = [n for n in names if n]
    for n in names:
        if n in _PLANNED:
            raise ParameterError(f"Step {n!r}: {_PLANNED[n]}.")
        if n not in STEPS:
            raise ParameterError(f"Unknown step {n!r}; choose from {', '.join(STEPS)}.")
    if not names:
        raise ParameterError(f"No steps given; choose from {', '.join(STEPS)}.")
    return [n for n in STEPS if n in names]


def require_timeseries(data: Any) -> None:
    """Refuse, with what to do instead, anything :func:`fix` cannot correct.

    Raises
    ------
    ParameterError
        ``data`` is not a :class:`TimeSeries` (a movie or an fMRI run is assessed only).
    """
    if isinstance(data, TimeSeries):
        return
    if isinstance(data, (Movie, VolumeSeries)):
        what = "an imaging movie" if isinstance(data, Movie) else "an fMRI run (volumes)"
        raise ParameterError(
            f"fix corrects time series (EEG, MEG, LFP, extracellular); this is {what}: "
            "assess it with neurolint check instead."
        )
    raise ParameterError(
        f"fix() needs a neurolint TimeSeries, got {type(data).__name__}; read the file "
        "with neurolint.read or wrap the array with neurolint.TimeSeries."
    )


def fix(
    data: TimeSeries,
    qc: Any = None,
    *,
    steps: Sequence[str] | str = ("gaps", "channels", "line", "movement", "artifacts"),
    options: dict[str, dict[str, Any]] | None = None,
    chunk_duration: float = 30.0,
    progress_bar: bool = False,
    account_now: bool = True,
) -> tuple[TimeSeries, CorrectionLog]:
    """Correct a recording: fill gaps, repair bad channels, remove line noise and artifacts.

    Parameters
    ----------
    data : TimeSeries | mne.io.Raw | spikeinterface recording
        The recording (MNE and SpikeInterface ones are wrapped as :func:`check` does).
        Never modified.
    qc : QCResult | None
        Assessment of ``data`` from :func:`neurolint.check`: its bad channels are repaired
        and its ocular, muscle and movement findings cleaned (heartbeats too when
        ``options["artifacts"]["kinds"]`` lists ``"ecg"``). default: ``None`` (then no channel is
        repaired unless ``options["channels"]["bads"]``, and the artifact step is skipped
        unless ``options["artifacts"]["where"] = "everywhere"``).
    steps : sequence of str | str
        Names from :data:`STEPS` (comma-separated string accepted); they always run in the
        order of :data:`STEPS`. default: all.
    options : dict | None
        Per-step constructor options, e.g. ``{"line": {"method": "notch"}}``.
    chunk_duration : float
        Seconds per block of the accounting pass. default: 30.
    progress_bar : bool
        Show progress of the accounting pass. default: ``False``.
    account_now : bool
        Compute the log's energy figures with one pass now. With ``False`` the log has
        none until the output has been read through once (e.g. written), then
        :func:`account` fills them without a second pass. default: ``True``.

    Returns
    -------
    corrected : TimeSeries
        Lazy, with ``data``'s metadata: samples are corrected block by block when read, so
        writing it streams.
    log : CorrectionLog
        Per step: method, parameters, where it acted, the fraction of each channel's energy
        it removed, or why it was skipped.
    """
    data = as_series(data)
    require_timeseries(data)
    if data.n_samples == 0:
        raise EmptyRecordingError("The recording has no samples; nothing to correct.")
    names = _parse_steps(steps)
    options = options or {}
    unknown = sorted(set(options) - set(STEPS))
    if unknown:
        raise ParameterError(f"options for unknown step(s) {', '.join(unknown)}.")
    fitted: list[Step] = []
    current = data
    for name in names:
        step = _build(name, dict(options.get(name, {})))
        step.fit(current, qc)
        fitted.append(step)
        current = corrected_series(data, fitted)
    log = CorrectionLog(
        steps=[s.log() for s in fitted],
        source=data.source,
        meta={"neurolint": __version__, "steps": names},
    )
    tally = EnergyTally([s.name for s in fitted if s.active], data.n_channels)
    current = corrected_series(data, fitted, tally)
    if account_now:
        from ..core.chunks import chunk_samples, iter_chunks

        size = chunk_samples(chunk_duration, data.sampling_rate, data.n_channels)
        for _ in iter_chunks(current, chunk_size=size, progress_bar=progress_bar):
            pass
        account(log, current)
    return current, log


def account(log: CorrectionLog, corrected: TimeSeries) -> bool:
    """Fill ``log``'s energy figures from a corrected series that has been read through once.

    For ``fix(..., account=False)``: writing the output streams every sample once, and the
    series counts what each step removed as it goes, so no second pass is needed.

    Returns
    -------
    bool
        ``True`` if every sample was counted (and the log was filled), else ``False``.
    """
    tally = getattr(corrected._data, "tally", None)
    if tally is None or tally.until < corrected.n_samples:
        return False
    energy = tally.fractions(list(corrected.ch_names))
    for entry in log.steps:
        if entry.skipped is None and entry.name in energy:
            entry.energy_removed = energy[entry.name]
    return True


def residual(data: TimeSeries, corrected: TimeSeries) -> TimeSeries:
    """What a correction removed, ``data - corrected``, as a lazy series (same metadata).

    Adding it back to ``corrected`` restores ``data`` (where both are finite).
    """
    if data.shape != corrected.shape:
        raise DataValueError(
            f"data {data.shape} and corrected {corrected.shape} differ in shape; pass the "
            "recording fix() was given and its output."
        )
    return TimeSeries(
        _Difference(data, corrected),
        data.sampling_rate,
        data.channels,
        modality=data.modality,
        # The input's metadata (Info, clock, annotations): it lines up with data in MNE.
        meta={**dict(data.meta or {}), "residual_of": data.source},
    )


@dataclass
class _Difference(Float32Rows):
    a: TimeSeries
    b: TimeSeries

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key
        start, stop = self._span(cols, self.shape[1])
        with np.errstate(invalid="ignore"):  # inf - inf where a gap stayed
            diff = self.a.get_data(start, stop) - self.b.get_data(start, stop)
        return zero_nonfinite(diff[rows])  # float32 already; what is not finite reads as 0
