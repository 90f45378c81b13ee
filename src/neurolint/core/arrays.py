"""Array-likes that back lazy series: read only what is asked, pickle cheaply.

A backing store is anything with ``shape``, ``dtype`` and ``__getitem__`` taking a tuple of
slices and integer arrays: a numpy array, an h5py dataset, a nibabel ``ArrayProxy``, or one of
the classes below. Stores tied to a file are rebuilt from their arguments in each process
(SpikeInterface's ``_kwargs`` idea), so a series sent to a worker carries a path, not data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import CorruptFileError, InputNotFoundError, ShapeError

__all__ = [
    "BinaryFileArray",
    "LazyArray",
    "as_backing_array",
    "column_tiles",
    "split_row_key",
    "zero_nonfinite",
]


class LazyArray:
    """An array-like opened on first use by a picklable ``opener`` and reopened after pickling.

    Parameters
    ----------
    opener : callable
        Picklable callable with no arguments returning the array-like (e.g. a
        ``functools.partial`` of a module-level function).
    shape, dtype :
        Known up front so that inspecting metadata never opens the file.
    """

    def __init__(self, opener: Callable[[], Any], shape: tuple[int, ...], dtype: Any) -> None:
        self.opener = opener
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self._array: Any = None

    @property
    def array(self) -> Any:
        """The opened array-like."""
        if self._array is None:
            self._array = self.opener()
        return self._array

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.array[key])

    def __getstate__(self) -> dict[str, Any]:
        # Never ship the open handle or data: the worker reopens.
        return {"opener": self.opener, "shape": self.shape, "dtype": self.dtype, "_array": None}

    def __repr__(self) -> str:
        return f"LazyArray({self.opener!r}, shape={self.shape}, dtype={self.dtype})"


class BinaryFileArray:
    """A 2-D array stored in a flat binary file, mapped one read at a time.

    One memory map over the whole file keeps every page it touched in the process's resident
    memory, so streaming a large file through it makes resident memory grow with the file.
    Mapping only the rows of each read, and dropping the map with the block, keeps resident
    memory bounded by the chunk size at the speed of a memory map. Pickles as its path.

    Parameters
    ----------
    path : str or path-like
        The binary file.
    dtype : numpy dtype
        Sample type as stored (endianness included, e.g. ``"<i2"``).
    shape : tuple of 2 ints
        Shape in C order as stored, e.g. ``(n_samples, n_channels)`` for interleaved data.
    offset : int
        Bytes to skip at the start (a header). default: 0.
    """

    def __init__(
        self, path: str | os.PathLike, dtype: Any, shape: tuple[int, int], offset: int = 0
    ):
        self.path = os.fspath(path)
        self.dtype = np.dtype(dtype)
        self.shape = (int(shape[0]), int(shape[1]))
        self.offset = int(offset)

    ndim = 2

    def _read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (all columns), mapped for this read only.

        The map lives as long as the returned array: callers copy (convert) and drop it, so
        the pages leave resident memory with it, and reading costs no extra copy.
        """
        n_cols = self.shape[1]
        if stop <= start:
            return np.empty((0, n_cols), dtype=self.dtype)
        row_bytes = n_cols * self.dtype.itemsize
        try:
            return np.memmap(
                self.path,
                dtype=self.dtype,
                mode="r",
                offset=self.offset + start * row_bytes,
                shape=(stop - start, n_cols),
            )
        except FileNotFoundError:
            raise InputNotFoundError(
                f"File not found: {self.path}; check the path or that the file was not moved."
            ) from None
        except ValueError:
            raise CorruptFileError(
                f"{self.path} ended early: rows {start}:{stop} lie past its end; the file is "
                "truncated or its shape/dtype is wrong."
            ) from None

    def __getitem__(self, key: Any) -> np.ndarray:
        start, stop, cols = split_row_key(key, self.shape[0], type(self).__name__)
        block = self._read_rows(start, stop)
        return block if isinstance(cols, slice) and cols == slice(None) else block[:, cols]

    def __repr__(self) -> str:
        return (
            f"BinaryFileArray({self.path!r}, dtype={self.dtype.str!r}, shape={self.shape}, "
            f"offset={self.offset})"
        )


def zero_nonfinite(x: np.ndarray) -> np.ndarray:
    """Set NaN and infinite samples of the float array ``x`` to 0, in place; return ``x``.

    ``np.nan_to_num`` makes three passes and a copy even when every sample is finite,
    which costs a wide probe's hot loops several times the work around them.
    """
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = 0.0
    return x


def column_tiles(block: np.ndarray, values: int = 1 << 20) -> list[slice]:
    """Column slices of the 2-D ``block`` holding about ``values`` values each.

    For float64 work on wide blocks, a tile at a time: whole-block temporaries of a probe
    are hundreds of MB of fresh pages each, slower to map than to compute.
    """
    step = max(1, values // max(1, block.shape[0]))
    return [slice(c, c + step) for c in range(0, block.shape[1], step)]


def split_row_key(key: Any, n_rows: int, owner: str) -> tuple[int, int, Any]:
    """Split a 2-D index into a contiguous row range and the column index.

    For stores that read whole row ranges (files, SpikeInterface recordings).
    """
    if not isinstance(key, tuple):
        key = (key,)
    rows, cols = key + (slice(None),) * (2 - len(key))
    if not isinstance(rows, slice) or rows.step not in (None, 1):
        raise ShapeError(f"{owner} reads contiguous row ranges only.")
    start, stop, _ = rows.indices(n_rows)
    return start, max(start, stop), cols


def _open_memmap(filename: str, dtype: Any, shape: tuple[int, ...], offset: int, order: str):
    return np.memmap(filename, dtype=dtype, mode="r", shape=shape, offset=offset, order=order)


def as_backing_array(data: Any) -> Any:
    """Wrap ``data`` so that pickling it sends a path rather than its contents where possible."""
    from functools import partial

    if isinstance(data, np.memmap) and getattr(data, "filename", None):
        order = "F" if data.flags.f_contiguous and not data.flags.c_contiguous else "C"
        opener = partial(_open_memmap, data.filename, data.dtype, data.shape, data.offset, order)
        return LazyArray(opener, data.shape, data.dtype)
    if isinstance(data, (np.ndarray, LazyArray, BinaryFileArray)):
        return data
    if all(hasattr(data, a) for a in ("shape", "dtype", "__getitem__")):
        return data
    return np.asarray(data)
