"""EOG, ECG and EMG leads beside the EEG are checked for signal, not judged as EEG."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint import check
from neurolint.assess.base import judged_channels
from neurolint.assess.rules import RuleDetector
from neurolint.bench.metrics import match_events
from neurolint.core.channels import ChannelInfo
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_eeg
from neurolint.simulate._heartbeat import beat_train


def _with_channels(ts: TimeSeries, rows: np.ndarray, names, types) -> TimeSeries:
    """``ts`` with extra channels (no positions) appended."""
    info = ts.channels
    pos = np.vstack([info.positions, np.full((len(names), 3), np.nan)])
    channels = ChannelInfo(
        [*info.names, *names], [*info.types, *types], [*info.units, *["V"] * len(names)], pos
    )
    data = np.vstack([ts.get_data(), np.asarray(rows, np.float32)])
    return TimeSeries(data, ts.sampling_rate, channels)


def _leads(sim, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 1 mV ECG with a beat every 0.8-1.0 s, and a vertical EOG: the blinks and eye
    movements of the most frontal channel, five times larger, plus noise."""
    ts = sim.data
    rng = np.random.default_rng(seed)
    sfreq = ts.sampling_rate
    rr = np.cumsum(rng.uniform(0.8, 1.0, int(ts.duration) + 2))
    peaks = (rr[rr < ts.duration - 0.5] * sfreq).astype(np.int64)
    ecg = beat_train(peaks, ts.n_times, sfreq) * 1e-3 + 20e-6 * rng.standard_normal(ts.n_times)
    front = int(np.argmax(ts.channels.positions[:, 1]))
    eog = 5.0 * ts.get_data()[front] + 20e-6 * rng.standard_normal(ts.n_times)
    return ecg, eog


def test_judged_channels_are_the_scalp_or_else_everything_the_user_gave():
    assert judged_channels(["eeg", "eog", "ecg", "misc", "eeg"]).tolist() == [
        True,
        False,
        False,
        False,
        True,
    ]
    assert judged_channels(["misc", "misc"]).all()  # untyped data
    assert judged_channels(["eog", "ecg", "stim"]).tolist() == [True, True, False]


def test_leads_are_not_flagged_for_looking_unlike_eeg():
    sim = simulate_eeg(32, 60.0, 256.0, artifacts=["blink", "saccade", "pop"], seed=4)
    ecg, eog = _leads(sim)
    ts = _with_channels(sim.data, np.vstack([ecg, eog]), ["ECG", "VEOG"], ["ecg", "eog"])
    result = check(ts)
    status = {c.name: c for c in result.channels}
    assert not status["ECG"].is_bad and not status["VEOG"].is_bad
    # They were still looked at: for a missing or flat signal.
    assert {"rules.flat_frac", "rules.dropout_frac"} <= set(status["ECG"].scores)
    lead_events = [e for e in result.events if {"ECG", "VEOG"} & set(e.channels)]
    assert lead_events == []
    # Their quality columns say nothing was found there; the EEG's are graded as before.
    cols = [ts.ch_names.index("ECG"), ts.ch_names.index("VEOG")]
    assert np.all(result.quality[:, cols] == 1.0)
    alone = check(sim.data)
    assert np.array_equal(result.quality[:, : sim.data.n_channels], alone.quality)
    assert [(e.kind, e.onset) for e in result.events] == [(e.kind, e.onset) for e in alone.events]


def test_a_dead_lead_is_still_flagged_flat():
    sim = simulate_eeg(16, 30.0, 256.0, artifacts=[], seed=5)
    dead = np.full(sim.data.n_times, 3e-6)
    ts = _with_channels(sim.data, dead[None], ["ECG"], ["ecg"])
    status = {c.name: c for c in RuleDetector().detect(ts).channels}
    assert status["ECG"].is_bad and status["ECG"].reasons == ("flat",)


@pytest.mark.parametrize("kind", ["saccade", "blink"])
def test_an_unplaced_extra_channel_leaves_the_positional_rules_working(kind):
    # One electrode without a position used to switch off the rules that need the head's
    # front and sides (blinks fell back to Fp-named channels, saccades were never found).
    sim = simulate_eeg(32, 60.0, 256.0, artifacts=[kind], seed=6)
    extra = sim.data.get_data()[:1] + 1e-6
    ts = _with_channels(sim.data, extra, ["X1"], ["eeg"])
    truth = sim.truth.events_of(kind)
    found = [e for e in RuleDetector().detect(ts).events if e.kind == kind]
    m = match_events(truth, found)
    assert truth and m.recall >= 0.75 and m.precision >= 0.75


def test_the_real_recordings_eog_leads_are_not_judged_as_eeg(shared_data):
    import neurolint as nl

    ts = nl.read(shared_data / "eeg" / "eeglab_data.set")
    assert ts.meta["inferred_types"] == {"EOG1": "eog", "EOG2": "eog"}
    result = check(ts, detectors="rules,learned")
    status = {c.name: c for c in result.channels}
    for lead in ("EOG1", "EOG2"):
        assert not status[lead].is_bad
        assert set(status[lead].scores) == {"rules.flat_frac", "rules.dropout_frac"}
    assert not [e for e in result.events if {"EOG1", "EOG2"} & set(e.channels)]


def test_a_gap_on_a_lead_alone_is_no_trouble_for_the_channel_rules():
    # Windows are chosen clean by the judged channels; the correlation rules then read only
    # those channels, so a lead's NaN gap raised "mean of empty slice" warnings before.
    sim = simulate_eeg(16, 60.0, 256.0, artifacts=[], seed=8)
    ecg, _ = _leads(sim)
    ecg[256 * 20 : 256 * 40] = np.nan
    ts = _with_channels(sim.data, ecg[None], ["ECG"], ["ecg"])
    status = {c.name: c for c in RuleDetector().detect(ts).channels}
    assert not status["ECG"].is_bad
    assert status["ECG"].scores["dropout_frac"] == pytest.approx(1 / 3, abs=0.02)
    assert not any(c.is_bad for c in status.values())


def test_dropped_samples_on_a_lead_are_reported_on_the_lead():
    sim = simulate_eeg(16, 60.0, 256.0, artifacts=[], seed=9)
    _, eog = _leads(sim)
    eog[256 * 10 : 256 * 12] = np.nan
    ts = _with_channels(sim.data, eog[None], ["VEOG"], ["eog"])
    gaps = [e for e in RuleDetector().detect(ts).events if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].channels == ("VEOG",)
    assert gaps[0].onset == pytest.approx(10.0) and gaps[0].duration == pytest.approx(2.0)
