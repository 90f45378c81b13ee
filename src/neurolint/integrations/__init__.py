"""Adapters to the ecosystem (MNE, SpikeInterface, NWB); heavy packages are imported lazily."""

from __future__ import annotations

from typing import Any

__all__ = ["as_series"]


def _is_instance_from(data: Any, package: str, class_name: str) -> bool:
    """Whether ``data``'s class is, or derives from, ``package``'s ``class_name``; by name,
    so that checking never imports the package."""
    return any(
        c.__name__ == class_name and c.__module__.split(".")[0] == package
        for c in type(data).__mro__
    )


def as_series(data: Any) -> Any:
    """``data`` as a neurolint series: an MNE ``Raw`` or a SpikeInterface recording is
    wrapped (lazily: its samples are neither copied nor changed); anything else is returned
    as it is, for the caller to accept or refuse.

    Raises
    ------
    ParameterError
        A SpikeInterface recording with several segments (which one is meant is not known).
    """
    if _is_instance_from(data, "mne", "BaseRaw"):
        from .mne import from_mne

        return from_mne(data)
    if _is_instance_from(data, "spikeinterface", "BaseRecording"):
        from ..core.errors import ParameterError
        from .spikeinterface import from_spikeinterface

        n = data.get_num_segments()
        if n > 1:
            raise ParameterError(
                f"The recording has {n} segments; choose one with "
                "neurolint.from_spikeinterface(recording, segment_index=i)."
            )
        return from_spikeinterface(data)
    return data
