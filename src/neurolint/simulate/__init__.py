"""Seeded ground-truth generators (public API): the same seed gives identical data and truth.

Each ``simulate_*`` function returns a :class:`Simulation` ``(data, truth)``;
:func:`write_simulation` writes both in standard formats. Heavy packages (MNE,
SpikeInterface) are imported inside the simulators that need them.
"""

from ._truth import GroundTruth, Simulation
from ._write import write_simulation
from .artifacts import ARTIFACT_KINDS
from .calcium import simulate_calcium
from .eeg import simulate_eeg
from .ephys import ground_truth_sorting, simulate_ephys
from .fmri import canonical_hrf, simulate_fmri
from .lfp import simulate_lfp
from .registry import SIMULATORS
from .semisynthetic import EpochDataset, simulate_semisynthetic
from .spikes import simulate_spikes

__all__ = [
    "ARTIFACT_KINDS",
    "SIMULATORS",
    "EpochDataset",
    "GroundTruth",
    "Simulation",
    "canonical_hrf",
    "ground_truth_sorting",
    "simulate_calcium",
    "simulate_eeg",
    "simulate_ephys",
    "simulate_fmri",
    "simulate_lfp",
    "simulate_semisynthetic",
    "simulate_spikes",
    "write_simulation",
]
