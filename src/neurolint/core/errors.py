"""User-facing errors.

Every error a user can cause is a :class:`NeurolintError` whose message is one line that
names the problem and says what to do. The CLI prints it without a traceback and exits
with status 2.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "DataValueError",
    "EmptyRecordingError",
    "InputNotFoundError",
    "MissingDependencyError",
    "NeurolintError",
    "OutputExistsError",
    "ParameterError",
    "ShapeError",
    "SidecarError",
    "UnitsError",
    "UnsupportedFormatError",
]


class NeurolintError(Exception):
    """Base class of every error neurolint raises on purpose.

    The message is a single line: what went wrong and what to do about it.
    """

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints exactly this.
        super().__init__(" ".join(str(message).split()))


class InputNotFoundError(NeurolintError, FileNotFoundError):
    """An input path does not exist."""


class UnsupportedFormatError(NeurolintError, ValueError):
    """No reader (or writer) knows this file or extension."""


class CorruptFileError(NeurolintError, OSError):
    """A file exists but cannot be read: truncated, malformed or unreadable."""


class SidecarError(NeurolintError, ValueError):
    """A sidecar (JSON metadata) is missing, malformed or contradicts its data file."""


class ShapeError(NeurolintError, ValueError):
    """An array has the wrong number of dimensions or an inconsistent size."""


class EmptyRecordingError(NeurolintError, ValueError):
    """A recording holds no samples, channels or frames."""


class DataValueError(NeurolintError, ValueError):
    """Data values cannot be used as they are (NaN/inf where not allowed, wrong dtype)."""


class UnitsError(NeurolintError, ValueError):
    """Units are unknown or cannot be converted."""


class ParameterError(NeurolintError, ValueError):
    """A parameter has a value outside what is allowed."""


class OutputExistsError(NeurolintError, FileExistsError):
    """An output path exists and overwriting was not asked for."""


class MissingDependencyError(NeurolintError, ImportError):
    """An optional package is needed; the message names the ``pip install`` to run."""
