"""The table of benchmark tasks; each is imported only when it runs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import ParameterError

__all__ = ["TASKS", "Task", "get_task", "run_task"]


@dataclass(frozen=True)
class Task:
    """A benchmark task: ``target`` names ``"module:function"`` under ``neurolint.bench``.

    The function takes ``quick: bool, seed: int`` (and keyword options) and returns a
    :class:`~neurolint.bench.harness.BenchResult`.
    """

    name: str
    summary: str
    target: str
    issue: int

    def load(self) -> Callable:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f"neurolint.bench.{module}"), func)


TASKS: tuple[Task, ...] = (
    Task(
        "detect",
        "artifact events and bad channels on the EEG simulator (ours and peers)",
        "tasks.detect:run",
        3,
    ),
    Task(
        "detect_ecg",
        "cardiac episodes on 24 held-out simulated recordings, with and without an ECG lead",
        "tasks.detect_ecg:run",
        4,
    ),
    Task(
        "blinks",
        "real blinks in eeglab_data.set vs its EOG channels (shared data)",
        "tasks.blinks:run",
        4,
    ),
    Task(
        "anomaly",
        "unknown artifacts (square-wave glitches) flagged as anomaly; false alarms per minute",
        "tasks.anomaly:run",
        4,
    ),
    Task(
        "finetune",
        "learned detector on a shifted domain: pretrained, fine-tuned 1-10 min, in-domain",
        "tasks.finetune:run",
        4,
    ),
    Task(
        "detect_ephys",
        "bad channels and artifacts on simulated probes (SpikeInterface peers)",
        "tasks.detect_ephys:run",
        4,
    ),
    Task(
        "detect_imaging",
        "motion, blank frames and brightness spikes on simulated two-photon movies",
        "tasks.detect_imaging:run_movie",
        4,
    ),
    Task(
        "detect_fmri",
        "intensity spikes, motion and tSNR on simulated fMRI",
        "tasks.detect_imaging:run_fmri",
        4,
    ),
    Task(
        "check_speed",
        "check() speed and memory: an hour of EEG vs PyPREP; 384-ch ephys at two lengths",
        "tasks.check_speed:run",
        4,
    ),
    Task(
        "denoise",
        "ocular/muscle artifact removal, EEGdenoiseNet protocol: ours vs band-pass, wavelets",
        "tasks.denoise:run",
        5,
    ),
    Task(
        "denoise_multichannel",
        "ocular artifacts spread over 32-channel EEG: ours vs MNE ICA and ASR",
        "tasks.denoise_multichannel:run",
        5,
    ),
    Task(
        "fix_speed",
        "fix() on an hour of 64-channel EEG (every step, streamed out); remover windows/s",
        "tasks.fix_speed:run",
        5,
    ),
    Task(
        "report",
        "neurolint demo's wall time; HTML report size and time for 10 min and 1 h of EEG",
        "tasks.report:run",
        5,
    ),
    Task(
        "impute",
        "200 ms gaps in LFP and EEG: linear, cubic spline, neurolint's AR fill",
        "tasks.impute:run",
        5,
    ),
    Task(
        "movement",
        "movement deflections: neurolint's movement step vs a 1.5 Hz high-pass",
        "tasks.movement:run",
        3,
    ),
    Task(
        "cardiac",
        "heartbeat artifacts: the remover on test epochs and simulated recordings vs AAS",
        "tasks.cardiac:run",
        3,
    ),
    Task("simulate", "speed of every simulator (x real time)", "tasks.simulate:run", 3),
    Task(
        "io_stream",
        "stream a large int16 binary in chunks vs a numpy memmap loop",
        "io_stream:run",
        2,
    ),
)


def get_task(name: str) -> Task:
    for task in TASKS:
        if task.name == name:
            return task
    raise ParameterError(
        f"Unknown benchmark task {name!r}; run 'neurolint bench list' to see "
        f"{', '.join(t.name for t in TASKS)}."
    )


def run_task(name: str, *, quick: bool = False, seed: int = 0, **options):
    """Run one task and return its :class:`~neurolint.bench.harness.BenchResult`."""
    return get_task(name).load()(quick=quick, seed=seed, **options)
