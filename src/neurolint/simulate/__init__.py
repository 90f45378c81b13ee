"""Seeded ground-truth generators (public API): the same seed gives identical data."""

from .eeg import simulate_eeg

__all__ = ["simulate_eeg"]
