"""Network architectures (torch modules built by factory functions, torch imported lazily)."""

from __future__ import annotations

__all__ = ["build_detector"]


def __getattr__(name: str):
    if name == "build_detector":
        from .detector import build_detector

        return build_detector
    raise AttributeError(name)
