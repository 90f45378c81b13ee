"""Imaging series: two-photon movies and fMRI volume series, lazy like TimeSeries."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import as_backing_array
from .errors import EmptyRecordingError, ShapeError
from .series import BaseSeries
from .validate import check_positive

__all__ = ["Movie", "VolumeSeries"]


class _FrameSeries(BaseSeries):
    """A series of frames (2-D images or 3-D volumes) stored with time on one axis."""

    _ndim = 3
    _time_unit = "frames"
    time_axis = 0

    def __init__(
        self,
        data: Any,
        rate: float,
        *,
        time_axis: int,
        spacing: tuple[float, ...] | None,
        source: str | None,
        meta: dict | None,
    ) -> None:
        data = as_backing_array(data)
        if len(data.shape) != self._ndim:
            raise ShapeError(
                f"{type(self).__name__} needs a {self._ndim}-D array; got shape {data.shape}."
            )
        time_axis = int(time_axis) % self._ndim
        if time_axis not in (0, self._ndim - 1):
            raise ShapeError("The time axis must be the first or the last axis.")
        spatial = tuple(s for i, s in enumerate(data.shape) if i != time_axis)
        if 0 in spatial:
            raise EmptyRecordingError(f"The frames have an empty dimension {spatial}.")
        super().__init__(rate, data.shape[time_axis], source, meta)
        self._data = data
        self._time_axis = time_axis
        self._frame_shape = tuple(int(s) for s in spatial)
        n_sp = self._ndim - 1
        # Unknown stays None: writers must not record a made-up size as if it were measured.
        if spacing is not None:
            spacing = tuple(float(s) for s in spacing)
            if len(spacing) != n_sp or not all(s > 0 for s in spacing):
                raise ShapeError(
                    f"Give {n_sp} positive spacing values (one per spatial axis); got {spacing}."
                )
        self._spacing = spacing

    @property
    def n_frames(self) -> int:
        return self._n_times

    @property
    def shape(self) -> tuple[int, ...]:
        return (self._n_times, *self._frame_shape)

    def get_data(
        self, start: int | None = None, stop: int | None = None, *, contiguous: bool = True
    ) -> np.ndarray:
        """Read frames ``[start, stop)`` as float32 with time first (always C-contiguous)."""
        start, stop = self._check_range(start, stop)
        a, b = self._start + start, self._start + stop
        if self._time_axis == 0:
            raw = np.asarray(self._data[a:b])
        else:
            raw = np.moveaxis(np.asarray(self._data[(Ellipsis, slice(a, b))]), -1, 0)
        out = np.empty(raw.shape, dtype=np.float32)
        np.copyto(out, raw, casting="unsafe")
        return out

    def to_numpy(self) -> np.ndarray:
        return self.get_data()


class Movie(_FrameSeries):
    """A lazy imaging movie, ``(n_frames, height, width)``, read as float32.

    Parameters
    ----------
    data : array-like, 3-D
        Frames with time first (TIFF, NWB) or last.
    frame_rate : float
        Frames per second.
    pixel_size : tuple of 2 floats | None
        Pixel size in micrometres (row, column). default: ``None`` (unknown).
    time_axis : int
        Axis of ``data`` that is time: 0 or -1. default: 0.
    source, meta :
        As for :class:`TimeSeries`.
    """

    modality = "imaging"

    def __init__(
        self,
        data: Any,
        frame_rate: float,
        *,
        pixel_size: tuple[float, float] | None = None,
        time_axis: int = 0,
        source: str | None = None,
        meta: dict | None = None,
    ) -> None:
        super().__init__(
            data, frame_rate, time_axis=time_axis, spacing=pixel_size, source=source, meta=meta
        )

    @property
    def frame_rate(self) -> float:
        return self._rate

    sampling_rate = frame_rate

    @property
    def pixel_size(self) -> tuple[float, float] | None:
        """Pixel size in micrometres (row, column), or ``None`` when unknown."""
        return self._spacing  # type: ignore[return-value]

    def __repr__(self) -> str:
        n, h, w = self.shape
        return f"<Movie | {n} frames of {h} x {w}, {self.frame_rate:g} Hz, {self.duration:.2f} s>"


class VolumeSeries(_FrameSeries):
    """A lazy 4-D volume series (fMRI), ``(n_volumes, x, y, z)``, read as float32.

    Parameters
    ----------
    data : array-like, 4-D
        Volumes with time first or last (NIfTI stores time last).
    tr : float
        Repetition time in seconds.
    voxel_size : tuple of 3 floats | None
        Voxel size in millimetres. default: ``None`` (unknown).
    affine : array of shape (4, 4) | None
        Voxel-to-world transform. default: ``None``.
    time_axis : int
        0 or -1. default: 0.
    """

    modality = "fmri"
    _ndim = 4
    _time_unit = "volumes"

    def __init__(
        self,
        data: Any,
        tr: float,
        *,
        voxel_size: tuple[float, float, float] | None = None,
        affine: np.ndarray | None = None,
        time_axis: int = 0,
        source: str | None = None,
        meta: dict | None = None,
    ) -> None:
        super().__init__(
            data,
            1.0 / check_positive("tr", tr),
            time_axis=time_axis,
            spacing=voxel_size,
            source=source,
            meta=meta,
        )
        self.affine = None if affine is None else np.asarray(affine, dtype=float).reshape(4, 4)

    @property
    def tr(self) -> float:
        """Repetition time in seconds."""
        return 1.0 / self._rate

    @property
    def sampling_rate(self) -> float:
        return self._rate

    @property
    def n_volumes(self) -> int:
        return self._n_times

    @property
    def voxel_size(self) -> tuple[float, float, float] | None:
        """Voxel size in millimetres, or ``None`` when unknown."""
        return self._spacing  # type: ignore[return-value]

    def __repr__(self) -> str:
        n, *xyz = self.shape
        return f"<VolumeSeries | {n} volumes of {' x '.join(map(str, xyz))}, TR {self.tr:g} s>"
