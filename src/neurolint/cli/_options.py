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


def command_line() -> str:
    """The command being run, as a shell would take it (for a report's provenance)."""
    import shlex

    from .main import _STATE

    return "neurolint " + shlex.join(_STATE.get("argv", []))


def report_option() -> Any:
    """The ``--report OUT.html`` option shared by ``check`` and ``fix``."""
    import typer

    return typer.Option(None, "--report", help="Also write the HTML report here (.html).")
