"""Shipped models: name → builder, config, safetensors weights and a JSON model card.

Weights are only ever read with ``safetensors.torch.load_file`` (no pickle, no
``torch.load``), and their SHA-256 is checked against the card, so a tampered or truncated
file fails with a clear :class:`~neurolint.core.errors.CorruptFileError`.

A model is named either by a registered name (``"eeg-detector"``, shipped in the package)
or by the path of a ``.safetensors`` file with its card (``<stem>.json``) beside it, as
:func:`save_model` writes them (fine-tuned models).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import CorruptFileError, InputNotFoundError, ParameterError

__all__ = ["MODELS", "device", "list_models", "load_card", "load_model", "save_model"]

_HERE = Path(__file__).resolve().parent
WEIGHTS_DIR = _HERE / "weights"
CARDS_DIR = _HERE / "cards"

#: Registered model names → builder ("module:function"), weights and card file names.
MODELS: dict[str, dict[str, str]] = {
    "eeg-detector": {
        "builder": "neurolint.models.nets.detector:build_detector",
        "weights": "eeg-detector.safetensors",
        "card": "eeg-detector.json",
    },
    "eeg-remover": {
        "builder": "neurolint.models.nets.remover:build_remover",
        "weights": "eeg-remover.safetensors",
        "card": "eeg-remover.json",
    },
    "gap-inpainter": {
        "builder": "neurolint.models.nets.inpainter:build_inpainter",
        "weights": "gap-inpainter.safetensors",
        "card": "gap-inpainter.json",
    },
}


def device() -> Any:
    """The torch device to run on: CUDA when present, else CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _builder(spec: str) -> Callable[..., Any]:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)


def _paths(name: str | Path) -> tuple[Path, Path]:
    """(weights, card) for a registered name or a ``.safetensors`` path."""
    if isinstance(name, str) and name in MODELS:
        entry = MODELS[name]
        return WEIGHTS_DIR / entry["weights"], CARDS_DIR / entry["card"]
    path = Path(name)
    if path.suffix == ".safetensors" or path.is_file():
        return path, path.with_suffix(".json")
    raise ParameterError(
        f"Unknown model {str(name)!r}; use one of {', '.join(MODELS)} or the path of a "
        ".safetensors file with its .json card beside it."
    )


def load_card(name: str | Path) -> dict[str, Any]:
    """Read a model's card (JSON: config, training data and seeds, metrics, recipe).

    Parameters
    ----------
    name : str | path-like
        Registered name or ``.safetensors`` path.

    Returns
    -------
    dict
        The card; ``card["config"]`` holds what the builder and the detector need.
    """
    _, card_path = _paths(name)
    if not card_path.is_file():
        raise InputNotFoundError(
            f"Model card {card_path} is missing; reinstall neurolint or save the model with "
            "neurolint.models.save_model."
        )
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"Model card {card_path} is not valid JSON ({exc}).") from None
    if not isinstance(card, dict) or "config" not in card:
        raise CorruptFileError(f"Model card {card_path} has no 'config'; re-save the model.")
    return card


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(name: str | Path = "eeg-detector", *, map_device: Any = None) -> tuple[Any, dict]:
    """Build a model and load its safetensors weights, in eval mode.

    Parameters
    ----------
    name : str | path-like
        Registered name (see :func:`list_models`) or a ``.safetensors`` path.
        default: ``"eeg-detector"``.
    map_device : torch.device | str | None
        Where to put the model. default: ``None`` (CUDA when present, else CPU).

    Returns
    -------
    (torch.nn.Module, dict)
        The module and its config (``card["config"]``).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, _ = _paths(name)
    card = load_card(name)
    if not weights.is_file():
        raise InputNotFoundError(
            f"Model weights {weights} are missing; reinstall neurolint or retrain with "
            "`neurolint train detector`."
        )
    expected = card.get("weights_sha256")
    if expected and _sha256(weights) != expected:
        raise CorruptFileError(
            f"Model weights {weights} do not match the SHA-256 in their card (tampered or "
            "truncated); reinstall neurolint or retrain the model."
        )
    config = dict(card["config"])
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CorruptFileError(f"Model weights {weights} cannot be read ({exc}).") from None
    spec = config.get("builder") or MODELS.get(str(name), {}).get("builder")
    if not spec:
        raise CorruptFileError(f"Model card for {name} names no builder; re-save the model.")
    module = _builder(spec)(**config.get("arch", {}))
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "shape mismatch"
        raise CorruptFileError(
            f"Model weights {weights} do not fit the architecture in the card ({first})."
        ) from None
    module.eval()
    module.to(map_device if map_device is not None else device())
    return module, config


def list_models() -> list[dict[str, Any]]:
    """Registered models with a summary of their cards.

    Returns
    -------
    list of dict
        ``{"name", "description", "input", "metrics", "weights_bytes"}`` per model.
    """
    out = []
    for name, entry in MODELS.items():
        weights = WEIGHTS_DIR / entry["weights"]
        try:
            card = load_card(name)
        except (InputNotFoundError, CorruptFileError):
            card = {}
        out.append(
            {
                "name": name,
                "description": card.get("description", ""),
                "input": card.get("config", {}).get("input", {}),
                "metrics": card.get("metrics", {}),
                "weights_bytes": weights.stat().st_size if weights.is_file() else 0,
            }
        )
    return out


def save_model(
    module: Any, config: dict[str, Any], card: dict[str, Any], name: str, folder: str | Path
) -> Path:
    """Write ``<folder>/<name>.safetensors`` and its card ``<folder>/<name>.json``.

    Parameters
    ----------
    module : torch.nn.Module
    config : dict
        JSON-able: ``builder`` ("module:function"), ``arch`` (builder kwargs) and whatever
        the detector needs (input spec, kinds, thresholds). Stored as ``card["config"]``.
    card : dict
        JSON-able model card (training data and seeds, metrics, recipe command).
    name : str
        File stem.
    folder : str | path-like
        Created if missing.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{name}.safetensors"
    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(weights), metadata={"name": name})
    full = {"name": name, **card, "config": config, "weights_sha256": _sha256(weights)}
    (folder / f"{name}.json").write_text(json.dumps(full, indent=2, allow_nan=False) + "\n")
    return weights
