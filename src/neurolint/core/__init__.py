"""The data model. Imports nothing else from the package."""

from .channels import CHANNEL_TYPES, ChannelInfo
from .chunks import Chunk, JobOptions, iter_chunks, job_options, map_chunks, set_global_job_options
from .errors import (
    CorruptFileError,
    DataValueError,
    EmptyRecordingError,
    InputNotFoundError,
    MissingDependencyError,
    NeurolintError,
    OutputExistsError,
    ParameterError,
    ShapeError,
    SidecarError,
    UnitsError,
    UnsupportedFormatError,
)
from .findings import FINDING_KINDS, ChannelStatus, Finding, QCResult
from .imaging import Movie, VolumeSeries
from .provenance import CorrectionLog, CorrectionStep, Region
from .timeseries import TimeSeries

__all__ = [
    "CHANNEL_TYPES",
    "FINDING_KINDS",
    "ChannelInfo",
    "ChannelStatus",
    "Chunk",
    "CorrectionLog",
    "CorrectionStep",
    "CorruptFileError",
    "DataValueError",
    "EmptyRecordingError",
    "Finding",
    "InputNotFoundError",
    "JobOptions",
    "MissingDependencyError",
    "Movie",
    "NeurolintError",
    "OutputExistsError",
    "ParameterError",
    "QCResult",
    "Region",
    "ShapeError",
    "SidecarError",
    "TimeSeries",
    "UnitsError",
    "UnsupportedFormatError",
    "VolumeSeries",
    "iter_chunks",
    "job_options",
    "map_chunks",
    "set_global_job_options",
]
