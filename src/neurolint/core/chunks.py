"""Chunk iteration with margins, and the one set of job options accepted everywhere.

A long recording is processed in chunks. Each chunk is read with ``margin`` extra samples on
both sides (fewer at the edges of the recording), processed, and trimmed back to its core, so
that a step whose receptive field is at most ``margin`` samples gives, chunk by chunk, exactly
what it gives on the whole array.

Job options, as in SpikeInterface:

n_jobs : int
    Workers. ``-1`` uses every core; ``1`` runs in the calling thread. default: 1.
chunk_duration : float | str
    Chunk length in seconds, or a string such as ``"500ms"``, ``"1s"``, ``"2min"``.
    default: ``"1s"``.
progress_bar : bool
    Show a progress bar on stderr. default: ``False``.
pool : {"thread", "process"}
    Workers are threads (numpy, scipy and torch release the GIL, and nothing has to be
    pickled) or processes (the series and ``func`` are pickled once per worker).
    default: ``"thread"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .errors import ParameterError
from .validate import check_option, parse_duration

__all__ = [
    "CHUNK_BYTES",
    "Chunk",
    "JobOptions",
    "chunk_bounds",
    "chunk_samples",
    "get_global_job_options",
    "iter_chunks",
    "job_options",
    "map_chunks",
    "set_global_job_options",
]


#: Bytes one copy of a chunk (all channels) may take where a step reads a stretch given in
#: seconds: 30 s of 64-channel 256 Hz EEG is 2 MB, of a 384-channel 30 kHz probe 1.4 GB.
#: Steps hold several (float64) copies of what they read, so the budget is modest.
CHUNK_BYTES = 64 * 2**20


def chunk_samples(
    seconds: float,
    sampling_rate: float,
    n_channels: int,
    *,
    itemsize: int = 4,
    max_bytes: int = CHUNK_BYTES,
) -> int:
    """Samples in ``seconds``, cut so that ``n_channels`` of them take at most ``max_bytes``.

    Parameters
    ----------
    seconds, sampling_rate : float
        The stretch a step would read, and the recording's rate.
    n_channels : int
        Channels read together.
    itemsize : int
        Bytes per sample of the copy that counts (4: float32, 8: float64). default: 4.
    max_bytes : int
        The budget per copy. default: :data:`CHUNK_BYTES`.

    Returns
    -------
    int
        At least 1.
    """
    want = max(1, round(seconds * sampling_rate))
    return max(1, min(want, max_bytes // (itemsize * max(1, n_channels))))


@dataclass(frozen=True)
class JobOptions:
    """Resolved job options; see the module docstring."""

    n_jobs: int = 1
    chunk_duration: float = 1.0
    progress_bar: bool = False
    pool: str = "thread"

    @property
    def workers(self) -> int:
        """Number of workers ``n_jobs`` stands for on this machine."""
        cores = os.cpu_count() or 1
        return cores if self.n_jobs == -1 else max(1, min(self.n_jobs, cores * 4))


_GLOBAL = JobOptions()
_FIELDS = set(JobOptions.__dataclass_fields__)


def job_options(**kwargs: Any) -> JobOptions:
    """Validate job options given as keyword arguments over the global defaults."""
    unknown = set(kwargs) - _FIELDS
    if unknown:
        raise ParameterError(
            f"Unknown job option(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_FIELDS))}."
        )
    given = {k: v for k, v in kwargs.items() if v is not None}
    opts = replace(_GLOBAL, **given)
    n_jobs = opts.n_jobs
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, (int, np.integer))
        or (n_jobs < 1 and n_jobs != -1)
    ):
        raise ParameterError(f"n_jobs={n_jobs!r} must be a positive integer or -1 (all cores).")
    check_option("pool", opts.pool, ("thread", "process"))
    return replace(
        opts,
        n_jobs=int(n_jobs),
        chunk_duration=parse_duration("chunk_duration", opts.chunk_duration),
        progress_bar=bool(opts.progress_bar),
    )


def set_global_job_options(**kwargs: Any) -> JobOptions:
    """Set defaults for every later call, e.g. ``set_global_job_options(n_jobs=-1)``."""
    global _GLOBAL
    _GLOBAL = job_options(**kwargs)
    return _GLOBAL


def get_global_job_options() -> dict[str, Any]:
    """The current defaults, as a dict."""
    return asdict(_GLOBAL)


@dataclass(frozen=True)
class Chunk:
    """One chunk: its core ``[start, stop)`` and the padded range ``[read_start, read_stop)``."""

    index: int
    start: int
    stop: int
    read_start: int
    read_stop: int

    @property
    def before(self) -> int:
        """Margin samples read before the core (less than the margin at the start)."""
        return self.start - self.read_start

    @property
    def after(self) -> int:
        """Margin samples read after the core (less than the margin at the end)."""
        return self.read_stop - self.stop

    def trim(self, data: np.ndarray, axis: int = -1) -> np.ndarray:
        """Cut the margins off ``data`` whose ``axis`` spans the padded range."""
        if not (self.before or self.after):
            return data
        index = [slice(None)] * data.ndim
        index[axis] = slice(self.before, data.shape[axis] - self.after)
        return data[tuple(index)]


def chunk_bounds(n_samples: int, chunk_size: int, margin: int = 0) -> list[Chunk]:
    """Split ``[0, n_samples)`` into chunks of ``chunk_size`` padded by ``margin``."""
    if chunk_size < 1:
        raise ParameterError(f"chunk_size={chunk_size} must be at least 1 sample.")
    if margin < 0:
        raise ParameterError(f"margin={margin} must be >= 0 samples.")
    out = []
    for i, start in enumerate(range(0, n_samples, chunk_size)):
        stop = min(start + chunk_size, n_samples)
        out.append(Chunk(i, start, stop, max(0, start - margin), min(n_samples, stop + margin)))
    return out


def _chunks_for(series: Any, chunk_size: int | None, margin: int, opts: JobOptions) -> list[Chunk]:
    n = series.n_times
    if chunk_size is None:
        chunk_size = max(1, round(opts.chunk_duration * series.sampling_rate))
    return chunk_bounds(n, int(chunk_size), int(margin))


def _progress(total: int, enabled: bool, label: str) -> Any:
    if not enabled:
        return None
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.start()
    task = progress.add_task(label, total=total)
    return progress, task


def iter_chunks(
    series: Any,
    margin: int = 0,
    *,
    chunk_size: int | None = None,
    contiguous: bool = True,
    **job_kwargs: Any,
) -> Iterator[tuple[Chunk, np.ndarray]]:
    """Yield ``(chunk, data)`` over a series, ``data`` spanning the padded range.

    Parameters
    ----------
    series : TimeSeries | Movie | VolumeSeries
        Anything with ``get_data(start, stop)`` and a ``sampling_rate``.
    margin : int
        Extra samples (frames) read on each side. default: 0.
    chunk_size : int | None
        Core length in samples; overrides ``chunk_duration``. default: ``None``.
    contiguous : bool
        See :meth:`TimeSeries.get_data`. default: ``True``.
    **job_kwargs
        ``chunk_duration`` and ``progress_bar`` (``n_jobs`` is ignored: reading is serial).
    """
    opts = job_options(**job_kwargs)
    chunks = _chunks_for(series, chunk_size, margin, opts)
    bar = _progress(len(chunks), opts.progress_bar, "reading")
    try:
        for chunk in chunks:
            yield chunk, series.get_data(chunk.read_start, chunk.read_stop, contiguous=contiguous)
            if bar:
                bar[0].advance(bar[1])
    finally:
        if bar:
            bar[0].stop()


# Process workers keep the series and function they were given once, not per chunk.
_WORKER: dict[str, Any] = {}


def _init_worker(series: Any, func: Callable) -> None:
    _WORKER["series"], _WORKER["func"] = series, func


def _run(series: Any, func: Callable, chunk: Chunk, trim: bool, axis: int) -> Any:
    data = series.get_data(chunk.read_start, chunk.read_stop)
    result = func(data, chunk)
    return chunk.trim(np.asarray(result), axis) if trim else result


def _run_in_worker(chunk: Chunk, trim: bool, axis: int) -> Any:
    return _run(_WORKER["series"], _WORKER["func"], chunk, trim, axis)


def map_chunks(
    series: Any,
    func: Callable[[np.ndarray, Chunk], Any],
    margin: int = 0,
    *,
    trim: bool = True,
    chunk_size: int | None = None,
    **job_kwargs: Any,
) -> Any:
    """Apply ``func(data, chunk)`` to every padded chunk, in parallel if asked.

    Parameters
    ----------
    series : TimeSeries | Movie | VolumeSeries
    func : callable
        Receives the padded data and its :class:`Chunk`. With ``trim=True`` it returns an
        array whose time axis spans the padded range; it must not modify ``data`` in a way
        it relies on elsewhere (each call gets a fresh array).
    margin : int
        Samples (frames) of context on each side; at least the receptive field of ``func``.
    trim : bool
        Cut margins off each result and concatenate along time (axis -1 for time series,
        axis 0 for frame series). With ``False``, return the list of per-chunk results.
        default: ``True``.
    chunk_size : int | None
        Core length in samples; overrides ``chunk_duration``.
    **job_kwargs
        ``n_jobs``, ``chunk_duration``, ``progress_bar``, ``pool``.

    Returns
    -------
    numpy.ndarray | list
        The concatenation of trimmed results (in order), or the list of results.
    """
    opts = job_options(**job_kwargs)
    chunks = _chunks_for(series, chunk_size, margin, opts)
    axis = series.time_axis
    bar = _progress(len(chunks), opts.progress_bar, "processing")
    results: list[Any] = []
    try:
        if opts.workers == 1 or len(chunks) == 1:
            for chunk in chunks:
                results.append(_run(series, func, chunk, trim, axis))
                if bar:
                    bar[0].advance(bar[1])
        else:
            executor: Executor
            if opts.pool == "process":
                executor = ProcessPoolExecutor(
                    opts.workers, initializer=_init_worker, initargs=(series, func)
                )
                submit = lambda c: executor.submit(_run_in_worker, c, trim, axis)  # noqa: E731
            else:
                executor = ThreadPoolExecutor(opts.workers)
                submit = lambda c: executor.submit(_run, series, func, c, trim, axis)  # noqa: E731
            with executor:
                # Bounded look-ahead keeps memory at a few chunks per worker.
                pending: list[Any] = []
                it = iter(chunks)
                for chunk in it:
                    pending.append(submit(chunk))
                    if len(pending) >= 2 * opts.workers:
                        results.append(pending.pop(0).result())
                        if bar:
                            bar[0].advance(bar[1])
                for fut in pending:
                    results.append(fut.result())
                    if bar:
                        bar[0].advance(bar[1])
    finally:
        if bar:
            bar[0].stop()
    if not trim:
        return results
    return np.concatenate(results, axis=axis)
