"""Neurodata Without Borders (NWB 2.x) files: electrophysiology and imaging series.

Reading opens the file with pynwb only to inspect its metadata (which series, rate,
conversion, electrodes table) and closes it again. The series returned reads its samples
lazily with h5py through a :class:`~neurolint.core.arrays.LazyArray` whose opener names the
file and the HDF5 dataset, so pickling it sends a path, and no pynwb object is kept.

Writing builds an NWB file with pynwb and streams the samples into it chunk by chunk with an
``hdmf`` data chunk iterator, so memory stays bounded by the chunk size, then moves the file
into place atomically.

Conventions and assumptions
---------------------------
* Physical value = stored value x ``conversion`` x ``channel_conversion[ch]`` + ``offset``
  (NWB's fields), passed on as the TimeSeries ``gain`` and ``offset``.
* Electrode positions: the NWB schema asks for the electrodes table's ``x``, ``y``, ``z`` in
  micrometres, and neurolint assumes so (``position_unit="um"``); some EEG files store
  millimetres or metres instead: pass ``position_unit="mm"`` or ``"m"``. Positions are
  converted to metres, as :class:`~neurolint.core.channels.ChannelInfo` keeps them, and
  written back in micrometres.
* Imaging: NWB stores frames as ``(t, x, y)``; they are read as the Movie's
  ``(n_frames, height, width)`` in that order, and ``grid_spacing`` (x, y) becomes the pixel
  size (rows, columns) in micrometres.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import crop_annotations
from ..core.arrays import LazyArray
from ..core.channels import CHANNEL_TYPES, VOLT_UNITS, ChannelInfo, normalize_unit, unit_scale
from ..core.chunks import job_options
from ..core.clock import meas_datetime, start_seconds
from ..core.errors import (
    DataValueError,
    EmptyRecordingError,
    InputNotFoundError,
    ParameterError,
    ShapeError,
    UnsupportedFormatError,
)
from ..core.imaging import Movie
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, import_optional
from ._atomic import atomic_path
from ._integers import fits, new_range, rescale, rounded, scaled, widen
from .nwb_annotations import add_annotations, read_annotations
from .nwb_export import can_export, export_series

__all__ = ["read_nwb", "write_nwb"]

logger = logging.getLogger("neurolint")

#: Electrode position units accepted by ``position_unit`` → factor to metres.
POSITION_UNITS = {"um": 1e-6, "mm": 1e-3, "m": 1.0}

# ImagingPlane.grid_spacing_unit spellings → factor to micrometres.
_SPACING_TO_UM = {
    "m": 1e6,
    "meter": 1e6,
    "meters": 1e6,
    "metre": 1e6,
    "metres": 1e6,
    "mm": 1e3,
    "millimeter": 1e3,
    "millimeters": 1e3,
    "um": 1.0,
    "µm": 1.0,
    "μm": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometers": 1.0,
}

# Channel units stored in volts by write_nwb (anything else is stored as it is).

# Largest relative deviation of one timestamp step from the mean step still read as regular.
_MAX_JITTER = 0.01


# -- lazy h5py access (module level so that the openers pickle) -----------------------------
def _open_dataset(path: str, name: str) -> Any:
    """Open the HDF5 dataset ``name`` of ``path`` for reading (the file stays open with it)."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except FileNotFoundError:
        raise InputNotFoundError(
            f"File not found: {path}; check that the NWB file was not moved or deleted."
        ) from None
    return handle[name]


class _FrameView:
    """Frames ``(t, x, y)`` of an NWB image dataset: one plane of 4-D data, optionally scaled."""

    def __init__(self, dataset: Any, plane: int | None, conversion: float, offset: float):
        self.dataset = dataset
        self.plane = plane
        self.conversion = conversion
        self.offset = offset
        self.shape = tuple(dataset.shape[:3])
        scaled = conversion != 1.0 or offset != 0.0
        self.dtype = np.dtype(np.float32) if scaled else np.dtype(dataset.dtype)
        self.ndim = 3

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if self.plane is not None:
            key = key + (slice(None),) * (3 - len(key)) + (self.plane,)
        raw = np.asarray(self.dataset[key])
        if self.dtype == np.float32 and (self.conversion != 1.0 or self.offset != 0.0):
            raw = raw.astype(np.float32) * np.float32(self.conversion) + np.float32(self.offset)
        return raw


class _OneChannel:
    """A 1-D dataset seen as ``(n_samples, 1)``: a single channel stored without its axis."""

    def __init__(self, dataset: Any):
        self.dataset = dataset
        self.shape = (int(dataset.shape[0]), 1)
        self.dtype = np.dtype(dataset.dtype)
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        rows = key[0]
        cols = key[1] if len(key) > 1 else slice(None)
        return np.asarray(self.dataset[rows])[:, None][:, cols]


def _open_frames(path: str, name: str, plane: int | None, conversion: float, offset: float) -> Any:
    dataset = _open_dataset(path, name)
    if plane is None and conversion == 1.0 and offset == 0.0:
        return dataset
    return _FrameView(dataset, plane, conversion, offset)


def _open_one_channel(path: str, name: str) -> _OneChannel:
    return _OneChannel(_open_dataset(path, name))


# -- reading --------------------------------------------------------------------------------
def read_nwb(
    path: Path | str,
    *,
    series: str | None = None,
    dataset: str | None = None,
    plane: int | None = None,
    position_unit: str = "um",
) -> TimeSeries | Movie:
    """Read one series of an NWB file lazily.

    Parameters
    ----------
    path : Path | str
        The ``.nwb`` file (HDF5 backend).
    series : str | None
        The series to read: its path in the file (``"acquisition/ElectricalSeries"``,
        ``"processing/ecephys/LFP/ElectricalSeries"``) or just its name. default: ``None``
        (the only ElectricalSeries in ``acquisition``, else the only imaging series there,
        else the only readable series in the file).
    dataset : str | None
        Same as ``series``; set by :func:`neurolint.read` for ``"file.nwb:/acquisition/X"``.
        default: ``None``.
    plane : int | None
        For 4-D ``(t, x, y, z)`` imaging data, the z plane to read. default: ``None``
        (4-D data are then an error).
    position_unit : {"um", "mm", "m"}
        Unit of the electrodes table's ``x``, ``y``, ``z``; NWB asks for micrometres.
        default: ``"um"``.

    Returns
    -------
    TimeSeries | Movie
        A TimeSeries for an ElectricalSeries or any other series with 2-D (or 1-D) data,
        a Movie for an ImageSeries/TwoPhotonSeries. ``meta`` holds ``format``, ``series``
        (its path), ``neurodata_type``, ``session_description``, ``meas_date`` (ISO 8601),
        ``starting_time`` and ``description``, and for a time series ``annotations`` when
        the file has an ``intervals/annotations`` table (see
        :mod:`neurolint.io.nwb_annotations`).

    Raises
    ------
    ParameterError
        When no series is named and the choice is ambiguous (the message lists them), or the
        named series does not exist.
    DataValueError
        When the series has irregular timestamps instead of a rate.
    ShapeError
        For 4-D imaging data without ``plane``, or data of an unsupported shape.
    """
    pynwb = import_optional("pynwb", "nwb")
    check_option("position_unit", position_unit, tuple(POSITION_UNITS))
    if series is not None and dataset is not None and _norm_key(series) != _norm_key(dataset):
        raise ParameterError(
            f"series={series!r} and dataset={dataset!r} name different series; give one."
        )
    if plane is not None:
        try:
            plane = int(plane)  # the CLI passes options as text
        except (TypeError, ValueError):
            raise ParameterError(f"plane={plane!r} must be a whole number (0, 1, ...).") from None
    wanted = series if series is not None else dataset
    path = Path(path)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        found = _all_series(io, nwbfile, pynwb)
        key, obj = _choose(found, nwbfile, wanted, pynwb, path)
        meta = {
            "format": "nwb",
            "series": key,
            "neurodata_type": type(obj).__name__,
            "session_description": nwbfile.session_description,
            "meas_date": nwbfile.session_start_time.isoformat(),
            "description": obj.description,
        }
        if isinstance(obj, pynwb.image.ImageSeries):
            return _read_movie(obj, path, key, plane, meta)
        if plane is not None:
            raise ParameterError(f"plane={plane} applies to imaging series; {key} is not one.")
        ts = _read_timeseries(obj, path, key, position_unit, meta, pynwb)
        anns = read_annotations(nwbfile, meta["starting_time"])
        if anns:
            ts.meta["annotations"] = crop_annotations(anns, 0.0, ts.duration)
        return ts


def _norm_key(name: str) -> str:
    key = str(name).strip().strip("/")
    return key[: -len("/data")] if key.endswith("/data") else key


def _all_series(io: Any, nwbfile: Any, pynwb: Any) -> dict[str, Any]:
    """Every TimeSeries in the file by its path (``acquisition/X``, ``processing/m/Y/X``)."""
    out = {}
    for obj in nwbfile.objects.values():
        if isinstance(obj, pynwb.base.TimeSeries):
            path = io.manager.get_builder(obj).path
            out[path.split("/", 1)[1] if path.startswith("root/") else path] = obj
    return dict(sorted(out.items()))


def _readable(obj: Any, pynwb: Any) -> bool:
    shape = getattr(obj.data, "shape", None)
    if shape is None:
        return False
    if isinstance(obj, pynwb.image.ImageSeries):
        return len(shape) in (3, 4) and obj.external_file is None
    return len(shape) in (1, 2)


def _choose(found: dict[str, Any], nwbfile: Any, wanted: str | None, pynwb: Any, path: Path):
    """The path and object of the series to read (named, or the only obvious one)."""
    readable = [k for k, v in found.items() if _readable(v, pynwb)]
    listing = ", ".join(readable) if readable else "(none)"
    if wanted is not None:
        key = _norm_key(wanted)
        if key in found:
            return key, found[key]
        matches = [k for k in found if k.rsplit("/", 1)[-1] == key]
        if len(matches) == 1:
            return matches[0], found[matches[0]]
        if len(matches) > 1:
            raise ParameterError(
                f"{path.name} has {len(matches)} series named {key!r} ({', '.join(matches)}); "
                "pass series= with the full path."
            )
        raise ParameterError(
            f"{path.name} has no series {wanted!r}; its readable series are: {listing}."
        )
    acquisition = [f"acquisition/{k}" for k in nwbfile.acquisition]
    electrical = [
        k for k in acquisition if isinstance(found.get(k), pynwb.ecephys.ElectricalSeries)
    ]
    imaging = [k for k in acquisition if isinstance(found.get(k), pynwb.image.ImageSeries)]
    for kind, keys in (("ElectricalSeries", electrical), ("imaging series", imaging)):
        if len(keys) == 1:
            return keys[0], found[keys[0]]
        if len(keys) > 1:
            raise ParameterError(
                f"{path.name} has {len(keys)} {kind} in acquisition ({', '.join(keys)}); "
                "choose one with series=NAME (--option series=NAME)."
            )
    if len(readable) == 1:
        return readable[0], found[readable[0]]
    if not readable:
        raise EmptyRecordingError(
            f"{path.name} holds no time series neurolint can read (ElectricalSeries, "
            "TwoPhotonSeries/ImageSeries or 2-D TimeSeries)."
        )
    raise ParameterError(
        f"{path.name} holds several series and none in acquisition is obvious; choose one with "
        f"series=NAME among: {listing}."
    )


def _h5_location(data: Any, key: str) -> tuple[str, str]:
    """File and dataset path behind ``data`` (which may live in another file, via a link)."""
    try:
        return str(data.file.filename), str(data.name)
    except AttributeError:
        raise UnsupportedFormatError(
            f"The data of {key} are not an HDF5 dataset (Zarr-backed or in-memory NWB?); "
            "neurolint reads NWB files written with the HDF5 backend."
        ) from None


def _rate(obj: Any, key: str) -> tuple[float, float]:
    """Sampling rate and start time, from ``rate`` or from regular ``timestamps``."""
    if obj.rate is not None:
        return float(obj.rate), float(obj.starting_time or 0.0)
    stamps = obj.timestamps
    if stamps is None:
        raise DataValueError(f"{key} has neither a rate nor timestamps; the file is incomplete.")
    return _rate_from_timestamps(stamps, key)


def _rate_from_timestamps(stamps: Any, key: str) -> tuple[float, float]:
    """Mean rate of ``stamps`` if every step is within 1 % of the mean step, read blockwise."""
    n = int(stamps.shape[0])
    if n < 2:
        raise DataValueError(f"{key} has {n} timestamp(s), too few to tell its sampling rate.")
    first, last = float(stamps[0]), float(stamps[n - 1])
    step = (last - first) / (n - 1)
    if not (np.isfinite(step) and step > 0):
        raise DataValueError(
            f"The timestamps of {key} do not increase ({first} to {last}); fix the file."
        )
    worst = 0.0
    previous: np.ndarray = np.empty(0)
    block_len = 1 << 20  # bounded memory for long recordings
    for a in range(0, n, block_len):
        block = np.concatenate([previous, np.asarray(stamps[a : a + block_len], dtype=np.float64)])
        if not np.isfinite(block).all():
            raise DataValueError(f"The timestamps of {key} hold NaN or inf; fix the file.")
        if block.size > 1:
            worst = max(worst, float(np.max(np.abs(np.diff(block) - step))))
        previous = block[-1:]
    if worst > _MAX_JITTER * step:
        raise DataValueError(
            f"{key} has irregular timestamps (a step deviates {worst / step:.1%} from the mean "
            f"step of {step:.6g} s); irregular timestamps are not supported: resample the data "
            "to a regular rate first."
        )
    return 1.0 / step, first


def _read_movie(obj: Any, path: Path, key: str, plane: int | None, meta: dict) -> Movie:
    if obj.external_file is not None:
        files = ", ".join(str(f) for f in obj.external_file[:])
        raise UnsupportedFormatError(
            f"{key} keeps its frames in external files ({files}); read those files directly."
        )
    file, name = _h5_location(obj.data, key)
    shape = tuple(int(s) for s in obj.data.shape)
    if len(shape) == 4:
        if plane is None:
            raise ShapeError(
                f"{key} holds 4-D data (t, x, y, z) with {shape[3]} planes; pick one with "
                f"plane=0..{shape[3] - 1} (--option plane=N)."
            )
        if not 0 <= plane < shape[3]:
            raise ParameterError(f"plane={plane} is out of range; {key} has {shape[3]} planes.")
    elif len(shape) == 3:
        if plane not in (None, 0):
            raise ParameterError(f"plane={plane} is out of range; {key} holds a single plane.")
        plane = None
    else:
        raise ShapeError(f"{key} holds {len(shape)}-D data; a movie needs (t, x, y) frames.")
    rate, start = _rate(obj, key)
    conversion, offset = float(obj.conversion), float(getattr(obj, "offset", 0.0) or 0.0)
    opener = partial(_open_frames, file, name, plane, conversion, offset)
    scaled = conversion != 1.0 or offset != 0.0
    store_dtype = np.float32 if scaled else obj.data.dtype
    store = LazyArray(opener, shape[:3], store_dtype)
    meta.update(starting_time=start, unit=normalize_unit(obj.unit))
    if plane is not None:
        meta["plane"] = plane
    return Movie(store, rate, pixel_size=_pixel_size(obj), source=str(path), meta=meta)


def _pixel_size(obj: Any) -> tuple[float, float] | None:
    """Pixel size in micrometres from the imaging plane's ``grid_spacing``, if known."""
    plane = getattr(obj, "imaging_plane", None)
    spacing = None if plane is None else plane.grid_spacing
    if spacing is None:
        return None
    values = np.asarray(spacing[:], dtype=np.float64).ravel()
    factor = _SPACING_TO_UM.get(str(plane.grid_spacing_unit or "meters").strip().lower())
    if factor is None or values.size < 2 or not np.all(np.isfinite(values[:2]) & (values[:2] > 0)):
        return None
    return float(values[0] * factor), float(values[1] * factor)


def _column(table: Any, name: str, rows: np.ndarray) -> np.ndarray | None:
    """Values of a plain (not ragged) column of ``table`` at ``rows``, strings decoded."""
    from hdmf.common.table import VectorIndex

    if name not in table.colnames:
        return None
    col = table[name]
    if isinstance(col, VectorIndex):
        return None
    values = np.asarray(col.data[:])[rows]
    if values.dtype.kind in "SO":
        values = np.array(
            [v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object
        )
    return values


def _unique(names: list[str]) -> bool:
    return len(set(names)) == len(names) and all(names)


def electrode_names(table: Any, rows: np.ndarray) -> list[str]:
    """The channel names neurolint reads for ``rows`` of an electrodes table: the ``label``
    or ``channel_name`` column where its values are unique, else the row ids."""
    names = [str(i) for i in np.asarray(table.id[:])[rows]]
    for col in ("label", "channel_name"):
        values = _column(table, col, rows)
        if values is not None and _unique([str(v) for v in values]):
            names = [str(v) for v in values]
            break
    if not _unique(names):
        names = [f"{name}-{i}" for i, name in enumerate(names)]
    return names


def _channel_info(obj: Any, n_ch: int, unit: str, position_unit: str, pynwb: Any) -> ChannelInfo:
    """Names, types, units and positions from the electrodes table of an ElectricalSeries."""
    in_lfp = isinstance(getattr(obj, "parent", None), pynwb.ecephys.LFP)
    default_type = "lfp" if in_lfp else "ephys"
    region = getattr(obj, "electrodes", None)
    if region is None:
        return ChannelInfo([f"ch{i:03d}" for i in range(n_ch)], "misc", unit)
    table = region.table
    rows = np.asarray(region.data[:], dtype=np.int64)
    if len(rows) != n_ch:
        raise ShapeError(
            f"The electrodes of {obj.name} list {len(rows)} rows for {n_ch} channels in the "
            "data; the file is inconsistent."
        )
    names = electrode_names(table, rows)
    types = [default_type] * n_ch
    values = _column(table, "type", rows)
    if values is not None:
        given = [str(v).strip().lower() for v in values]
        types = [t if t in CHANNEL_TYPES else default_type for t in given]
    units = [unit] * n_ch
    values = _column(table, "unit", rows)  # written by write_nwb for channels not in volts
    if values is not None:
        units = [normalize_unit(str(v)) for v in values]
    positions = None
    xyz = [_column(table, c, rows) for c in ("x", "y", "z")]
    if all(v is not None for v in xyz):
        pos = np.stack([np.asarray(v, dtype=np.float64) for v in xyz], axis=1)
        pos[~np.isfinite(pos).all(axis=1)] = np.nan
        positions = pos * POSITION_UNITS[position_unit]
    return ChannelInfo(names, types, units, positions)


def _read_timeseries(
    obj: Any, path: Path, key: str, position_unit: str, meta: dict, pynwb: Any
) -> TimeSeries:
    file, name = _h5_location(obj.data, key)
    shape = tuple(int(s) for s in obj.data.shape)
    if len(shape) == 1:
        store = LazyArray(partial(_open_one_channel, file, name), (shape[0], 1), obj.data.dtype)
    elif len(shape) == 2:
        store = LazyArray(partial(_open_dataset, file, name), shape, obj.data.dtype)
    else:
        raise ShapeError(
            f"{key} holds {len(shape)}-D data; neurolint reads time series of shape "
            "(samples, channels)."
        )
    n_ch = store.shape[1]
    rate, start = _rate(obj, key)
    unit = normalize_unit(obj.unit)
    if isinstance(obj, pynwb.ecephys.ElectricalSeries):
        channels = _channel_info(obj, n_ch, unit, position_unit, pynwb)
    else:
        channels = ChannelInfo([f"ch{i:03d}" for i in range(n_ch)], "misc", unit)
    gain = np.full(n_ch, float(obj.conversion), dtype=np.float64)
    per_channel = getattr(obj, "channel_conversion", None)
    if per_channel is not None:
        gain = gain * np.asarray(per_channel[:], dtype=np.float64)
    offset = float(getattr(obj, "offset", 0.0) or 0.0)
    meta["starting_time"] = start
    meta["first_samp"] = 0  # samples since starting_time; a time slice moves it
    modality = "lfp" if isinstance(getattr(obj, "parent", None), pynwb.ecephys.LFP) else None
    return TimeSeries(
        store,
        rate,
        channels,
        layout="samples_first",
        gain=gain,
        offset=offset,
        modality=modality,
        source=str(path),
        meta=meta,
    )


# -- writing --------------------------------------------------------------------------------
def _chunk_iterator_class() -> type:
    """A GenericDataChunkIterator over a series' ``get_data`` (built lazily: hdmf is optional)."""
    from hdmf.data_utils import GenericDataChunkIterator

    class SeriesChunks(GenericDataChunkIterator):
        """Stream a TimeSeries as ``(samples, channels)`` or a Movie as ``(t, x, y)`` blocks."""

        def __init__(
            self,
            obj: Any,
            dtype: np.dtype,
            buffer_len: int,
            scale: np.ndarray | None = None,
        ) -> None:
            self._obj = obj
            self._out_dtype = np.dtype(dtype)
            # Per channel: a float factor (to volts), or for an integer dtype the step of one
            # count in the series' units (values are divided by it and rounded).
            self._scale = scale
            if isinstance(obj, TimeSeries):
                self._shape = (obj.n_samples, obj.n_channels)
            else:
                self._shape = tuple(obj.shape)
            # One read (the buffer) spans at most ``buffer_len`` samples, so memory follows the
            # chunk duration; HDF5 chunks hold whole rows/frames, at most about 1 MiB, and
            # divide the buffer evenly as hdmf requires.
            buffer_len = min(max(1, buffer_len), self._shape[0])
            row_bytes = int(np.prod(self._shape[1:])) * self._out_dtype.itemsize
            chunk_len = max(1, min(buffer_len, (1 << 20) // max(1, row_bytes)))
            buffer_len = (buffer_len // chunk_len) * chunk_len
            super().__init__(
                buffer_shape=(buffer_len, *self._shape[1:]),
                chunk_shape=(chunk_len, *self._shape[1:]),
            )

        def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
            time = selection[0]
            block = self._obj.get_data(time.start, time.stop)
            if isinstance(self._obj, TimeSeries):
                if self._out_dtype.kind in "iu":
                    block = _to_counts(block, self._scale, self._out_dtype)
                elif self._scale is not None:
                    block *= self._scale[:, None]
                block = block.T
            return np.ascontiguousarray(block[(slice(None), *selection[1:])], dtype=self._out_dtype)

        def _get_maxshape(self) -> tuple[int, ...]:
            return self._shape

        def _get_dtype(self) -> np.dtype:
            return self._out_dtype

    return SeriesChunks


def _start_time(meta: dict) -> datetime:
    """``meta['meas_date']`` if given, else now; timezone-aware, as NWB requires."""
    return meas_datetime(meta.get("meas_date")) or datetime.now().astimezone()


def _new_file(obj: TimeSeries | Movie, pynwb: Any) -> Any:
    return pynwb.NWBFile(
        session_description=str(obj.meta.get("session_description") or "written by neurolint"),
        identifier=str(uuid.uuid4()),
        session_start_time=_start_time(obj.meta),
    )


class _OutOfRange(Exception):
    """A block does not fit the integer type at the stored gains."""


def _to_counts(block: np.ndarray, step: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``block / step`` rounded, as ``dtype``; :class:`_OutOfRange` if it does not fit (the
    binary writer's rule) or holds NaN or inf."""
    seen = new_range(len(step))
    x = scaled(block, step, np.zeros(len(step)), seen)
    if x.shape[1] and not (np.isfinite(seen).all() and fits(seen, dtype).all()):
        raise _OutOfRange
    return rounded(x, dtype)


def _integer_steps(ts: TimeSeries) -> np.ndarray | None:
    """The gains of the integers the series was stored as, when NWB can hold them: it has
    a per-channel conversion but one offset, so every channel's offset must be 0."""
    storage = ts.integer_storage
    if storage is None or np.any(storage.offset != 0):
        return None
    return storage.gain


def _refit_steps(ts: TimeSeries, steps: np.ndarray, job_kwargs: dict) -> np.ndarray | None:
    """Steps that fit: the stored ones where they do, peak-based ones elsewhere (a pass over
    the data); ``None`` if the data hold NaN or inf, which integers cannot."""
    dtype = ts.integer_storage.dtype
    zero = np.zeros(ts.n_channels)
    seen = new_range(ts.n_channels)
    widen(ts, steps, zero, seen, job_kwargs)
    if not np.isfinite(seen).all():
        return None
    return rescale(seen, steps, zero, dtype, fits(seen, dtype))[0]


def _series_payload(
    ts: TimeSeries, buffer_len: int, steps: np.ndarray | None
) -> tuple[Any, dict[str, Any], str, list[str], list[str]]:
    """What an ElectricalSeries of ``ts`` stores: the streamed data, the conversion
    arguments, the description, each channel's stored unit, and the channels not in volts.

    Volt-like channels are stored in volts (float32, or the integers they were read as with
    ``steps`` as their gains); others as they are, with conversion 1.0.
    """
    info = ts.channels
    volt_like = [u in VOLT_UNITS for u in info.units]
    scale = np.array(
        [
            unit_scale(u, n) if v else 1.0
            for u, n, v in zip(info.units, info.names, volt_like, strict=True)
        ],
        dtype=np.float32,
    )
    stored_units = ["V" if v else u for u, v in zip(info.units, volt_like, strict=True)]
    not_volts = [
        f"{n} ({u})" for n, u, v in zip(info.names, info.units, volt_like, strict=True) if not v
    ]
    description = "Signals written by neurolint, in volts."
    if not_volts:
        description = (
            "Signals written by neurolint, in volts except these channels, stored as they are "
            f"with conversion 1.0 in the units given: {', '.join(not_volts)}."
        )
    extra: dict[str, Any] = {"conversion": 1.0}
    if steps is None:
        data = _chunk_iterator_class()(ts, np.float32, buffer_len, scale)
    else:
        # Integers at the gains they were read with: unchanged samples keep their counts.
        data = _chunk_iterator_class()(ts, ts.integer_storage.dtype, buffer_len, steps)
        extra["channel_conversion"] = (steps * scale.astype(np.float64)).tolist()
    return data, extra, description, stored_units, not_volts


def _add_timeseries(
    nwbfile: Any, ts: TimeSeries, buffer_len: int, pynwb: Any, steps: np.ndarray | None
) -> None:
    info = ts.channels
    data, extra, description, stored_units, not_volts = _series_payload(ts, buffer_len, steps)
    device = nwbfile.create_device(
        name="device", description="recording device (written by neurolint)"
    )
    group = nwbfile.create_electrode_group(
        name="electrodes", description="all channels", location="unknown", device=device
    )
    nwbfile.add_electrode_column(name="label", description="channel name")
    nwbfile.add_electrode_column(
        name="type", description=f"channel type, one of {', '.join(CHANNEL_TYPES)}"
    )
    if not_volts:
        nwbfile.add_electrode_column(
            name="unit", description="unit the channel's data are stored in"
        )
    positions = info.positions
    for i, name in enumerate(info.names):
        row: dict[str, Any] = {
            "location": "unknown",
            "group": group,
            "label": name,
            "type": info.types[i],
        }
        if positions is not None:
            # NWB asks for micrometres; neurolint keeps metres.
            row.update(zip(("x", "y", "z"), (float(v) * 1e6 for v in positions[i]), strict=True))
        if not_volts:
            row["unit"] = stored_units[i]
        nwbfile.add_electrode(**row)
    region = nwbfile.create_electrode_table_region(list(range(ts.n_channels)), "all channels")
    nwbfile.add_acquisition(
        pynwb.ecephys.ElectricalSeries(
            name="ElectricalSeries",
            data=data,
            electrodes=region,
            rate=float(ts.sampling_rate),
            # Where the samples start on the session's clock (a slice, MNE's first_samp).
            starting_time=start_seconds(ts),
            description=description,
            **extra,
        )
    )


def _add_movie(nwbfile: Any, movie: Movie, buffer_len: int, pynwb: Any) -> None:
    device = nwbfile.create_device(
        name="microscope", description="placeholder written by neurolint"
    )
    channel = pynwb.ophys.OpticalChannel(
        name="OpticalChannel", description="placeholder: unknown", emission_lambda=float("nan")
    )
    plane = nwbfile.create_imaging_plane(
        name="ImagingPlane",
        optical_channel=channel,
        description="placeholder metadata written by neurolint",
        device=device,
        excitation_lambda=float("nan"),
        indicator="unknown",
        location="unknown",
        imaging_rate=float(movie.frame_rate),
        **(
            {}
            if movie.pixel_size is None
            else {
                "grid_spacing": [float(s) * 1e-6 for s in movie.pixel_size],
                "grid_spacing_unit": "meters",
            }
        ),
    )
    # Integer movies keep their type (no float32 blow-up); anything else is written as float32.
    stored = np.dtype(movie.stored_dtype)
    dtype = stored if stored.kind in "iu" else np.dtype(np.float32)
    data = _chunk_iterator_class()(movie, dtype, buffer_len)
    nwbfile.add_acquisition(
        pynwb.ophys.TwoPhotonSeries(
            name="TwoPhotonSeries",
            data=data,
            imaging_plane=plane,
            rate=float(movie.frame_rate),
            starting_time=0.0,
            unit=str(movie.meta.get("unit") or "n/a"),
            description="Frames written by neurolint.",
        )
    )


def write_nwb(
    obj: TimeSeries | Movie, path: Path | str, *, overwrite: bool = False, **job_kwargs: Any
) -> None:
    """Write a TimeSeries or a Movie as an NWB file, chunk by chunk, atomically.

    A TimeSeries read from an ElectricalSeries of an NWB file that still exists (a
    correction of one, a slice, a pick) is written as a copy of that file with the series'
    samples replaced (:mod:`neurolint.io.nwb_export`): subject, devices, the electrodes
    table, other series, processing modules and tables are kept. Otherwise a new file:

    A TimeSeries becomes an ``ElectricalSeries`` in ``acquisition`` with an electrodes table
    (``label``, ``type`` and, when known, ``x``/``y``/``z`` in micrometres), one device and
    one electrode group, stored as float32 in volts (channels in mV/uV/nV are converted).
    Channels whose units are not volts (``"a.u."``, tesla...) are stored as they are with
    conversion 1.0; the series description and an electrodes ``unit`` column say so. A
    series stored as integers (:attr:`TimeSeries.integer_storage`, with no offsets: an int16
    probe and :func:`neurolint.fix`'s output of one) keeps them, with each channel's gain
    as its ``channel_conversion``, so unchanged samples keep their counts; a channel whose
    values no longer fit gets a peak-based gain of its own (a pass over the data first), and
    NaN or inf samples make it float32.

    A Movie becomes a ``TwoPhotonSeries`` with an ``ImagingPlane`` and ``OpticalChannel``
    holding placeholder metadata, ``rate`` the frame rate and ``grid_spacing`` the pixel size
    (in metres). Integer frames keep their dtype; others are stored as float32.

    Parameters
    ----------
    obj : TimeSeries | Movie
    path : Path | str
        The output ``.nwb`` file.
    overwrite : bool
        Replace an existing file. default: ``False``.
    **job_kwargs
        ``chunk_duration`` sets how much is read and written at once (default ``"1s"``).

    Notes
    -----
    ``session_start_time`` is ``obj.meta["meas_date"]`` when present, else now. A time
    series' ``meta["annotations"]`` become the ``intervals/annotations`` table.
    """
    pynwb = import_optional("pynwb", "nwb")
    opts = job_options(**job_kwargs)
    if not isinstance(obj, (TimeSeries, Movie)):
        raise UnsupportedFormatError(
            f"NWB output holds a TimeSeries or a Movie, not a {type(obj).__name__}."
        )
    buffer_len = max(1, round(opts.chunk_duration * obj.sampling_rate))

    def write(steps: np.ndarray | None) -> None:
        with atomic_path(path, overwrite) as tmp:
            if isinstance(obj, TimeSeries) and can_export(obj):
                payload = partial(_series_payload, buffer_len=buffer_len, steps=steps)
                try:
                    if export_series(obj, tmp, payload, pynwb):
                        return
                except _OutOfRange:
                    raise
                except Exception as exc:  # noqa: BLE001 - pynwb/hdmf raise many kinds
                    # The series itself still gets written; say what is not carried over.
                    logger.warning(
                        "%s: could not copy the rest of %s (%s: %s); writing the series "
                        "alone in a new NWB file",
                        Path(path).name,
                        obj.source,
                        type(exc).__name__,
                        str(exc).split("\n")[0],
                    )
            nwbfile = _new_file(obj, pynwb)
            if isinstance(obj, TimeSeries):
                _add_timeseries(nwbfile, obj, buffer_len, pynwb, steps)
                add_annotations(nwbfile, obj, pynwb, start=start_seconds(obj))
            else:
                _add_movie(nwbfile, obj, buffer_len, pynwb)
            with pynwb.NWBHDF5IO(str(tmp), "w") as io:
                io.write(nwbfile)

    steps = _integer_steps(obj) if isinstance(obj, TimeSeries) else None
    try:
        write(steps)
    except _OutOfRange:
        # A correction left the stored range: new gains for the channels that left it.
        steps = _refit_steps(obj, steps, job_kwargs)
        try:
            write(steps)
        except _OutOfRange:
            write(None)  # the data changed between passes: float32
