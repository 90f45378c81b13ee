"""Option parsing shared by verbs."""

from __future__ import annotations

import json
from typing import Any

from ..core.errors import ParameterError


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """Turn ``["dtype=int16", "n_channels=4"]`` into reader options (JSON values where valid)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(
                f"--option {pair!r} must look like KEY=VALUE, e.g. sampling_rate=1000."
            )
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out
