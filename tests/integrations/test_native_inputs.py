"""check() and fix() take MNE Raw and SpikeInterface recordings as they are."""

from __future__ import annotations

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.errors import ParameterError
from neurolint.simulate import simulate_eeg, simulate_ephys


def test_check_and_fix_take_an_mne_raw_and_leave_it_unchanged():
    mne = pytest.importorskip("mne")
    ts = simulate_eeg(8, 20, 256.0, seed=3).data
    raw = nl.to_mne(ts, copy_data=True)
    assert isinstance(raw, mne.io.BaseRaw)
    before = raw.get_data().copy()
    qc = nl.check(raw)
    wrapped = nl.check(nl.from_mne(raw))
    assert qc.score == wrapped.score and len(qc.events) == len(wrapped.events)
    corrected, _ = nl.fix(raw, qc=qc, steps="gaps,line")
    assert corrected.ch_names == raw.ch_names and corrected.n_samples == raw.n_times
    assert np.isnan(before).any() and not np.isnan(corrected.get_data()).any()  # gaps filled
    assert np.array_equal(raw.get_data(), before, equal_nan=True)  # in the input, not


def test_check_takes_a_spikeinterface_recording_of_one_segment_and_refuses_several():
    si = pytest.importorskip("spikeinterface.core")
    ts = simulate_ephys("linear32", 2.0, seed=1).data
    rec = nl.to_spikeinterface(ts)
    qc = nl.check(rec)
    assert [c.name for c in qc.channels] == ts.ch_names
    two = si.NumpyRecording([ts.get_data().T] * 2, ts.sampling_rate)
    with pytest.raises(ParameterError, match="2 segments"):
        nl.check(two)


def test_anything_else_is_refused_with_what_to_do():
    with pytest.raises(ParameterError, match=r"wrap arrays with neurolint\.TimeSeries"):
        nl.check(np.zeros((2, 100)))
