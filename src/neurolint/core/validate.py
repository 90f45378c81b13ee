"""One way to validate user input, with one error format.

In the spirit of MNE's ``_validate_type``/``_check_option``: every message names the
parameter, the bad value, what was expected and what to do. Never ``assert`` on user
input; it vanishes under ``python -O``.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Iterable
from typing import Any

from .errors import MissingDependencyError, ParameterError

__all__ = ["check_option", "check_positive", "import_optional", "parse_duration"]


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`ParameterError`."""
    allowed = list(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name}={value!r} is not allowed; use one of {options}.")
    return value


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and positive, else raise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a number.") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name}={value!r} must be a finite number {bound}.")
    return number


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|min|h)?\s*$")
_UNIT_SECONDS = {None: 1.0, "s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0}


def parse_duration(name: str, value: str | float | int) -> float:
    """Parse a duration such as ``2.5``, ``"500ms"``, ``"1s"`` or ``"2min"`` into seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ParameterError(
                f"{name}={value!r} is not a duration; write seconds (1.5) or a number with "
                "a unit such as '500ms', '1s' or '2min'."
            )
        value = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return check_positive(name, value)


def import_optional(module: str, extra: str) -> Any:
    """Import an optional dependency or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed for this; install it with: pip install 'neurolint[{extra}]' "
            f"({exc})."
        ) from exc
