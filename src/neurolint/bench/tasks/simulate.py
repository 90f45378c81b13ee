"""Task ``simulate``: how fast each simulator generates data (and truth), x real time.

Each row makes one recording of a typical size. ``x_realtime`` is simulated duration over
wall time; ``Mvalues_s`` counts generated data values (channels x samples, or pixels x frames)
per second. SpikeInterface's own ground-truth generator runs beside ours at the same size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..harness import BenchResult, run_method

__all__ = ["cases", "run"]

SHARED_EEG = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "eeg"


def _values(output: Any) -> float:
    """How many data values a simulator's output holds."""
    data = output[0] if isinstance(output, tuple) else output
    if hasattr(data, "train"):  # semi-synthetic epochs: count the mixtures
        return float(sum(np.asarray(s.noisy).size for s in (data.train, data.test)))
    return float(np.prod(data.shape))


def _si_generator(duration: float, n_channels: int, n_units: int, seed: int):
    from ...core.validate import import_optional

    import_optional("spikeinterface", "ephys")
    from spikeinterface.core import generate_ground_truth_recording

    recording, sorting = generate_ground_truth_recording(
        durations=[duration],
        sampling_frequency=30000.0,
        num_channels=n_channels,
        num_units=n_units,
        seed=seed,
    )
    # Generated lazily: the comparable cost is producing every sample once.
    traces = recording.get_traces(return_in_uV=False)
    return traces, sorting


def cases(quick: bool, seed: int) -> list[tuple[str, str, Callable[[], Any], str, float]]:
    """``(name, kind, call, description, simulated seconds)`` for every row."""
    from ... import simulate as sim

    eeg_s = 120.0 if quick else 3600.0
    ephys_s = 1.0 if quick else 10.0
    spikes_s = 10.0 if quick else 60.0
    frames = 300 if quick else 3000
    volumes = 40 if quick else 200
    lfp_s = 60.0 if quick else 600.0
    rows = [
        (
            "eeg",
            "ours",
            lambda: sim.simulate_eeg(64, eeg_s, 256.0, seed=seed),
            f"64 ch, 256 Hz, {eeg_s:g} s, every artifact kind",
            eeg_s,
        ),
        (
            "ephys",
            "ours",
            lambda: sim.simulate_ephys("neuropixels", ephys_s, artifacts="all", seed=seed),
            f"384 ch Neuropixels-like, 30 kHz, {ephys_s:g} s, every artifact kind",
            ephys_s,
        ),
        (
            "spikeinterface.generate_ground_truth_recording",
            "peer",
            lambda: _si_generator(ephys_s, 384, 20, seed),
            f"384 ch, 30 kHz, {ephys_s:g} s, 20 units, traces materialised",
            ephys_s,
        ),
        (
            "spikes",
            "ours",
            lambda: sim.simulate_spikes("easy1", duration=spikes_s, seed=seed),
            f"1 ch, 24 kHz, {spikes_s:g} s, Quiroga-style easy1",
            spikes_s,
        ),
        (
            "calcium",
            "ours",
            lambda: sim.simulate_calcium((128, 128), n_frames=frames, motion=2.0, seed=seed),
            f"128x128 px, 30 Hz, {frames} frames, with motion",
            frames / 30.0,
        ),
        (
            "fmri",
            "ours",
            lambda: sim.simulate_fmri((64, 64, 36), volumes, spikes=3, motion=1.0, seed=seed),
            f"64x64x36 voxels, {volumes} volumes (TR 2 s), spikes and motion",
            volumes * 2.0,
        ),
        (
            "lfp",
            "ours",
            lambda: sim.simulate_lfp(duration=lfp_s, seed=seed),
            f"16 ch, 1 kHz, {lfp_s:g} s, gaps",
            lfp_s,
        ),
    ]
    source = (SHARED_EEG / "eeglab_data.set").resolve()
    if source.is_file():
        rows.append(
            (
                "semisynthetic",
                "ours",
                lambda: sim.simulate_semisynthetic(str(source), seed=seed),
                "EEGdenoiseNet protocol from eeglab_data.set",
                float("nan"),
            )
        )
    return rows


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Time every simulator once at its typical size."""
    result = BenchResult(
        task="simulate",
        quick=quick,
        seed=seed,
        description="simulator speed (one run each)",
        columns=["size", "simulated_s", "x_realtime", "Mvalues_s"],
    )
    for name, kind, call, size, seconds in cases(quick, seed):
        row = run_method(name, call, lambda out: {"values": _values(out)}, kind=kind, debug=debug)
        if row.error is None:
            values, wall = row.metrics.pop("values"), max(row.wall_s, 1e-9)
            row.metrics.update(
                size=size,
                simulated_s=seconds,
                x_realtime=seconds / wall,
                Mvalues_s=values / wall / 1e6,
            )
        result.rows.append(row)
    result.notes.append(
        "Peak memory is the RSS growth while the simulator runs; its output (data, clean "
        "copy and truth) is part of it."
    )
    return result
