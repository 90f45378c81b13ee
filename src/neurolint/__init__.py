"""neurolint: assess and correct the quality of neural recordings.

Attributes are imported on first use, so ``import neurolint`` stays light: it imports
neither torch, MNE nor SpikeInterface (nor numpy) until something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_LAZY = {
    "read": "neurolint.io",
    "check": "neurolint.assess",
    "fix": "neurolint.correct",
    "report": "neurolint.reporting",
    "write": "neurolint.io",
    "info": "neurolint.io",
    "TimeSeries": "neurolint.core",
    "Movie": "neurolint.core",
    "VolumeSeries": "neurolint.core",
    "ChannelInfo": "neurolint.core",
    "QCResult": "neurolint.core",
    "Finding": "neurolint.core",
    "ChannelStatus": "neurolint.core",
    "CorrectionLog": "neurolint.core",
    "CorrectionStep": "neurolint.core",
    "NeurolintError": "neurolint.core",
    "set_global_job_options": "neurolint.core",
    "from_mne": "neurolint.integrations.mne",
    "to_mne": "neurolint.integrations.mne",
    "from_spikeinterface": "neurolint.integrations.spikeinterface",
    "to_spikeinterface": "neurolint.integrations.spikeinterface",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurolint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
