"""Shipped learned models: registry, architectures and the shared training loop.

Importing this package does not import torch; :func:`load_model` does.
"""

from __future__ import annotations

from .registry import MODELS, device, list_models, load_card, load_model, save_model

__all__ = ["MODELS", "device", "list_models", "load_card", "load_model", "save_model"]
