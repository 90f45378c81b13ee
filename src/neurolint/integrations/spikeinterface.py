"""TimeSeries <-> SpikeInterface recordings, both ways lazily.

:func:`from_spikeinterface` wraps a recording in a :class:`TimeSeries` whose backing store
(:class:`RecordingArray`) calls ``recording.get_traces`` for the block asked for.
:func:`to_spikeinterface` hands back the original recording (sliced to the view) when the
series came from one, and otherwise a :class:`TimeSeriesRecording` that reads the series
chunk by chunk. Both pickle through SpikeInterface's ``_kwargs`` mechanism, so
``recording.save()``, ``spikeinterface.load`` and SpikeInterface's worker processes work.

This module imports SpikeInterface at the top: it is itself imported only when an adapter
is used (see :meth:`TimeSeries.to_spikeinterface`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import split_row_key
from ..core.channels import UNIT_SCALE_TO_SI, VOLT_UNITS, ChannelInfo, normalize_unit
from ..core.errors import ParameterError
from ..core.timeseries import TimeSeries, _per_channel
from ..core.validate import import_optional

_si = import_optional("spikeinterface.core", "ephys")
BaseRecording = _si.BaseRecording
BaseRecordingSegment = _si.BaseRecordingSegment

__all__ = ["RecordingArray", "TimeSeriesRecording", "from_spikeinterface", "to_spikeinterface"]

_LENGTH_TO_METRES = {"um": 1e-6, "mm": 1e-3, "m": 1.0}


class RecordingArray:
    """Array-like view of one segment of a SpikeInterface recording, ``(n_samples, n_channels)``.

    Returns the recording's unscaled traces, in its own sample type (``dtype``), as
    ``get_traces`` gives them; the :class:`TimeSeries` built by :func:`from_spikeinterface`
    applies the recording's gains and offsets. Keeping the raw type here lets
    :attr:`TimeSeries.stored_dtype` report the file's sample type (``int16`` for most
    acquisition systems), as the other readers do.

    Parameters
    ----------
    recording : spikeinterface.BaseRecording
        The recording; it pickles as its constructor arguments (paths for file-backed ones).
    segment_index : int
        The segment read. default: 0.
    """

    def __init__(self, recording: Any, segment_index: int = 0) -> None:
        n_seg = recording.get_num_segments()
        if not 0 <= int(segment_index) < n_seg:
            raise ParameterError(
                f"segment_index={segment_index} is out of range: the recording has {n_seg} "
                f"segment(s); use 0 to {n_seg - 1}."
            )
        self.recording = recording
        self.segment_index = int(segment_index)
        self.shape = (
            int(recording.get_num_samples(segment_index=self.segment_index)),
            int(recording.get_num_channels()),
        )
        self.dtype = np.dtype(recording.get_dtype())

    ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        start, stop, cols = split_row_key(key, self.shape[0], "RecordingArray")
        ids = self.recording.channel_ids
        squeeze = isinstance(cols, (int, np.integer))
        if isinstance(cols, slice) and cols == slice(None):
            channel_ids = None
        elif squeeze:
            channel_ids = [ids[int(cols)]]
        else:
            channel_ids = ids[cols]
        traces = self.recording.get_traces(
            segment_index=self.segment_index,
            start_frame=start,
            end_frame=stop,
            channel_ids=channel_ids,
            return_in_uV=False,
        )
        return traces[:, 0] if squeeze else traces

    def __repr__(self) -> str:
        return (
            f"RecordingArray({self.recording.__class__.__name__}, "
            f"segment_index={self.segment_index}, shape={self.shape}, dtype={self.dtype})"
        )


def _units_and_scaling(recording: Any) -> tuple[list[str], Any, Any]:
    """Per-channel units, gains and offsets of the values a TimeSeries should return."""
    n = recording.get_num_channels()
    keys = set(recording.get_property_keys())
    physical = recording.get_property("physical_unit") if "physical_unit" in keys else None
    if not recording.has_scaleable_traces():
        # No gain to microvolts, but maybe one to the channels' own unit (a.u., pA...).
        if physical is not None and {"gain_to_physical_unit", "offset_to_physical_unit"} <= keys:
            return (
                [normalize_unit(str(u)) for u in physical],
                np.asarray(recording.get_property("gain_to_physical_unit"), dtype=np.float64),
                np.asarray(recording.get_property("offset_to_physical_unit"), dtype=np.float64),
            )
        return ["a.u."] * n, None, None
    gains = np.asarray(recording.get_channel_gains(), dtype=np.float64)
    offsets = np.asarray(recording.get_channel_offsets(), dtype=np.float64)
    if physical is None:
        return ["uV"] * n, gains, offsets
    # Neo-based extractors keep each channel's own unit: gain_to_uV scales volt channels to
    # microvolts but leaves other channels (currents, inputs in a.u.) in their own unit.
    units = []
    for unit in physical:
        norm = normalize_unit(str(unit))
        units.append("uV" if norm in VOLT_UNITS else norm)
    return units, gains, offsets


def _positions(recording: Any) -> np.ndarray | None:
    """Probe contact positions in metres, 3-D (z = 0 for a planar probe), or ``None``."""
    if not recording.has_probe():
        return None
    if recording.has_3d_probe():
        loc = np.asarray(recording.get_channel_locations(axes="xyz"), dtype=np.float64)
    else:
        loc = np.asarray(recording.get_channel_locations(axes="xy"), dtype=np.float64)
        loc = np.column_stack([loc, np.zeros(len(loc))])
    # probeinterface works in micrometres unless the probe says otherwise.
    si_units = getattr(recording.get_probegroup().probes[0], "si_units", "um")
    return loc * _LENGTH_TO_METRES.get(si_units, 1e-6)


def _wrap(
    recording: Any,
    segment_index: int = 0,
    *,
    channel_type: str = "ephys",
    modality: str | None = "ephys",
    source: str | None = None,
    meta: dict | None = None,
) -> TimeSeries:
    """Build the TimeSeries of :func:`from_spikeinterface`; readers add source and meta."""
    store = RecordingArray(recording, segment_index)
    units, gains, offsets = _units_and_scaling(recording)
    channels = ChannelInfo(
        [str(c) for c in recording.channel_ids], channel_type, units, _positions(recording)
    )
    full_meta = {
        "format": "spikeinterface",
        "n_segments": recording.get_num_segments(),
        "segment_index": store.segment_index,
        # What a corrected copy hands back (probe, groups, properties): see _copy_metadata.
        "si_recording": recording,
    }
    full_meta.update(meta or {})
    return TimeSeries(
        store,
        recording.get_sampling_frequency(),
        channels,
        layout="samples_first",
        gain=gains,
        offset=offsets,
        modality=modality,
        source=source,
        meta=full_meta,
    )


def from_spikeinterface(recording: Any, segment_index: int = 0) -> TimeSeries:
    """Wrap a SpikeInterface recording in a lazy :class:`TimeSeries`.

    Nothing is read until :meth:`TimeSeries.get_data` asks for a block, which is then read
    with ``recording.get_traces``.

    Parameters
    ----------
    recording : spikeinterface.BaseRecording
        Any recording (file-backed extractor, preprocessing chain, generated data).
    segment_index : int
        Which segment of a multi-segment recording to wrap; ``meta["n_segments"]`` says how
        many there are. default: 0.

    Returns
    -------
    TimeSeries
        Channel names are the recording's channel ids as strings, types ``"ephys"``,
        modality ``"ephys"``. Values are in microvolts (``units == "uV"``) when the
        recording has gains to microvolts (channels a neo reader marks as non-voltage keep
        their own unit), else in the unit of the ``"physical_unit"`` property when the
        recording has one with its gains, else unscaled (``"a.u."``). Probe contact
        positions, when a probe is attached, become channel positions in metres.
    """
    return _wrap(recording, segment_index)


class TimeSeriesRecordingSegment(BaseRecordingSegment):
    """The single segment of a :class:`TimeSeriesRecording`."""

    def __init__(self, ts: TimeSeries, scale: np.ndarray | None) -> None:
        BaseRecordingSegment.__init__(self, sampling_frequency=ts.sampling_rate)
        self._ts = ts
        self._scale = scale

    def get_num_samples(self) -> int:
        return self._ts.n_samples

    def get_traces(
        self,
        start_frame: int | None = None,
        end_frame: int | None = None,
        channel_indices: Any = None,
    ) -> np.ndarray:
        start = 0 if start_frame is None else int(start_frame)
        stop = self._ts.n_samples if end_frame is None else int(end_frame)
        if channel_indices is None or isinstance(channel_indices, slice):
            channels = channel_indices
        else:
            channels = np.asarray(channel_indices, dtype=np.int64).ravel().tolist()
        block = self._ts.get_data(start, stop, channels=channels)
        if self._scale is not None:
            index = np.arange(self._ts.n_channels)
            if channels is not None:
                index = index[channels]
            block *= self._scale[index, None]
        # SpikeInterface's convention is (n_samples, n_channels), C order.
        return np.ascontiguousarray(block.T)


class TimeSeriesRecording(BaseRecording):
    """A SpikeInterface recording that reads a :class:`TimeSeries` lazily.

    When every channel has volt-like units, traces are returned in microvolts (float32) with
    gain 1 and offset 0, so ``get_traces(return_in_uV=True)`` is valid; otherwise values are
    returned in the series' own units, with no gain to microvolts, and each channel's unit
    in the ``"physical_unit"`` property (gain 1 to it).

    Parameters
    ----------
    ts : TimeSeries
        The series (or view). It is the only constructor argument, so the recording
        pickles as the series does: file-backed series send paths, not samples.
    """

    def __init__(self, ts: TimeSeries) -> None:
        channel_ids = np.array(ts.ch_names)
        BaseRecording.__init__(self, ts.sampling_rate, channel_ids, np.float32)
        units = ts.channels.units
        volt_like = all(u in VOLT_UNITS for u in units)
        scale = None
        if volt_like:
            scale = np.array([UNIT_SCALE_TO_SI[u] / 1e-6 for u in units], dtype=np.float32)
            if np.all(scale == 1):
                scale = None
        self.add_recording_segment(TimeSeriesRecordingSegment(ts, scale))
        if volt_like:
            self.set_channel_gains(1.0)
            self.set_channel_offsets(0.0)
            self.set_property("physical_unit", ["uV"] * ts.n_channels)
        else:
            self.set_property("physical_unit", list(units))
            self.set_property("gain_to_physical_unit", np.ones(ts.n_channels))
            self.set_property("offset_to_physical_unit", np.zeros(ts.n_channels))
        if not _copy_metadata(ts, self):
            positions = ts.channels.positions
            if positions is not None and np.isfinite(positions).all():
                self.set_probe(_probe_from_positions(positions * 1e6))
        self._kwargs = {"ts": ts}
        # A TimeSeries is not JSON. Dumping to a pickle file is allowed only when the
        # series is file-backed, so that a provenance file never holds a copy of the data.
        self._serializability["json"] = False
        self._serializability["pickle"] = not _in_memory(ts)
        self._serializability["memory"] = True


# Set by TimeSeriesRecording itself: the series' values are in its own units.
_SCALING_PROPERTIES = [
    "gain_to_uV",
    "offset_to_uV",
    "gain_to_physical_unit",
    "offset_to_physical_unit",
    "physical_unit",
]


def _copy_metadata(ts: TimeSeries, target: Any) -> bool:
    """Give ``target`` the probe, annotations and channel properties (groups, brain areas,
    sample shifts...) of the recording ``ts`` was read from, for ``ts``'s channels, when
    they still describe them (same rate and channel ids, same positions). Returns whether
    it did."""
    source = ts.meta.get("si_recording")
    if not isinstance(source, BaseRecording):
        return False
    if source.get_sampling_frequency() != ts.sampling_rate:
        return False
    by_name = {str(c): c for c in source.channel_ids}
    if any(n not in by_name for n in ts.ch_names):
        return False
    # The sub-recording slices the probe and every property as SpikeInterface does.
    source = source.select_channels([by_name[n] for n in ts.ch_names])
    were = _positions(source)
    now = ts.channels.positions
    if (were is None) != (now is None) or (
        were is not None and not np.allclose(were, now, equal_nan=True)
    ):
        return False
    keep = {k: target.get_property(k) for k in _SCALING_PROPERTIES if k in target._properties}
    name = target.get_annotation("name")
    source.copy_metadata(target, skip_properties=_SCALING_PROPERTIES)
    for key, values in keep.items():
        target.set_property(key, values)
    target.annotate(name=name)  # what it is: not the source recording
    return True


def _in_memory(ts: TimeSeries) -> bool:
    data = ts._data
    if isinstance(data, np.ndarray) and not isinstance(data, np.memmap):
        return True
    if isinstance(data, RecordingArray):
        return not data.recording.check_serializability("pickle")
    return False


def _probe_from_positions(locations_um: np.ndarray) -> Any:
    """A probeinterface ``Probe`` of point-like contacts at ``locations_um`` (n, 3)."""
    from probeinterface import Probe

    n = len(locations_um)
    if np.all(locations_um[:, 2] == 0):
        probe = Probe(ndim=2, si_units="um")
        probe.set_contacts(locations_um[:, :2], shapes="circle", shape_params={"radius": 1})
    else:
        probe = Probe(ndim=3, si_units="um")
        # 3-D contacts need a plane; the xy plane is as good as any for point electrodes.
        plane = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (n, 1, 1))
        probe.set_contacts(
            locations_um, shapes="circle", shape_params={"radius": 1}, plane_axes=plane
        )
    probe.set_device_channel_indices(np.arange(n))
    return probe


def _same_scaling(ts: TimeSeries, store: RecordingArray) -> bool:
    """Whether ``ts`` applies exactly the recording's own gains (as :func:`_wrap` set them)."""
    _, gains, offsets = _units_and_scaling(store.recording)
    n = store.shape[1]
    want_gain, want_offset = _per_channel(gains, n, "gain"), _per_channel(offsets, n, "offset")

    def equal(a: Any, b: Any) -> bool:
        return (a is None and b is None) or (
            a is not None and b is not None and np.array_equal(a, b)
        )

    return equal(ts._gain, want_gain) and equal(ts._offset, want_offset)


def to_spikeinterface(ts: TimeSeries) -> Any:
    """Return a SpikeInterface recording of ``ts`` without copying data.

    A series that wraps a SpikeInterface recording (from :func:`from_spikeinterface` or the
    SpikeGLX/Open Ephys/neo readers) gives back that recording, restricted to the view's
    segment, channels and samples. Any other series gives a :class:`TimeSeriesRecording`.

    Parameters
    ----------
    ts : TimeSeries

    Returns
    -------
    spikeinterface.BaseRecording
    """
    store = ts._data
    if (
        isinstance(store, RecordingArray)
        and ts._layout == "samples_first"
        and _same_scaling(ts, store)
    ):
        rec = store.recording
        if rec.get_num_segments() > 1:
            rec = _si.select_segment_recording(rec, segment_indices=[store.segment_index])
        n_ch = rec.get_num_channels()
        if not np.array_equal(ts._ch_idx, np.arange(n_ch)):
            rec = rec.select_channels(rec.channel_ids[ts._ch_idx])
        if ts._start != 0 or ts._stop != store.shape[0]:
            rec = rec.frame_slice(start_frame=ts._start, end_frame=ts._stop)
        return rec
    return TimeSeriesRecording(ts)
