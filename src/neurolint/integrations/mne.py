"""TimeSeries <-> MNE ``Raw``, lazily where the data already live in a file MNE reads."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from typing import Any

import numpy as np

from ..core.annotations import crop_annotations, make_annotation, pick_annotations
from ..core.channels import UNIT_SCALE_TO_SI, ChannelInfo, normalize_unit, unit_scale
from ..core.clock import meas_datetime, start_seconds
from ..core.errors import UnitsError
from ..core.timeseries import TimeSeries

__all__ = ["MNERawArray", "from_mne", "streamed_raw", "to_mne"]

logger = logging.getLogger("neurolint")

# MNE channel type -> neurolint type (anything else is "misc")
_FROM_MNE = {
    "eeg": "eeg",
    "mag": "meg",
    "grad": "meg",
    "ref_meg": "meg",
    "eog": "eog",
    "ecg": "ecg",
    "emg": "emg",
    "seeg": "seeg",
    "dbs": "seeg",
    "ecog": "ecog",
}
_TO_MNE = {"eeg": "eeg", "eog": "eog", "ecg": "ecg", "emg": "emg", "seeg": "seeg", "ecog": "ecog"}
# FIFF unit codes MNE keeps per channel (FIFF.FIFF_UNIT_V, _T, _T_M).
_FIFF_UNITS = {107: "V", 112: "T", 201: "T/m"}
_STIM_KIND = 3  # FIFF.FIFFV_STIM_CH
_DESCRIPTION_KEY = "neurolint_types"


_ORIG_FORMAT = {"single": np.float32, "double": np.float64, "int": np.int32, "short": np.int16}


class MNERawArray:
    """Array-like view of an MNE ``Raw``, ``(n_channels, n_times)``, read with ``get_data``."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.shape = (raw.info["nchan"], raw.n_times)
        # The sample type on disk, for `info`; get_data itself returns float64.
        self.dtype = np.dtype(_ORIG_FORMAT.get(getattr(raw, "orig_format", None), np.float64))

    ndim = 2

    def __getitem__(self, key: tuple[Any, slice]) -> np.ndarray:
        ch_key, time = key
        picks = (
            np.arange(self.shape[0])[ch_key] if isinstance(ch_key, slice) else np.asarray(ch_key)
        )
        start, stop, _ = time.indices(self.shape[1])
        return self.raw.get_data(picks=picks, start=start, stop=max(start, stop), verbose="error")


def _positions(info: Any) -> np.ndarray | None:
    pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=float)
    unknown = ~np.isfinite(pos).all(axis=1) | (np.abs(pos).sum(axis=1) == 0)
    pos[unknown] = np.nan
    return None if unknown.all() else pos


def _unit(raw: Any, ch: dict) -> str:
    """The unit of the data MNE returns for a channel.

    Readers that keep the file's own unit (EDF, BrainVision) tell apart a channel without
    physical units, which MNE leaves unscaled but labels volts.
    """
    if ch["kind"] == _STIM_KIND:
        return "a.u."  # MNE labels trigger channels volts; they are codes
    unit = _FIFF_UNITS.get(int(ch["unit"]), "a.u.")
    orig = getattr(raw, "_orig_units", None) or {}
    if ch["ch_name"] in orig:
        original = normalize_unit(orig[ch["ch_name"]])
        if original not in UNIT_SCALE_TO_SI:
            return original
    return unit


def _saved_types(info: Any) -> dict[str, str]:
    """Types MNE cannot express (ephys, lfp), kept by :func:`to_mne` in the description."""
    text = info.get("description") or ""
    try:
        saved = json.loads(text).get(_DESCRIPTION_KEY, {})
    except (ValueError, AttributeError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _types(info: Any) -> list[str]:
    """neurolint's type of each channel of an MNE ``Info``."""
    saved = _saved_types(info)
    return [
        saved.get(n, _FROM_MNE.get(t, "misc"))
        for n, t in zip(info["ch_names"], info.get_channel_types(), strict=True)
    ]


def from_mne(raw: Any, *, source: str | None = None, meta: dict | None = None) -> TimeSeries:
    """Wrap an MNE ``Raw`` as a lazy TimeSeries (no data are loaded or copied).

    Channel types map onto neurolint's (``mag``/``grad`` → ``meg``, ``dbs`` → ``seeg``,
    stimulus and other auxiliary channels → ``misc``); data keep MNE's SI units (V, T, T/m).
    """
    types = _types(raw.info)
    units = [_unit(raw, ch) for ch in raw.info["chs"]]
    channels = ChannelInfo(raw.ch_names, types, units, _positions(raw.info))
    filenames = [f for f in getattr(raw, "filenames", ()) if f]
    meta = dict(meta or {})
    # What the series' writers give back to MNE formats: the whole Info (filters, line
    # frequency, subject, digitisation, MEG coils and head transform...) and the clock.
    meta.setdefault("mne_info", raw.info)
    meta.setdefault("first_samp", int(raw.first_samp))
    meta.setdefault("bads", list(raw.info["bads"]))
    if raw.info.get("meas_date") is not None:
        meta.setdefault("meas_date", raw.info["meas_date"].isoformat())
    if len(raw.annotations):
        # Those outside the data (MNE keeps them) have no sample to mark.
        marks = crop_annotations(_annotations_from(raw), 0.0, raw.n_times / raw.info["sfreq"])
        meta.setdefault("annotations", marks)
    return TimeSeries(
        MNERawArray(raw),
        raw.info["sfreq"],
        channels,
        source=source or (str(filenames[0]) if filenames else None),
        meta=meta,
    )


def _annotations_from(raw: Any) -> list[dict]:
    """``raw``'s annotations as ``meta["annotations"]`` holds them (seconds from its first
    sample, as MNE's own EDF exporter counts them)."""
    from mne.annotations import _sync_onset

    ann = raw.annotations
    onsets = _sync_onset(raw, ann.onset, inverse=False)
    names = set(raw.ch_names)
    out = []
    for o, d, desc, chans in zip(onsets, ann.duration, ann.description, ann.ch_names, strict=True):
        # EDF+ has no per-channel annotations: MNE's exporter writes "BAD_x@@Fp1" for them.
        text, _, chan = desc.rpartition("@@")
        if not chans and text and chan in names:
            desc, chans = text, (chan,)
        out.append(make_annotation(o, d, desc, chans))
    return out


def _first_samp(ts: TimeSeries) -> int:
    """Where ``ts`` starts on its recording's sample clock (MNE's ``first_samp``): events
    and annotations of the written file then keep the input's absolute times."""
    return round(start_seconds(ts) * ts.sampling_rate)


def _set_annotations(raw: Any, ts: TimeSeries) -> None:
    """Give ``raw`` the annotations ``ts`` carries (those of its channels)."""
    import mne

    kept = pick_annotations(ts.meta.get("annotations") or [], raw.ch_names)
    if kept:
        raw.set_annotations(
            mne.Annotations(
                [a["onset"] for a in kept],
                [a["duration"] for a in kept],
                [a["description"] for a in kept],
                ch_names=[a["ch_names"] for a in kept],
            ),
            verbose="error",
        )


def to_mne(ts: TimeSeries, *, copy_data: bool = False) -> Any:
    """Return an MNE ``Raw`` holding the TimeSeries' channels and samples.

    A series read through MNE gives back its own (file-backed) ``Raw``, picked and cropped
    to the view, without loading data unless ``copy_data``. Other series are loaded into an
    ``mne.io.RawArray`` in SI units; types MNE lacks (``ephys``, ``lfp``) become ``misc`` and
    are remembered in ``info["description"]`` so that :func:`from_mne` restores them
    (voltage channels of those types go in as ``bio``, which MNE keeps in volts).

    Raises
    ------
    UnitsError
        If a voltage channel (eeg, eog, ...) has arbitrary or unknown units, which MNE would
        silently take for volts.
    """
    import mne

    if isinstance(ts._data, MNERawArray):
        raw = ts._data.raw.copy()
        if ts.ch_names != raw.ch_names:
            raw.pick(ts.ch_names)
        if ts._start != 0 or ts._stop != raw.n_times:
            sf = raw.info["sfreq"]
            raw.crop(ts._start / sf, (ts._stop - 1) / sf, include_tmax=True, verbose="error")
        if raw.n_times == ts.n_samples:
            return raw.load_data(verbose="error") if copy_data else raw
        logger.debug("crop gave %d samples for %d; loading instead", raw.n_times, ts.n_samples)
    info, scale = _info(ts)
    # Filled in 30 s pieces, not read at once: a lazily computed series (a correction) then
    # works block by block, with no whole-length temporaries beside this array.
    data = np.empty((ts.n_channels, ts.n_samples))
    for chunk, block in ts.iter_chunks(chunk_duration=30.0):
        data[:, chunk.start : chunk.stop] = block
    data *= scale[:, None]
    raw = mne.io.RawArray(data, info, first_samp=_first_samp(ts), verbose="error")
    _set_annotations(raw, ts)
    return raw


def _info(ts: TimeSeries) -> tuple[Any, np.ndarray]:
    """The MNE ``Info`` for ``ts`` (types, montage, locations, bads) and each channel's factor
    to SI units; see :func:`to_mne`."""
    names, types, units = ts.ch_names, ts.channels.types, ts.channels.units
    scale = np.ones(len(names))
    mne_types = []
    for i, (name, kind, unit) in enumerate(zip(names, types, units, strict=True)):
        if kind == "meg":
            mne_types.append("grad" if unit in ("T/m", "fT/cm") else "mag")
        elif kind in ("ephys", "lfp") and unit in ("V", "mV", "uV", "nV"):
            mne_types.append("bio")
        else:
            mne_types.append(_TO_MNE.get(kind, "misc"))
        if mne_types[-1] == "misc" and unit == "a.u.":
            continue
        try:
            scale[i] = unit_scale(unit, name)
        except UnitsError:
            if mne_types[-1] != "misc":
                raise
    info = _template_info(ts)
    if info is None:
        info = _new_info(ts, mne_types)
    info["bads"] = [b for b in ts.meta.get("bads", []) if b in names]
    if info["meas_date"] is None and (meas := meas_datetime(ts.meta.get("meas_date"))):
        info.set_meas_date(meas.astimezone(dt.timezone.utc))
    return info, scale


def _template_info(ts: TimeSeries) -> Any:
    """The ``Info`` ``ts`` was read with, picked to its channels, when it still describes
    them (same rate, names, types and positions); else ``None``.

    It carries what neurolint has no field for and a corrected file must keep: filter
    settings, line frequency, subject and device, digitisation (fiducials, head shape), MEG
    coil orientations, compensation and head transform, projectors.
    """
    import mne

    template = ts.meta.get("mne_info")
    if not isinstance(template, mne.Info) or float(template["sfreq"]) != ts.sampling_rate:
        return None
    index = {n: i for i, n in enumerate(template["ch_names"])}
    if any(n not in index for n in ts.ch_names):
        return None
    sel = [index[n] for n in ts.ch_names]
    types = _types(template)
    if [types[i] for i in sel] != list(ts.channels.types):
        return None
    were = _positions(template)
    were = np.full((len(sel), 3), np.nan) if were is None else were[sel]
    now = ts.channels.positions
    now = np.full((len(sel), 3), np.nan) if now is None else now
    if not np.allclose(were, now, equal_nan=True):
        return None
    try:
        return mne.pick_info(template, sel, copy=True, verbose="error")
    except (RuntimeError, ValueError):  # e.g. MEG compensation needing channels left out
        return None


def _new_info(ts: TimeSeries, mne_types: list[str]) -> Any:
    """An ``Info`` built from ``ts``'s channels: types, ephys/lfp types kept in the
    description, positions as a digitised montage and channel locations."""
    import mne

    names, types = ts.ch_names, ts.channels.types
    info = mne.create_info(names, ts.sampling_rate, mne_types, verbose="error")
    extra = {n: t for n, t in zip(names, types, strict=True) if t in ("ephys", "lfp")}
    if extra:
        info["description"] = json.dumps({_DESCRIPTION_KEY: extra})
    pos = ts.channels.positions
    if pos is not None:
        # A digitised montage (not just channel locs) is what MNE's and PyPREP's spatial
        # methods (interpolation, RANSAC, topomaps) look for.
        scalp = {
            name: xyz
            for name, kind, xyz in zip(names, mne_types, pos, strict=True)
            if kind in ("eeg", "seeg", "ecog") and np.isfinite(xyz).all()
        }
        if scalp:
            montage = mne.channels.make_dig_montage(ch_pos=scalp, coord_frame="head")
            info.set_montage(montage, on_missing="ignore", verbose="error")
        with info._unlock():
            for ch, xyz in zip(info["chs"], pos, strict=True):
                if np.isfinite(xyz).all():
                    ch["loc"][:3] = xyz
    return info


def streamed_raw(ts: TimeSeries) -> Any:
    """An MNE ``Raw`` that reads ``ts`` block by block when asked (``preload=False``).

    What :func:`to_mne` gives, without loading: ``raw.save()`` then streams the series one
    buffer at a time, so writing a lazily corrected hour holds one block, not the hour.
    A series read through MNE gives back its own file-backed ``Raw`` instead.
    """
    if isinstance(ts._data, MNERawArray):
        return to_mne(ts)
    info, scale = _info(ts)
    raw = _series_raw_class()(ts, info, scale)
    _set_annotations(raw, ts)
    return raw


@functools.cache
def _series_raw_class() -> type:
    import mne

    class SeriesRaw(mne.io.BaseRaw):
        def __init__(self, ts: TimeSeries, info: Any, scale: np.ndarray) -> None:
            first = _first_samp(ts)
            super().__init__(
                info,
                preload=False,
                first_samps=(first,),
                last_samps=(first + ts.n_samples - 1,),
                raw_extras=[{"series": ts, "scale": scale, "first": first}],
                orig_format="single",
                verbose="error",
            )

        def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):
            extras = self._raw_extras[fi]
            # MNE asks on the recording's clock, which starts at first_samp.
            first = extras["first"]
            block = extras["series"].get_data(start - first, stop - first).astype(np.float64)
            block *= extras["scale"][:, None]
            # As MNE's own readers fill a segment: project (mult has the calibrations in
            # it) or select and calibrate.
            if mult is not None:
                data[:] = mult @ block[idx]
            else:
                data[:] = block[idx]
                data *= cals

    return SeriesRaw
