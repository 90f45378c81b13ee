"""The simulators by kind, as ``neurolint simulate KIND`` names them."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import ParameterError

__all__ = ["SIMULATORS", "Simulator", "get_simulator"]


@dataclass(frozen=True)
class Simulator:
    """A simulator: its function (``"module:function"`` in this package) and output format."""

    kind: str
    target: str
    extension: str  # the standard format its data is written in by default
    summary: str

    def load(self) -> Callable:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f"neurolint.simulate.{module}"), func)

    def parameters(self) -> list[str]:
        return list(inspect.signature(self.load()).parameters)


SIMULATORS: tuple[Simulator, ...] = (
    Simulator(
        "eeg", "eeg:simulate_eeg", ".fif", "EEG on a real montage with every artifact kind logged"
    ),
    Simulator(
        "semisynthetic",
        "semisynthetic:simulate_semisynthetic",
        ".h5",
        "real clean EEG + real EOG / simulated EMG epochs (EEGdenoiseNet protocol)",
    ),
    Simulator(
        "ephys",
        "ephys:simulate_ephys",
        ".bin",
        "extracellular probe recording with ground-truth spikes and artifacts",
    ),
    Simulator(
        "spikes",
        "spikes:simulate_spikes",
        ".bin",
        "single-channel spikes in the style of Quiroga et al. 2004",
    ),
    Simulator(
        "calcium",
        "calcium:simulate_calcium",
        ".tif",
        "two-photon movie with GCaMP-like transients, neuropil and shot noise",
    ),
    Simulator(
        "fmri",
        "fmri:simulate_fmri",
        ".nii.gz",
        "4D BOLD series with a block design, drift, physiology and spikes",
    ),
    Simulator(
        "lfp",
        "lfp:simulate_lfp",
        ".bin",  # keeps the lfp type, µV and NaN gaps exactly
        "LFP with theta, gamma and ripples, and gaps with their true values kept",
    ),
)


def get_simulator(kind: str) -> Simulator:
    for sim in SIMULATORS:
        if sim.kind == kind:
            return sim
    raise ParameterError(
        f"Unknown simulator {kind!r}; choose one of {', '.join(s.kind for s in SIMULATORS)}."
    )
