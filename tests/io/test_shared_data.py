"""Every recording in ../shared/data reads lazily with the right shape and rate."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import neurolint as nl

# (file, reader options, kind, shape, rate in Hz)
CASES = [
    ("eeg/eeglab_data.set", {}, "TimeSeries", (32, 30504), 128.0),
    ("eeg/formats/test.edf", {}, "TimeSeries", (16, 15360), 256.0),
    ("eeg/formats/test.bdf", {}, "TimeSeries", (17, 15360), 256.0),
    ("eeg/formats/testbva.vhdr", {}, "TimeSeries", (32, 2112), 200.0),
    ("eeg/formats/test.xdf", {}, "TimeSeries", (8, 9520), 1000.0),
    ("ephys/locust_trial_01.raw", {}, "TimeSeries", (4, 431548), 15000.0),
    ("imaging/mouse_2p_64x64x500.tif", {"frame_rate": 8.0}, "Movie", (500, 64, 64), 8.0),
    ("fmri/haxby_bold_1slice_all.nii.gz", {}, "VolumeSeries", (1452, 40, 20, 1), 0.4),
] + [
    (f"fmri/haxby_sub001_run00{i}_bold_25mm.nii.gz", {}, "VolumeSeries", (121, 6, 10, 10), 0.4)
    for i in range(1, 7)
]


@pytest.mark.parametrize(
    ("name", "options", "kind", "shape", "rate"), CASES, ids=[c[0] for c in CASES]
)
def test_shared_recording_reads(shared_data, name, options, kind, shape, rate):
    obj = nl.read(shared_data / name, **options)
    assert type(obj).__name__ == kind
    assert obj.shape == shape
    assert obj.sampling_rate == pytest.approx(rate)
    first = obj.get_data(0, 3)
    assert first.dtype == np.float32 and np.isfinite(first).all()
    # Cheap to send to a worker, and the same data on arrival.
    payload = pickle.dumps(obj)
    assert len(payload) < 200_000
    np.testing.assert_array_equal(pickle.loads(payload).get_data(0, 3), first)


def test_eeglab_positions_and_eog_channels(shared_data):
    ts = nl.read(shared_data / "eeg/eeglab_data.set")
    assert {"FPz", "EOG1", "EOG2"} <= set(ts.ch_names)
    # The file stores no types; the eye channels are typed by their names.
    types = dict(zip(ts.ch_names, ts.channels.types, strict=True))
    assert types["EOG1"] == types["EOG2"] == "eog" and types["FPz"] == "eeg"
    assert ts.meta["inferred_types"] == {"EOG1": "eog", "EOG2": "eog"}
    plain = nl.read(shared_data / "eeg/eeglab_data.set", infer_types=False)
    assert set(plain.channels.types) == {"eeg"}
    assert ts.channels.positions is not None
    assert ts.channels.units[0] == "V"
    assert 1e-7 < np.abs(ts.get_data(0, 1280)).max() < 1e-2, "values are in volts"


def test_locust_sidecar_gives_rate_and_dtype(shared_data):
    ts = nl.read(shared_data / "ephys/locust_trial_01.raw")
    assert ts.stored_dtype == np.int16
    assert ts.meta["sidecar"].endswith("locust_info.json")
    assert ts.duration == pytest.approx(431548 / 15000)
