"""The movement step subtracts the slow deflection of movement findings and nothing else."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from neurolint.correct import fix
from neurolint.correct.base import corrected_series
from neurolint.correct.movement import MovementRemover
from neurolint.simulate import simulate_eeg


def _sim():
    return simulate_eeg(32, 120.0, 256.0, artifacts=["movement"], seed=3)


def test_movement_deflections_shrink_to_the_size_of_the_eeg():
    sim = _sim()
    qc = SimpleNamespace(events=sim.truth.events_of("movement"), bad_channels=[])
    out, log = fix(sim.data, qc, steps="movement")
    x, clean = sim.data.get_data(), sim.truth.clean.get_data()
    y = out.get_data()
    sfreq = sim.data.sampling_rate
    before = after = 0.0
    for e in qc.events:
        a, z = round(e.onset * sfreq), round(e.offset * sfreq)
        rows = [sim.data.ch_names.index(c) for c in e.channels]
        before += float(np.sum((x[rows, a:z] - clean[rows, a:z]) ** 2))
        after += float(np.sum((y[rows, a:z] - clean[rows, a:z]) ** 2))
    assert qc.events and after < 0.2 * before
    step = log.steps[0]
    assert step.name == "movement" and step.skipped is None and step.regions


def test_samples_outside_the_findings_are_untouched_and_blocks_do_not_matter():
    sim = _sim()
    qc = SimpleNamespace(events=sim.truth.events_of("movement"), bad_channels=[])
    step = MovementRemover().fit(sim.data, qc)
    whole = step.apply(sim.data.get_data(), 0)
    pieces = corrected_series(sim.data, [step]).get_data()  # read block by block
    np.testing.assert_array_equal(whole, pieces)
    touched = np.zeros(sim.data.shape, bool)
    for a, z, chans in step.regions_:
        touched[list(chans), a:z] = True
    np.testing.assert_array_equal(whole[~touched], sim.data.get_data()[~touched])


def test_no_movement_findings_means_nothing_changes():
    sim = simulate_eeg(16, 30.0, 256.0, artifacts=["blink"], seed=4)
    qc = SimpleNamespace(events=sim.truth.events, bad_channels=[])
    step = MovementRemover().fit(sim.data, qc)
    assert step.skipped_ == "no movement findings to correct"
    assert MovementRemover().fit(sim.data, None).skipped_.startswith("no assessment")
