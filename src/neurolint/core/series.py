"""What every lazy series shares: a time axis, a rate, views and chunk iteration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import EmptyRecordingError, ParameterError
from .validate import check_positive

if TYPE_CHECKING:
    from .chunks import Chunk

__all__ = ["BaseSeries"]


class BaseSeries:
    """Base class of :class:`TimeSeries`, :class:`Movie` and :class:`VolumeSeries`.

    Subclasses hold a backing array-like and a window ``[_start, _stop)`` on its time axis,
    and implement :meth:`get_data`. Views share the backing store; nothing is read until
    :meth:`get_data` asks for it.
    """

    #: Name of the time axis in messages ("samples", "frames", "volumes").
    _time_unit = "samples"
    #: Axis of :meth:`get_data`'s output that is time.
    time_axis = -1

    def __init__(self, rate: float, n_times_native: int, source: str | None, meta: dict | None):
        self._rate = check_positive("sampling rate", rate)
        if n_times_native <= 0:
            raise EmptyRecordingError(
                f"The recording has no {self._time_unit}; check that the file is complete "
                "and that the right stream or dataset was chosen."
            )
        self._start = 0
        self._stop = int(n_times_native)
        self.source = None if source is None else str(source)
        self.meta: dict[str, Any] = dict(meta or {})

    # -- time axis ---------------------------------------------------------------------------
    @property
    def _n_times(self) -> int:
        return self._stop - self._start

    @property
    def n_times(self) -> int:
        """Length of the time axis (samples, frames or volumes)."""
        return self._stop - self._start

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self._n_times / self._rate

    @property
    def dtype(self) -> np.dtype:
        """The dtype :meth:`get_data` returns (always float32)."""
        return np.dtype(np.float32)

    @property
    def stored_dtype(self) -> np.dtype:
        """The dtype of the backing store."""
        return np.dtype(self._data.dtype)

    @property
    def nbytes(self) -> int:
        """Size of the whole view as float32."""
        return int(np.prod(self.shape)) * 4

    def _check_range(self, start: int | None, stop: int | None) -> tuple[int, int]:
        n = self._n_times
        start = 0 if start is None else int(start)
        stop = n if stop is None else int(stop)
        if start < 0:
            start += n
        if stop < 0:
            stop += n
        if not 0 <= start <= stop <= n:
            raise ParameterError(
                f"Range {start}:{stop} is outside 0:{n} {self._time_unit}; ask for a range "
                "inside the recording."
            )
        return start, stop

    def _view(self, **changes: Any) -> Any:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_inf_view", None)  # a view of this series, not of the new one
        new.meta = dict(self.meta)
        new.__dict__.update(changes)
        if (new._start, new._stop) != (self._start, self._stop):
            self._move_clock(new)
        return new

    def _move_clock(self, new: Any) -> None:
        """Keep ``new``'s time-anchored metadata on its own clock: annotations count from
        its first sample, ``first_samp`` (the recording's sample number of that sample)
        moves with it."""
        shift = new._start - self._start
        if shift or self.meta.get("first_samp") is not None:
            new.meta["first_samp"] = int(self.meta.get("first_samp") or 0) + shift
        if self.meta.get("annotations"):
            from .annotations import crop_annotations

            a, z = shift / self._rate, (new._stop - self._start) / self._rate
            new.meta["annotations"] = crop_annotations(self.meta["annotations"], a, z)

    def frame_slice(self, start: int | None = None, stop: int | None = None) -> Any:
        """Return a lazy view of ``[start, stop)`` along the time axis (in samples/frames)."""
        start, stop = self._check_range(start, stop)
        if stop == start:
            raise EmptyRecordingError(
                f"The slice {start}:{stop} holds no {self._time_unit}; ask for a longer range."
            )
        return self._view(_start=self._start + start, _stop=self._start + stop)

    def time_slice(self, tmin: float | None = None, tmax: float | None = None) -> Any:
        """Return a lazy view from ``tmin`` to ``tmax`` seconds (``tmax`` excluded)."""
        start = None if tmin is None else round(float(tmin) * self._rate)
        stop = None if tmax is None else round(float(tmax) * self._rate)
        if (start is not None and start < 0) or (stop is not None and stop < 0):
            raise ParameterError("Times must be >= 0 seconds from the start of the recording.")
        return self.frame_slice(start, stop)

    # -- chunks ------------------------------------------------------------------------------
    def iter_chunks(
        self,
        margin: int = 0,
        *,
        chunk_size: int | None = None,
        contiguous: bool = True,
        **job_kwargs: Any,
    ) -> Iterator[tuple[Chunk, np.ndarray]]:
        """Yield ``(chunk, data)`` pairs covering the series, each padded by ``margin``.

        See :func:`neurolint.core.chunks.iter_chunks`.
        """
        from .chunks import iter_chunks

        return iter_chunks(
            self, margin=margin, chunk_size=chunk_size, contiguous=contiguous, **job_kwargs
        )

    def map_chunks(
        self,
        func: Callable[[np.ndarray, Chunk], Any],
        margin: int = 0,
        *,
        trim: bool = True,
        chunk_size: int | None = None,
        **job_kwargs: Any,
    ) -> Any:
        """Apply ``func`` chunk by chunk; see :func:`neurolint.core.chunks.map_chunks`."""
        from .chunks import map_chunks

        return map_chunks(self, func, margin=margin, trim=trim, chunk_size=chunk_size, **job_kwargs)

    def get_data(
        self, start: int | None = None, stop: int | None = None, *, contiguous: bool = True
    ) -> np.ndarray:
        raise NotImplementedError
