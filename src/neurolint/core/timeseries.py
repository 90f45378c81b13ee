"""The multichannel time series: lazy, channels-first, float32 on read."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from .arrays import as_backing_array
from .channels import ChannelInfo
from .errors import EmptyRecordingError, ShapeError
from .series import BaseSeries
from .validate import check_option

__all__ = ["MODALITY_BY_TYPE", "IntegerStorage", "TimeSeries"]

#: Modality reported for a recording whose channels are mostly of a given type.
MODALITY_BY_TYPE = {
    "eeg": "eeg",
    "meg": "meg",
    "seeg": "ieeg",
    "ecog": "ieeg",
    "ephys": "ephys",
    "lfp": "lfp",
}


class IntegerStorage(NamedTuple):
    """How values were stored as integers: physical = stored * ``gain`` + ``offset``."""

    dtype: Any
    gain: Any = None
    offset: Any = None

    def per_channel(self, n: int) -> IntegerStorage:
        """Float64 arrays of ``n`` values (gain 1 and offset 0 where ``None``)."""

        def full(value: Any, default: float) -> np.ndarray:
            value = default if value is None else value
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()

        return IntegerStorage(np.dtype(self.dtype), full(self.gain, 1.0), full(self.offset, 0.0))


class TimeSeries(BaseSeries):
    """A lazy multichannel recording, ``(n_channels, n_samples)``, read as float32.

    Wraps any backing store (numpy array or memmap, flat binary file, HDF5/NWB dataset, MNE
    ``Raw``, SpikeInterface recording) without loading it. :meth:`get_data` reads only the
    samples and channels asked for; :meth:`pick`, :meth:`frame_slice` and :meth:`time_slice`
    return new lazy views. Pickling sends paths, not samples, for file-backed stores.

    Parameters
    ----------
    data : array-like, 2-D
        The backing store, in ``layout`` order.
    sampling_rate : float
        Samples per second.
    channels : ChannelInfo | sequence of str | None
        Channel metadata, or just names. default: ``None`` (names ``"ch000"``...).
    layout : {"channels_first", "samples_first"}
        Axis order of ``data``: ``(n_channels, n_samples)`` or ``(n_samples, n_channels)``
        (interleaved binary, NWB, SpikeInterface). default: ``"channels_first"``.
    gain, offset : array-like of shape (n_channels,) | float | None
        Physical value = stored value * gain + offset, per channel. default: ``None``.
    integer_storage : IntegerStorage | None
        The integer type, gain and offset these values were stored with, when they come from
        an integer store through a transform (:func:`neurolint.fix` passes its input's).
        Integer writers reuse them, so unchanged samples are written back as the same
        integers. default: ``None`` (``data``'s own when it holds integers, else none).
    modality : str | None
        ``"eeg"``, ``"ephys"``... default: ``None`` (inferred from channel types).
    source : str | None
        Path the data came from, for reports and provenance. default: ``None``.
    meta : dict | None
        Free-form metadata kept with the object (measurement date, reader options).
    """

    # Reads of a view from :meth:`inf_as_missing` turn +-inf into NaN (a class default, so
    # views and pickles made before it existed read as they were).
    _inf_as_nan = False

    def __init__(
        self,
        data: Any,
        sampling_rate: float,
        channels: ChannelInfo | Sequence[str] | None = None,
        *,
        layout: str = "channels_first",
        gain: Any = None,
        offset: Any = None,
        integer_storage: IntegerStorage | None = None,
        modality: str | None = None,
        source: str | None = None,
        meta: dict | None = None,
    ) -> None:
        check_option("layout", layout, ("channels_first", "samples_first"))
        data = as_backing_array(data)
        if len(data.shape) != 2:
            raise ShapeError(
                f"A time series needs a 2-D array (channels x samples); got shape {data.shape}. "
                "Reshape it, or read imaging data as a Movie/VolumeSeries."
            )
        n_ch, n_s = data.shape if layout == "channels_first" else data.shape[::-1]
        if n_ch == 0:
            raise EmptyRecordingError("The recording has no channels; check the file or selection.")
        super().__init__(sampling_rate, n_s, source, meta)
        if channels is None:
            channels = ChannelInfo([f"ch{i:03d}" for i in range(n_ch)])
        elif not isinstance(channels, ChannelInfo):
            channels = ChannelInfo(channels)
        if len(channels) != n_ch:
            raise ShapeError(
                f"{len(channels)} channel names for {n_ch} channels in the data; give one name "
                "per channel (or check the layout/channel count)."
            )
        self._data = data
        self._layout = layout
        self._native_channels = channels
        self._ch_idx = np.arange(n_ch)
        self._gain = _per_channel(gain, n_ch, "gain")
        self._offset = _per_channel(offset, n_ch, "offset")
        if integer_storage is None and np.dtype(data.dtype).kind in "iu":
            integer_storage = IntegerStorage(data.dtype, gain, offset)
        self._int_storage = None if integer_storage is None else integer_storage.per_channel(n_ch)
        self._modality = modality

    # -- metadata ----------------------------------------------------------------------------
    @property
    def sampling_rate(self) -> float:
        """Samples per second."""
        return self._rate

    @property
    def channels(self) -> ChannelInfo:
        """Metadata of the channels in this view."""
        if len(self._ch_idx) == len(self._native_channels) and np.array_equal(
            self._ch_idx, np.arange(len(self._native_channels))
        ):
            return self._native_channels
        return self._native_channels.subset(self._ch_idx)

    @property
    def ch_names(self) -> list[str]:
        """Channel names, as MNE spells it."""
        return [self._native_channels.names[i] for i in self._ch_idx]

    @property
    def n_channels(self) -> int:
        return len(self._ch_idx)

    @property
    def n_samples(self) -> int:
        return self._n_times

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_channels, n_samples)``."""
        return (self.n_channels, self.n_samples)

    @property
    def integer_storage(self) -> IntegerStorage | None:
        """The integer type, gain and offset the values were stored with, per channel of
        this view, or ``None`` (see the constructor)."""
        st = self._int_storage
        if st is None:
            return None
        return IntegerStorage(st.dtype, st.gain[self._ch_idx], st.offset[self._ch_idx])

    @property
    def modality(self) -> str:
        """``"eeg"``, ``"meg"``, ``"ieeg"``, ``"ephys"``, ``"lfp"`` or ``"timeseries"``."""
        if self._modality:
            return self._modality
        counts = Counter(self.channels.types)
        kind, _ = counts.most_common(1)[0]
        return MODALITY_BY_TYPE.get(kind, "timeseries")

    @property
    def times(self) -> np.ndarray:
        """Sample times in seconds from the start of this view."""
        return np.arange(self.n_samples) / self.sampling_rate

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        return (
            f"<TimeSeries | {self.modality}, {self.n_channels} ch x {self.n_samples} samples, "
            f"{self.sampling_rate:g} Hz, {self.duration:.3f} s{src}>"
        )

    # -- views -------------------------------------------------------------------------------
    def pick(self, channels: Sequence[str | int] | str | int | slice) -> TimeSeries:
        """Return a lazy view of some channels (names or indices), in the order given."""
        index = self.channels.index(channels)
        if len(index) == 0:
            raise EmptyRecordingError("No channels selected; name at least one channel.")
        if len(np.unique(index)) != len(index):
            raise ShapeError("A channel was selected twice; pick each channel once.")
        return self._view(_ch_idx=self._ch_idx[index])

    def inf_as_missing(self) -> TimeSeries:
        """Return a lazy view that reads infinite samples as NaN (missing), like dropped ones.

        The assessment reads recordings through it, so ``+inf``/``-inf`` samples (an
        overflowed amplifier, a failed conversion) are found as missing samples instead of
        spreading through sums and fits. An integer store holds no infinities: it is
        returned as is, and so is a view that already reads them as NaN.
        """
        if self._inf_as_nan or np.dtype(self._data.dtype).kind in "iub":
            return self
        # The same view each time: detectors key what they share (window features) on it.
        view = self.__dict__.get("_inf_view")
        if view is None:
            view = self.__dict__["_inf_view"] = self._view(_inf_as_nan=True)
        return view

    # -- data --------------------------------------------------------------------------------
    def get_data(
        self,
        start: int | None = None,
        stop: int | None = None,
        channels: Sequence[str | int] | str | int | slice | None = None,
        *,
        contiguous: bool = True,
    ) -> np.ndarray:
        """Read samples ``[start, stop)`` of some channels as float32 ``(n_channels, n)``.

        Only the requested block is read from the backing store.

        Parameters
        ----------
        start, stop : int | None
            Sample range relative to this view (negative counts from the end).
            default: the whole view.
        channels : names | indices | slice | None
            default: ``None`` (all channels of the view).
        contiguous : bool
            Return a C-contiguous array (each channel's samples adjacent in memory), the
            layout filters along time want. With ``False``, interleaved stores (binary,
            NWB, SpikeInterface) return a transposed view instead, which skips the costly
            transpose: same shape and values, about twice as fast to read. default: ``True``.
        """
        start, stop = self._check_range(start, stop)
        native = self._ch_idx if channels is None else self._ch_idx[self.channels.index(channels)]
        block = _read_block(
            self._data, self._layout, self._start + start, self._start + stop, native, contiguous
        )
        if self._gain is not None:
            block *= self._gain[native, None]
        if self._offset is not None:
            block += self._offset[native, None]
        if self._inf_as_nan:
            inf = np.isinf(block)
            if inf.any():
                block[inf] = np.nan
        return block

    def to_numpy(self) -> np.ndarray:
        """Load the whole view (mind the size: :attr:`nbytes`)."""
        return self.get_data()

    # -- adapters (edge modules, imported lazily) --------------------------------------------
    def to_mne(self, *, copy_data: bool = False) -> Any:
        """Return an MNE ``Raw``; see :func:`neurolint.integrations.mne.to_mne`."""
        from ..integrations.mne import to_mne

        return to_mne(self, copy_data=copy_data)

    def to_spikeinterface(self) -> Any:
        """Return a lazy SpikeInterface recording (see :mod:`neurolint.integrations`)."""
        from ..integrations.spikeinterface import to_spikeinterface

        return to_spikeinterface(self)

    @classmethod
    def from_mne(cls, raw: Any) -> TimeSeries:
        """Wrap an MNE ``Raw`` lazily; see :func:`neurolint.integrations.mne.from_mne`."""
        from ..integrations.mne import from_mne

        return from_mne(raw)

    @classmethod
    def from_spikeinterface(cls, recording: Any, segment_index: int = 0) -> TimeSeries:
        """Wrap a SpikeInterface recording lazily."""
        from ..integrations.spikeinterface import from_spikeinterface

        return from_spikeinterface(recording, segment_index=segment_index)


def _per_channel(value: Any, n: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.broadcast_to(np.asarray(value, dtype=np.float32), (n,)).copy()
    if name == "gain" and np.all(arr == 1):
        return None
    if name == "offset" and np.all(arr == 0):
        return None
    return arr


# Samples per tile when transposing: a tile of a few hundred samples x channels stays in cache,
# which a whole-block transposed copy does not (3x faster for 384 channels).
_TILE = 256
_POOL: list[ThreadPoolExecutor] = []


def _to_channels_first(raw: np.ndarray) -> np.ndarray:
    """``(n_samples, n_channels)``, any dtype → C-contiguous float32 ``(n_channels, n)``."""
    n, c = raw.shape
    out = np.empty((c, n), dtype=np.float32)
    if n * c < (1 << 20):
        np.copyto(out, raw.T, casting="unsafe")
        return out

    def work(lo: int, hi: int) -> None:
        for s in range(lo, hi, _TILE):
            e = min(s + _TILE, hi)
            np.copyto(out[:, s:e], raw[s:e].T, casting="unsafe")

    # Large blocks are split over the cores (numpy copies release the GIL).
    workers = min(os.cpu_count() or 1, 4)
    if workers == 1:
        work(0, n)
        return out
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(workers, thread_name_prefix="neurolint-convert"))
    step = -(-n // workers // _TILE) * _TILE
    futures = [_POOL[0].submit(work, lo, min(lo + step, n)) for lo in range(0, n, step)]
    for fut in futures:
        fut.result()
    return out


def _read_block(
    data: Any, layout: str, start: int, stop: int, channels: np.ndarray, contiguous: bool = True
) -> np.ndarray:
    """Read ``channels`` x ``[start, stop)`` from a backing store as a new float32 array."""
    n_native = data.shape[0] if layout == "channels_first" else data.shape[1]
    # Stores such as h5py need increasing, unique indices: read sorted, then reorder.
    unique, inverse = np.unique(channels, return_inverse=True)
    if len(unique) == n_native:
        key: Any = slice(None)
    elif unique[-1] - unique[0] + 1 == len(unique):
        key = slice(int(unique[0]), int(unique[-1]) + 1)
    else:
        key = unique.tolist()
    if layout == "channels_first":
        raw = np.asarray(data[key, start:stop])
        out = np.empty(raw.shape, dtype=np.float32)
        np.copyto(out, raw, casting="unsafe")
    elif contiguous:
        out = _to_channels_first(np.asarray(data[start:stop, key]))
    else:
        out = np.asarray(data[start:stop, key]).astype(np.float32).T
    if len(inverse) != len(unique) or np.any(inverse != np.arange(len(unique))):
        out = out[inverse]
    return out
