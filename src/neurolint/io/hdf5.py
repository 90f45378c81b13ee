"""HDF5 datasets: 2-D as a TimeSeries, 3-D as a Movie, 4-D as a VolumeSeries.

The dataset is named after a colon, ``"file.h5:/group/data"``; a file holding a single
2-D-or-larger dataset needs no name. Metadata come from the dataset's attributes (the ones
:func:`write_hdf5` writes), with reader options taking precedence.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..core.arrays import LazyArray
from ..core.channels import ChannelInfo
from ..core.errors import CorruptFileError, DataValueError, ParameterError, ShapeError
from ..core.imaging import Movie, VolumeSeries
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive
from ._atomic import atomic_path

__all__ = ["read_hdf5", "write_hdf5"]

_RATE_ATTRS = ("sampling_rate", "sfreq", "fs", "rate", "sample_rate", "sampling_frequency")
_FRAME_RATE_ATTRS = ("frame_rate", "fps", "rate", "sampling_rate")
_TR_ATTRS = ("tr", "TR", "repetition_time", "RepetitionTime")
#: Target size of one chunk of a written dataset (HDF5 reads whole chunks).
_CHUNK_BYTES = 1 << 20


def _open_dataset(path: str, name: str) -> Any:
    """Open one dataset read-only (module-level so that it pickles); the file stays open."""
    import h5py

    return h5py.File(path, "r")[name]


def _datasets(h5file: Any) -> list[tuple[str, tuple[int, ...]]]:
    """Every dataset in the file as ``(absolute name, shape)``."""
    import h5py

    found: list[tuple[str, tuple[int, ...]]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found.append(("/" + name, tuple(obj.shape or ())))

    h5file.visititems(visit)
    return found


def _listing(datasets: list[tuple[str, tuple[int, ...]]]) -> str:
    shown = ", ".join(f"{name} {shape}" for name, shape in datasets[:10])
    return shown + (f" and {len(datasets) - 10} more" if len(datasets) > 10 else "")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _attr(attrs: Any, keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` present in ``attrs``, as a plain Python value (else ``None``)."""
    for key in keys:
        if key in attrs:
            value = attrs[key]
            if isinstance(value, np.ndarray):
                if value.dtype.kind in "OSU":
                    return [_text(v) for v in value.ravel()]
                return value.item() if value.size == 1 and key not in ("affine",) else value
            if isinstance(value, np.generic):
                return value.item()
            return _text(value) if isinstance(value, bytes) else value
    return None


def _rate(option: Any, attrs: Any, keys: tuple[str, ...], name: str, path: Path, ds: str) -> float:
    if option is not None:
        return check_positive(name, option)
    value = _attr(attrs, keys)
    if value is None:
        raise ParameterError(
            f"{path.name}:{ds} does not record its {name.replace('_', ' ')} (attribute "
            f"{keys[0]!r}); pass {name}= (CLI: --option {name}=...)."
        )
    return check_positive(f"{name} attribute of {ds}", value)


def read_hdf5(
    path: Path,
    *,
    dataset: str | None = None,
    sampling_rate: float | None = None,
    frame_rate: float | None = None,
    tr: float | None = None,
    layout: str | None = None,
    channel_names: list[str] | None = None,
) -> TimeSeries | Movie | VolumeSeries:
    """Read one HDF5 dataset lazily.

    Parameters
    ----------
    path : Path
        The HDF5 file.
    dataset : str | None
        Dataset path inside the file, as in ``file.h5:/group/data``. default: ``None`` (the
        only dataset with at least two dimensions).
    sampling_rate : float | None
        For a 2-D dataset. default: attribute ``sampling_rate``, ``sfreq``, ``fs`` or ``rate``.
    frame_rate : float | None
        For a 3-D dataset (frames, height, width). default: attribute ``frame_rate``.
    tr : float | None
        For a 4-D dataset (volumes, x, y, z), in seconds. default: attribute ``tr``.
    layout : {"channels_first", "samples_first"} | None
        For a 2-D dataset. default: attribute ``layout``, else channels first when the first
        axis is the shorter one.
    channel_names : list of str | str | None
        Names, or one comma-separated string. default: attribute ``channel_names``, else
        ``ch000``...

    Returns
    -------
    TimeSeries | Movie | VolumeSeries
        Backed by the dataset; pickles as the file path and dataset name.

    Raises
    ------
    ParameterError
        If the dataset is missing or ambiguous (the message lists the datasets), or no rate
        is known.
    DataValueError
        If the dataset does not hold real numbers.
    """
    import h5py

    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise CorruptFileError(f"{path} is not a readable HDF5 file ({exc}).") from None
    with h5:
        available = _datasets(h5)
        if dataset is None:
            candidates = [(n, s) for n, s in available if len(s) >= 2]
            if len(candidates) != 1:
                what = "no dataset" if not candidates else f"{len(candidates)} datasets"
                listing = _listing(available) if available else "none"
                example = (candidates or available or [("/name", ())])[0][0]
                raise ParameterError(
                    f"{path.name} holds {what} with 2 or more dimensions (datasets: {listing}); "
                    f"name one after a colon, e.g. {path.name}:{example}."
                )
            name = candidates[0][0]
        else:
            name = "/" + dataset.strip().lstrip("/")
            obj = h5.get(name)
            if not isinstance(obj, h5py.Dataset):
                kind = "is a group, not a dataset" if obj is not None else "does not exist"
                example = available[0][0] if available else "/name"
                raise ParameterError(
                    f"{name} {kind} in {path.name}; available datasets: "
                    f"{_listing(available) or 'none'} (name one as {path.name}:{example})."
                )
        ds = h5[name]
        shape = tuple(int(s) for s in ds.shape or ())
        dtype = ds.dtype
        attrs = {key: ds.attrs[key] for key in ds.attrs}
    if dtype.kind not in "biuf":
        raise DataValueError(
            f"{path.name}:{name} holds {dtype} values, not real numbers; choose a numeric dataset."
        )
    ndim = len(shape)
    store = LazyArray(partial(_open_dataset, str(path), name), shape, dtype)
    source = f"{path}:{name}"
    meta = {"format": "hdf5", "dataset": name}
    if ndim == 2:
        if frame_rate is not None or tr is not None:
            raise ParameterError(
                f"{name} is 2-D (a time series): give sampling_rate=, not frame_rate= or tr=."
            )
        rate = _rate(sampling_rate, attrs, _RATE_ATTRS, "sampling_rate", path, name)
        lay = layout or _attr(attrs, ("layout",))
        if lay is None:
            lay = "channels_first" if shape[0] < shape[1] else "samples_first"
        check_option("layout", lay, ("channels_first", "samples_first"))
        if isinstance(channel_names, str):  # "a,b,c" from the command line
            channel_names = [n.strip() for n in channel_names.split(",")]
        names = channel_names if channel_names is not None else _attr(attrs, ("channel_names",))
        n_ch = shape[0] if lay == "channels_first" else shape[1]
        if names is not None and len(names) != n_ch:
            raise ShapeError(
                f"{len(names)} channel names for {n_ch} channels in {name}; give one name per "
                "channel (or check the layout)."
            )
        positions = _attr(attrs, ("channel_positions",))
        channels = ChannelInfo(
            names if names is not None else [f"ch{i:03d}" for i in range(n_ch)],
            _attr(attrs, ("channel_types",)),
            _attr(attrs, ("units",)),
            None if positions is None else np.asarray(positions, dtype=float).reshape(n_ch, 3),
        )
        return TimeSeries(
            store,
            rate,
            channels,
            layout=lay,
            modality=_attr(attrs, ("modality",)),
            source=source,
            meta=meta,
        )
    if sampling_rate is not None and ndim == 4:
        raise ParameterError(f"{name} is 4-D (volumes): give tr= in seconds, not sampling_rate=.")
    time_axis = int(_attr(attrs, ("time_axis",)) or 0)
    if ndim == 3:
        if tr is not None:
            raise ParameterError(f"{name} is 3-D (a movie): give frame_rate=, not tr=.")
        rate = _rate(
            frame_rate if frame_rate is not None else sampling_rate,
            attrs,
            _FRAME_RATE_ATTRS,
            "frame_rate",
            path,
            name,
        )
        pixel_size = _attr(attrs, ("pixel_size",))
        return Movie(
            store,
            rate,
            pixel_size=None if pixel_size is None else tuple(np.ravel(pixel_size)),
            time_axis=time_axis,
            source=source,
            meta=meta,
        )
    if ndim == 4:
        if frame_rate is not None:
            raise ParameterError(f"{name} is 4-D (volumes): give tr= in seconds, not frame_rate=.")
        rep = _rate(tr, attrs, _TR_ATTRS, "tr", path, name)
        voxel_size = _attr(attrs, ("voxel_size",))
        affine = _attr(attrs, ("affine",))
        return VolumeSeries(
            store,
            rep,
            voxel_size=None if voxel_size is None else tuple(np.ravel(voxel_size)),
            affine=affine,
            time_axis=time_axis,
            source=source,
            meta=meta,
        )
    raise ShapeError(
        f"{path.name}:{name} has shape {shape}; neurolint reads 2-D (time series), 3-D (movie) "
        "or 4-D (volume series) datasets."
    )


def _chunks(shape: tuple[int, ...], time_axis: int) -> tuple[int, ...]:
    """Chunk shape: whole along every other axis, about 1 MiB along time."""
    other = int(np.prod([s for i, s in enumerate(shape) if i != time_axis])) * 4
    n_time = max(1, min(shape[time_axis], _CHUNK_BYTES // max(other, 1)))
    return tuple(n_time if i == time_axis else s for i, s in enumerate(shape))


def write_hdf5(
    obj: TimeSeries | Movie | VolumeSeries,
    path: Path,
    *,
    overwrite: bool = False,
    dataset: str = "/data",
    compression: str | None = None,
    **job_kwargs: Any,
) -> None:
    """Write a series into a new HDF5 file as one chunked float32 dataset, atomically.

    A TimeSeries is stored channels first with attributes ``sampling_rate``, ``layout``,
    ``channel_names``, ``channel_types``, ``units``, ``modality`` (and
    ``channel_positions`` when known); a Movie time first with ``frame_rate`` and
    ``pixel_size``; a VolumeSeries time first with ``tr``, ``voxel_size`` and ``affine``.

    Parameters
    ----------
    obj : TimeSeries | Movie | VolumeSeries
        The series to write.
    path : Path
        Output file (created; an existing file is replaced only with ``overwrite``).
    overwrite : bool
        default: ``False``.
    dataset : str
        Dataset path inside the file, groups created as needed. default: ``"/data"``.
    compression : str | None
        HDF5 filter, e.g. ``"gzip"`` or ``"lzf"``. default: ``None``.
    **job_kwargs
        Chunking options (``chunk_duration``...), see :mod:`neurolint.core.chunks`.
    """
    import h5py

    name = "/" + str(dataset).strip().lstrip("/")
    if name == "/":
        raise ParameterError("dataset= must name a dataset, e.g. '/data'.")
    is_ts = isinstance(obj, TimeSeries)
    time_axis = 1 if is_ts else 0
    shape = tuple(int(s) for s in obj.shape)
    strings = h5py.string_dtype()
    with atomic_path(path, overwrite) as tmp, h5py.File(tmp, "w") as h5:
        ds = h5.create_dataset(
            name,
            shape=shape,
            dtype=np.float32,
            chunks=_chunks(shape, time_axis),
            compression=compression,
        )
        for chunk, block in obj.iter_chunks(**job_kwargs):
            if is_ts:
                ds[:, chunk.start : chunk.stop] = block
            else:
                ds[chunk.start : chunk.stop] = block
        attrs = ds.attrs
        if isinstance(obj, TimeSeries):
            info = obj.channels
            attrs["sampling_rate"] = float(obj.sampling_rate)
            attrs["layout"] = "channels_first"
            attrs["channel_names"] = np.array(info.names, dtype=strings)
            attrs["channel_types"] = np.array(info.types, dtype=strings)
            attrs["units"] = np.array(info.units, dtype=strings)
            attrs["modality"] = obj.modality
            if info.positions is not None:
                attrs["channel_positions"] = np.asarray(info.positions, dtype=float)
        elif isinstance(obj, Movie):
            attrs["frame_rate"] = float(obj.frame_rate)
            if obj.pixel_size is not None:
                attrs["pixel_size"] = np.asarray(obj.pixel_size, dtype=float)
            attrs["time_axis"] = 0
        else:
            attrs["tr"] = float(obj.tr)
            if obj.voxel_size is not None:
                attrs["voxel_size"] = np.asarray(obj.voxel_size, dtype=float)
            attrs["time_axis"] = 0
            if obj.affine is not None:
                attrs["affine"] = np.asarray(obj.affine, dtype=float)
        if obj.source:
            attrs["source"] = str(obj.source)
