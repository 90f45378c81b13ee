"""Peers' artifact and bad-channel detectors for EEG, called (not re-written) through MNE/PyPREP.

Each function takes a :class:`~neurolint.core.timeseries.TimeSeries` and returns
:class:`Detections`. Peers get what a careful user would give them: the recording as an MNE
Raw in volts with its montage, NaN runs (dropped samples) read as zeros because MNE's
functions do not accept NaN, and the filtering their documentation recommends.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import NamedTuple

import numpy as np

from ...core.findings import Finding
from ...core.timeseries import TimeSeries
from ...core.validate import import_optional

__all__ = [
    "Detections",
    "mne_annotate_amplitude",
    "mne_annotate_muscle_zscore",
    "mne_bridged_electrodes",
    "mne_find_eog_events",
    "mne_lof_channels",
    "pyprep_noisy_channels",
]


class Detections(NamedTuple):
    """What a detector reports: timed events and bad channel names."""

    events: list[Finding]
    bad_channels: list[str]


def _quiet(func):
    """Run a peer with MNE's log and progress bars silenced (the table is the output)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import mne

        with mne.utils.use_log_level("error"), _no_tqdm():
            return func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def _no_tqdm():
    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old


def _raw(ts: TimeSeries):
    raw = ts.to_mne()
    if not raw.preload:
        # A file-backed Raw (read through MNE): load a copy, never the user's object.
        raw = raw.copy().load_data(verbose="error")
    data = raw._data  # in memory and ours to change
    np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return raw


def _from_annotations(raw, mapping: dict[str, str], detector: str) -> list[Finding]:
    out = []
    for ann in raw.annotations:
        kind = mapping.get(ann["description"])
        if kind is not None:
            out.append(
                Finding(
                    onset=max(0.0, float(ann["onset"]) - raw.first_time),
                    duration=float(ann["duration"]),
                    kind=kind,
                    channels=tuple(ann.get("ch_names", ())),
                    detector=detector,
                )
            )
    return out


@_quiet
def mne_annotate_amplitude(
    ts: TimeSeries, *, peak: float = 50e-6, flat: float = 1e-7, min_duration: float = 0.02
) -> Detections:
    """:func:`mne.preprocessing.annotate_amplitude`: sample-to-sample jumps and flat spans.

    ``BAD_peak`` spans (jumps larger than ``peak`` volts between consecutive samples) and
    ``BAD_flat`` spans (changes below ``flat``) are generic artifacts; channels over 5 % bad
    are bad channels. The events carry kind ``anomaly`` (MNE does not name a kind).
    """
    import mne

    raw = _raw(ts)
    annotations, bads = mne.preprocessing.annotate_amplitude(
        raw, peak=peak, flat=flat, min_duration=min_duration, verbose="error"
    )
    raw.set_annotations(annotations)
    events = _from_annotations(
        raw, {"BAD_peak": "anomaly", "BAD_flat": "anomaly"}, "mne.annotate_amplitude"
    )
    return Detections(events, list(bads))


@_quiet
def mne_annotate_muscle_zscore(ts: TimeSeries, *, threshold: float = 4.0) -> Detections:
    """:func:`mne.preprocessing.annotate_muscle_zscore` after notching the mains harmonics.

    MNE suggests a 110-140 Hz band where the sampling rate allows; below that the band is
    30 Hz up to 45 % of the sampling rate, as high as the data reach.
    """
    import mne

    raw = _raw(ts)
    nyq = raw.info["sfreq"] / 2
    mains = [f for f in (50.0, 60.0, 100.0, 120.0, 150.0, 180.0) if f < nyq - 1]
    raw.notch_filter(mains, verbose="error")
    band = (110.0, 140.0) if nyq > 150 else (30.0, 0.9 * nyq)
    annotations, _ = mne.preprocessing.annotate_muscle_zscore(
        raw, threshold=threshold, ch_type="eeg", filter_freq=band, verbose="error"
    )
    raw.set_annotations(annotations)
    return Detections(
        _from_annotations(raw, {"BAD_muscle": "muscle"}, "mne.annotate_muscle_zscore"), []
    )


@_quiet
def mne_find_eog_events(ts: TimeSeries, *, half_width: float = 0.2) -> Detections:
    """:func:`mne.preprocessing.find_eog_events` on the two most frontal channels, as EOG.

    Recordings without EOG channels are common; the frontopolar sites are the usual proxy.
    Each detected peak becomes a ``blink`` of ``2 * half_width`` seconds around it.
    """
    import mne

    raw = _raw(ts)
    pos = ts.channels.positions
    order = np.argsort(-pos[:, 1]) if pos is not None else np.arange(ts.n_channels)
    frontal = [ts.ch_names[i] for i in order[:2]]
    found = mne.preprocessing.find_eog_events(raw, ch_name=frontal, verbose="error")
    sfreq = raw.info["sfreq"]
    events = [
        Finding(
            onset=max(0.0, (int(sample) - raw.first_samp) / sfreq - half_width),
            duration=2 * half_width,
            kind="blink",
            detector="mne.find_eog_events",
        )
        for sample in found[:, 0]
    ]
    return Detections(events, [])


@_quiet
def pyprep_noisy_channels(
    ts: TimeSeries, *, seed: int = 0, ransac: bool = True, criteria: str = "all"
) -> Detections:
    """PyPREP's ``NoisyChannels.find_all_bads``, the PREP pipeline's bad-channel detector.

    ``criteria="all"`` keeps every criterion PyPREP applies (NaN, flat, deviation,
    HF noise, correlation, SNR, dropout, RANSAC and, in recent versions, PSD);
    ``"prep"`` keeps the original PREP criteria only (everything but ``bad_by_psd``).
    """
    pyprep = import_optional("pyprep", "bench")
    raw = _raw(ts)
    noisy = pyprep.NoisyChannels(raw, random_state=seed, ransac=ransac)
    noisy.find_all_bads()
    if criteria == "all":
        return Detections([], list(noisy.get_bads()))
    by_reason = noisy.get_bads(as_dict=True)
    keep = {
        name
        for reason, names in by_reason.items()
        if reason not in ("bad_all", "bad_by_psd")
        for name in names
    }
    return Detections([], sorted(keep))


@_quiet
def mne_lof_channels(ts: TimeSeries, *, threshold: float = 1.5) -> Detections:
    """:func:`mne.preprocessing.find_bad_channels_lof` (local outlier factor) after a 1 Hz
    high-pass, as its documentation does."""
    import mne

    raw = _raw(ts)
    raw.filter(1.0, None, verbose="error")
    bads = mne.preprocessing.find_bad_channels_lof(raw, threshold=threshold, verbose="error")
    return Detections([], list(bads))


@_quiet
def mne_bridged_electrodes(ts: TimeSeries) -> Detections:
    """:func:`mne.preprocessing.compute_bridged_electrodes` (electrical distance); both
    electrodes of every bridged pair are bad."""
    import mne

    raw = _raw(ts)
    pairs, _ = mne.preprocessing.compute_bridged_electrodes(raw, verbose="error")
    names = sorted({raw.ch_names[i] for pair in pairs for i in pair})
    return Detections([], names)
