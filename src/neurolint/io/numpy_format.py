"""``.npy`` files: read through positioned reads (bounded memory), written chunk by chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.arrays import BinaryFileArray, LazyArray
from ..core.errors import CorruptFileError, ShapeError
from ..core.imaging import Movie, VolumeSeries
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path

__all__ = ["read_npy", "write_npy"]


def _header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    try:
        with open(path, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            return shape, fortran, dtype, fh.tell()
    except ValueError as exc:
        raise CorruptFileError(f"{path} is not a valid .npy file ({exc}).") from None


def _open_npy(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def read_npy(
    path: Path,
    *,
    sampling_rate: float | None = None,
    layout: str | None = None,
    channel_names: list[str] | None = None,
    frame_rate: float | None = None,
    tr: float | None = None,
) -> TimeSeries | Movie | VolumeSeries:
    """Read a ``.npy``: 2-D as a TimeSeries, 3-D as a Movie, 4-D as a VolumeSeries.

    A 2-D array is channels-first unless ``layout="samples_first"``; the rate must be given
    (``sampling_rate=``, ``frame_rate=`` or ``tr=``) since ``.npy`` cannot carry it.
    """
    shape, fortran, dtype, offset = _header(path)
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size < expected:
        raise CorruptFileError(
            f"{path} is truncated: {path.stat().st_size} bytes for an array that needs {expected}."
        )
    if dtype.hasobject:
        raise CorruptFileError(f"{path} holds Python objects, which neurolint does not load.")
    ndim = len(shape)
    if ndim == 2:
        if sampling_rate is None:
            raise ShapeError(f"{path.name} does not store a rate; pass sampling_rate= (--option).")
        lay = layout or "channels_first"
        # Interleaved C-order rows are read one range at a time (bounded memory); other
        # layouts go through numpy's memory map.
        store: Any = (
            BinaryFileArray(path, dtype, shape, offset)
            if lay == "samples_first" and not fortran
            else LazyArray(_partial_open(path), shape, dtype)
        )
        return TimeSeries(store, sampling_rate, channel_names, layout=lay, source=str(path),
                          meta={"format": "npy"})  # fmt: skip
    store = LazyArray(_partial_open(path), shape, dtype)
    if ndim == 3:
        if frame_rate is None:
            raise ShapeError(f"{path.name} does not store a frame rate; pass frame_rate=.")
        return Movie(store, frame_rate, source=str(path), meta={"format": "npy"})
    if ndim == 4:
        if tr is None:
            raise ShapeError(f"{path.name} does not store a TR; pass tr=.")
        return VolumeSeries(store, tr, source=str(path), meta={"format": "npy"})
    raise ShapeError(f"{path.name} has {ndim} dimensions; neurolint reads 2-D, 3-D or 4-D arrays.")


def _partial_open(path: Path) -> Any:
    from functools import partial

    return partial(_open_npy, str(path))


def write_npy(obj: Any, path: Path, *, overwrite: bool = False, **job_kwargs: Any) -> None:
    """Write the series as float32, chunk by chunk, in its ``get_data`` layout."""
    with atomic_path(path, overwrite) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=obj.shape)
        for chunk, block in obj.iter_chunks(**job_kwargs):
            if isinstance(obj, TimeSeries):
                out[:, chunk.start : chunk.stop] = block
            else:
                out[chunk.start : chunk.stop] = block
            out.flush()
        del out
