"""Multipage TIFF movies (plain, ImageJ hyperstack, OME-TIFF, tifffile "shaped").

Reading is lazy: uncompressed contiguous data are memory-mapped, anything else is read page
by page, only the frames asked for. Either way the series pickles as the file's path.
Writing produces an ImageJ-compatible float32 hyperstack (a BigTIFF beyond 4 GB) that
records the frame rate and the pixel size.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..core.arrays import LazyArray
from ..core.errors import CorruptFileError, ParameterError, ShapeError
from ..core.imaging import Movie
from ..core.validate import check_positive
from ._atomic import atomic_path

__all__ = ["read_tiff", "write_tiff"]

#: Files at least this large are written as BigTIFF: classic TIFF offsets stop at 4 GiB
#: (the margin leaves room for one IFD per frame).
BIGTIFF_BYTES = 2**32 - 2**25

# Length units → micrometres (ImageJ's ``unit`` and OME's ``PhysicalSizeXUnit`` spellings).
_LENGTH_UM = {
    "um": 1.0,
    "µm": 1.0,
    "μm": 1.0,
    "\\u00b5m": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "inch": 25400.0,
    "in": 25400.0,
}
# Time units → seconds (ImageJ's ``tunit``, OME's ``TimeIncrementUnit``).
_TIME_S = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 1e-3,
    "msec": 1e-3,
    "millisecond": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "\\u00b5s": 1e-6,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
# Baseline TIFF ResolutionUnit (2 inch, 3 centimetre) plus tifffile's 4 mm and 5 µm.
_RESUNIT_UM = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}


class TiffFrames:
    """Frames of a TIFF series read on demand, one page per frame.

    Used for compressed or scattered data, which cannot be memory-mapped. Only the pages of
    the requested frames are read and decoded.

    Parameters
    ----------
    path : str
        The TIFF file.
    series : int
        Index of the series in the file.
    shape : tuple of 3 ints
        ``(n_frames, height, width)``.
    dtype : numpy dtype
        Sample type of the series.
    """

    ndim = 3

    def __init__(self, path: str, series: int, shape: tuple[int, int, int], dtype: Any) -> None:
        self.path = str(path)
        self.series = int(series)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self._tif: Any = None
        self._whole: np.ndarray | None = None
        # TiffFile reads through one file handle: serialise threads that share this object.
        self._lock = threading.Lock()

    def _file(self) -> Any:
        if self._tif is None:
            import tifffile

            self._tif = tifffile.TiffFile(self.path)
        return self._tif

    def _read_frames(self, frames: range) -> np.ndarray:
        n, h, w = self.shape
        if len(frames) == 0:
            return np.empty((0, h, w), dtype=self.dtype)
        with self._lock:
            tif = self._file()
            series = tif.series[self.series]
            if len(series.pages) == n:
                block = tif.asarray(key=list(frames), series=self.series)
                return np.asarray(block).reshape(len(frames), h, w)
            # Pages do not map onto frames (e.g. one page holding a 3-D stack): decode the
            # whole series once; such files hold one page anyway.
            if self._whole is None:
                self._whole = np.asarray(series.asarray()).reshape(n, h, w)
            return self._whole[frames.start : frames.stop : frames.step]

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            key = key[:i] + (slice(None),) * (3 - len(key) + 1) + key[i + 1 :]
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)) and not isinstance(first, bool):
            index = range(self.shape[0])[int(first)]  # raises IndexError when out of range
            return self._read_frames(range(index, index + 1))[(0, *rest)]
        if not isinstance(first, slice):
            raise ShapeError("TIFF frames are read by integer or slice on the time axis only.")
        block = self._read_frames(range(*first.indices(self.shape[0])))
        return block[(slice(None), *rest)] if rest else block

    def close(self) -> None:
        """Close the file (it reopens on the next read)."""
        if self._tif is not None:
            self._tif.close()
            self._tif = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "series": self.series, "shape": self.shape, "dtype": self.dtype}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["series"], state["shape"], state["dtype"])  # type: ignore[misc]

    def __del__(self) -> None:
        # Close explicitly: an unclosed file would raise ResourceWarning at collection.
        if getattr(self, "_tif", None) is not None:
            self._tif.close()

    def __repr__(self) -> str:
        return (
            f"TiffFrames({self.path!r}, series={self.series}, shape={self.shape}, "
            f"dtype={self.dtype})"
        )


class _LogErrors(logging.Handler):
    """Collect the errors tifffile logs (instead of raising) while it parses a file."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # tifffile prefixes its messages with the file's repr: keep what follows.
        self.messages.append(message.split("> ", 1)[-1] if message.startswith("<") else message)


def _open_tiff(
    path: str, series: int, shape: tuple[int, int, int], dtype: Any, memmap: bool
) -> Any:
    """Open the frames of a TIFF series (module-level so that it pickles)."""
    if memmap:
        import tifffile

        return tifffile.memmap(path, mode="r", series=series).reshape(shape)
    return TiffFrames(path, series, shape, dtype)


def _as_pair(name: str, value: Any) -> tuple[float, float]:
    """A pixel size given as one number, two numbers, or a string such as ``"0.5,0.6"``."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip("()[] ")) if v]
    values = list(np.atleast_1d(np.asarray(value, dtype=object)))
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise ParameterError(f"{name}={value!r} must be one number or two (rows, columns) in µm.")
    return check_positive(name, values[0]), check_positive(name, values[1])


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _imagej_rate(meta: dict[str, Any]) -> float | None:
    """Frame rate from ImageJ's ``finterval`` (in ``tunit``) or ``fps``."""
    interval = _number(meta.get("finterval"))
    fps = _number(meta.get("fps"))
    if interval is not None:
        interval *= _TIME_S.get(str(meta.get("tunit", "s")).strip().lower(), 1.0)
        # Prefer fps when it agrees with finterval: it is exact, 1/finterval may not be.
        if fps is not None and abs(fps * interval - 1.0) < 1e-9:
            return fps
        return 1.0 / interval
    return fps


def _ome_pixels(xml: str | None) -> dict[str, str]:
    """Attributes of the first OME ``Pixels`` element (empty if there is none)."""
    if not xml:
        return {}
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Pixels":
            return dict(element.attrib)
    return {}


def _resolution_pixel_size(page: Any, unit_um: float | None) -> tuple[float, float] | None:
    """(row, column) pixel size from the Y/XResolution tags, if their unit is known."""
    tags = page.tags
    if unit_um is None:
        resunit = tags.get("ResolutionUnit")
        unit_um = _RESUNIT_UM.get(int(resunit.value)) if resunit is not None else None
    if unit_um is None:
        return None
    sizes = []
    for name in ("YResolution", "XResolution"):
        tag = tags.get(name)
        if tag is None:
            return None
        num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
        if not num or not den:
            return None
        sizes.append(unit_um * den / num)
    return sizes[0], sizes[1]


def _metadata(tif: Any) -> tuple[float | None, tuple[float, float] | None, str]:
    """Frame rate, pixel size and the flavour of TIFF, from whatever metadata the file has."""
    page = tif.pages[0]
    if tif.is_imagej:
        meta = tif.imagej_metadata or {}
        unit = str(meta.get("unit", "")).strip().lower()
        return _imagej_rate(meta), _resolution_pixel_size(page, _LENGTH_UM.get(unit)), "imagej"
    if tif.is_ome:
        pixels = _ome_pixels(tif.ome_metadata)
        rate = None
        step = _number(pixels.get("TimeIncrement"))
        if step is not None:
            step *= _TIME_S.get(pixels.get("TimeIncrementUnit", "s").strip().lower(), 1.0)
            rate = 1.0 / step
        pixel_size = None
        sizes = [_number(pixels.get(f"PhysicalSize{ax}")) for ax in "YX"]
        if all(s is not None for s in sizes):
            factors = [
                _LENGTH_UM.get(pixels.get(f"PhysicalSize{ax}Unit", "µm").strip().lower(), 1.0)
                for ax in "YX"
            ]
            pixel_size = (sizes[0] * factors[0], sizes[1] * factors[1])  # type: ignore[operator]
        return rate, pixel_size, "ome"
    if tif.is_shaped:
        meta = (tif.shaped_metadata or ({},))[0] or {}
        rate = _number(meta.get("frame_rate")) or _number(meta.get("fps"))
        if rate is None and _number(meta.get("finterval")) is not None:
            rate = 1.0 / float(meta["finterval"])
        pixel_size = None
        if meta.get("pixel_size") is not None:
            try:
                pixel_size = _as_pair("pixel_size", meta["pixel_size"])
            except ParameterError:
                pixel_size = None
        return rate, pixel_size or _resolution_pixel_size(page, None), "shaped"
    return None, _resolution_pixel_size(page, None), "plain"


def read_tiff(
    path: Path,
    *,
    frame_rate: float | None = None,
    pixel_size: float | tuple[float, float] | None = None,
) -> Movie:
    """Read a multipage TIFF lazily as a :class:`~neurolint.core.imaging.Movie`.

    One 2-D page per frame, or an ImageJ/OME hyperstack whose first series is
    ``(time, y, x)``. A single 2-D image is a movie of one frame. Uncompressed contiguous
    data are memory-mapped; compressed data are decoded page by page, only the frames read.

    Parameters
    ----------
    path : Path
        The ``.tif``/``.tiff`` file.
    frame_rate : float | None
        Frames per second. default: ``None`` (from ImageJ ``finterval``/``fps``, OME
        ``TimeIncrement`` or tifffile metadata; an error if the file records none).
    pixel_size : float | tuple of 2 floats | None
        Pixel size in µm, (rows, columns) or one value for both. default: ``None`` (from the
        resolution tags or OME ``PhysicalSizeX/Y``; 1 µm when unknown).

    Returns
    -------
    Movie
        Frames time first; ``meta["format"] == "tiff"``.

    Raises
    ------
    ParameterError
        If the file records no frame rate and ``frame_rate`` is not given.
    ShapeError
        If the first series is not a stack of 2-D grayscale frames.
    """
    import tifffile

    path = Path(path)
    errors = _LogErrors()
    logger = logging.getLogger("tifffile")
    logger.addHandler(errors)
    # Captured here and raised as one clear error, so not also printed by tifffile's logger.
    propagate, level = logger.propagate, logger.level
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0] if tif.series else None
            file_rate, file_pixel_size, flavour = _metadata(tif)
            if series is not None:
                shape = tuple(int(s) for s in series.shape)
                axes = str(series.axes)
                dtype = np.dtype(series.dtype)
                offset = series.dataoffset
    except tifffile.TiffFileError as exc:
        raise CorruptFileError(f"{path} is not a readable TIFF file ({exc}).") from None
    finally:
        logger.removeHandler(errors)
        logger.propagate = propagate
        logger.setLevel(level)
    # tifffile logs a broken page chain and returns the pages before it; that would silently
    # shorten the movie, so it is an error here.
    if errors.messages:
        raise CorruptFileError(
            f"{path} is truncated or corrupt ({errors.messages[0]}); re-copy or re-export it."
        )
    if series is None:
        raise CorruptFileError(f"{path} holds no image series; check that it is complete.")
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or axes[-2:] != "YX":
        raise ShapeError(
            f"{path.name} holds a {axes} series of shape {shape}; neurolint reads movies of 2-D "
            "grayscale frames (time, y, x): split channels, planes or colours into separate files."
        )
    if dtype.kind not in "biuf":
        raise ShapeError(f"{path.name} stores {dtype} samples; neurolint reads real-valued images.")
    if frame_rate is not None:
        rate = check_positive("frame_rate", frame_rate)
    elif file_rate is not None:
        rate = file_rate
    else:
        raise ParameterError(
            f"{path.name} does not record its frame rate; pass frame_rate= "
            "(CLI: --option frame_rate=8)."
        )
    size = _as_pair("pixel_size", pixel_size) if pixel_size is not None else file_pixel_size
    memmap = offset is not None and dtype.isnative
    if memmap:
        needed = int(offset) + int(np.prod(shape)) * dtype.itemsize
        if path.stat().st_size < needed:
            raise CorruptFileError(
                f"{path} is truncated: {path.stat().st_size} bytes where its frames need {needed}; "
                "re-copy or re-export the file."
            )
    opener = partial(_open_tiff, str(path), 0, shape, dtype, memmap)
    return Movie(
        LazyArray(opener, shape, dtype),
        rate,
        pixel_size=size,
        source=str(path),
        meta={"format": "tiff", "tiff_flavour": flavour, "memmap": bool(memmap)},
    )


def _frames(movie: Movie, job_kwargs: dict[str, Any]) -> Any:
    """Yield the movie's frames one at a time as float32, reading chunk by chunk."""
    for _, block in movie.iter_chunks(**job_kwargs):
        yield from np.asarray(block, dtype=np.float32)


def write_tiff(movie: Movie, path: Path, *, overwrite: bool = False, **job_kwargs: Any) -> None:
    """Write a movie as a float32 multipage TIFF, chunk by chunk, atomically.

    The file is an ImageJ hyperstack (axes ``TYX``) storing the frame rate (``finterval`` and
    ``fps``) and the pixel size (X/YResolution in µm), which :func:`read_tiff` reads back.
    Beyond 4 GiB it is a BigTIFF with the same values in tifffile's JSON description,
    since ImageJ hyperstacks cannot be BigTIFF.

    Parameters
    ----------
    movie : Movie
        The movie to write.
    path : Path
        Output ``.tif``/``.tiff`` file.
    overwrite : bool
        Replace an existing file. default: ``False``.
    **job_kwargs
        Chunking options (``chunk_duration``...), see :mod:`neurolint.core.chunks`.
    """
    import tifffile

    n, h, w = movie.shape
    rate = float(movie.frame_rate)
    big = movie.nbytes + n * 512 >= BIGTIFF_BYTES
    options: dict[str, Any] = {}
    if big:
        # ImageJ hyperstacks cannot be BigTIFF: keep the values in tifffile's JSON instead.
        opener = {"bigtiff": True}
        metadata: dict[str, Any] = {"axes": "TYX", "frame_rate": rate}
    else:
        opener = {"imagej": True}
        metadata = {"axes": "TYX", "finterval": 1.0 / rate, "fps": rate}
    if movie.pixel_size is not None:  # an unknown size is left out, not invented
        py, px = (float(s) for s in movie.pixel_size)
        metadata["unit"] = "um"
        if big:
            metadata["pixel_size"] = [py, px]
            # Baseline unit (centimetre) so that other readers understand it.
            options["resolution"] = (1e4 / px, 1e4 / py)
            options["resolutionunit"] = "CENTIMETER"
        else:
            options["resolution"] = (1.0 / px, 1.0 / py)
    with atomic_path(path, overwrite) as tmp, tifffile.TiffWriter(tmp, **opener) as tw:
        tw.write(
            _frames(movie, job_kwargs),
            shape=(n, h, w),
            dtype=np.float32,
            photometric="minisblack",
            metadata=metadata,
            **options,
        )
