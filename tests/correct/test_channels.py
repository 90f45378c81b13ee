"""Channel repair: spherical splines through MNE, the same weights as interpolate_bads."""

import numpy as np
import pytest

from neurolint.core.timeseries import TimeSeries
from neurolint.correct.base import corrected_series
from neurolint.correct.channels import ChannelRepair
from neurolint.simulate import simulate_eeg


@pytest.fixture(scope="module")
def eeg():
    return simulate_eeg(32, 30, 256.0, artifacts=None, seed=2)


def test_a_flat_channel_is_rebuilt_from_its_neighbours(eeg):
    ts, truth = eeg
    x = ts.get_data()
    x[5] = 0.0
    broken = TimeSeries(x, ts.sampling_rate, ts.channels)
    step = ChannelRepair(bads=[ts.ch_names[5]]).fit(broken)
    out = corrected_series(broken, [step]).get_data()
    clean = truth.clean.get_data()
    assert np.corrcoef(out[5], clean[5])[0, 1] > 0.9
    np.testing.assert_array_equal(np.delete(out, 5, 0), np.delete(x, 5, 0))


def test_weights_equal_mne_interpolate_bads(eeg):
    ts, _ = eeg
    bads = [ts.ch_names[3], ts.ch_names[17]]
    ours = corrected_series(ts, [ChannelRepair(bads=bads).fit(ts)]).get_data()
    raw = ts.to_mne(copy_data=True)
    raw.info["bads"] = bads
    raw.interpolate_bads(reset_bads=True, verbose="error")
    np.testing.assert_allclose(ours, raw.get_data(), atol=1e-6 * np.abs(ours).max())


def test_an_unplaced_extra_channel_does_not_stop_the_spline(eeg):
    # One EEG channel without a position (an extra electrode) used to send every bad
    # channel to the regression; the spline now runs from the placed channels, and the
    # unplaced channel itself, if bad, goes to the regression.
    from neurolint.core.channels import ChannelInfo

    ts, truth = eeg
    x = np.vstack([ts.get_data(), ts.get_data()[:1] + 1e-7])
    x[5] = 0.0
    info = ts.channels
    pos = np.vstack([info.positions, np.full((1, 3), np.nan)])
    extra = TimeSeries(x, ts.sampling_rate, ChannelInfo([*info.names, "X1"], "eeg", "V", pos))
    step = ChannelRepair(bads=[ts.ch_names[5], "X1"]).fit(extra)
    assert step.methods_[ts.ch_names[5]] == "spherical_spline"
    assert step.methods_.get("X1", "regression") != "spherical_spline"
    out = corrected_series(extra, [step]).get_data()
    assert np.corrcoef(out[5], truth.clean.get_data()[5])[0, 1] > 0.9


def _without_positions(ts, types="eeg"):
    from neurolint.core.channels import ChannelInfo

    return lambda x: TimeSeries(x, ts.sampling_rate, ChannelInfo(ts.ch_names, types=types))


def _spline_r(ts, clean, ch):
    """How well MNE's spline rebuilds the clean channel (positions known): the bar."""
    full = TimeSeries(clean.copy(), ts.sampling_rate, ts.channels)
    out = corrected_series(full, [ChannelRepair(bads=[ts.ch_names[ch]]).fit(full)]).get_data()
    return np.corrcoef(out[ch], clean[ch])[0, 1]


def test_without_positions_a_noisy_channel_is_learned_from_its_peers(eeg):
    # Broadband noise 3x the signal, independent of the others: the regression of the
    # recorded channel on its peers still converges to its clean signal, as well as
    # splines do with positions.
    ts, truth = eeg
    clean = truth.clean.get_data()
    x = ts.get_data()
    rng = np.random.default_rng(5)
    x[7] = clean[7] + 3 * clean[7].std() * rng.standard_normal(x.shape[1]).astype(np.float32)
    broken = _without_positions(ts)(x)
    step = ChannelRepair(bads=[ts.ch_names[7]]).fit(broken)
    assert step.methods_ == {ts.ch_names[7]: "regression"}
    out = corrected_series(broken, [step]).get_data()
    assert np.corrcoef(out[7], clean[7])[0, 1] >= _spline_r(ts, clean, 7) - 0.01
    assert np.corrcoef(x[7], clean[7])[0, 1] < 0.4
    np.testing.assert_array_equal(np.delete(out, 7, 0), np.delete(x, 7, 0))
    log = step.log()
    assert "regression" in log.method and log.parameters["heldout_r"][ts.ch_names[7]] > 0.1


def test_the_regression_works_for_probe_channels_too(eeg):
    ts, truth = eeg
    clean = truth.clean.get_data()
    x = clean.copy()
    x[3] += 20 * clean[3].std() * (np.arange(x.shape[1]) % 500 == 0)  # pops
    broken = _without_positions(ts, "lfp")(x)
    step = ChannelRepair(bads=[ts.ch_names[3]]).fit(broken)
    out = corrected_series(broken, [step]).get_data()
    assert np.corrcoef(out[3], clean[3])[0, 1] >= _spline_r(ts, clean, 3) - 0.01


def test_a_flat_channel_without_positions_is_skipped_with_a_reason(eeg):
    ts, _ = eeg
    x = ts.get_data()
    x[5] = 0.0
    step = ChannelRepair(bads=[ts.ch_names[5]]).fit(_without_positions(ts)(x))
    assert not step.active and "flat" in step.skipped_


def test_a_channel_its_peers_do_not_predict_is_left_with_a_reason():
    from neurolint.core.timeseries import ChannelInfo

    names = [f"E{i}" for i in range(8)]
    x = np.random.default_rng(0).standard_normal((8, 30_000)).astype(np.float32)
    ts = TimeSeries(x, 100.0, ChannelInfo(names, types=["eeg"] * 8))
    step = ChannelRepair(bads=["E1"]).fit(ts)
    assert not step.active and "do not predict" in step.not_repaired_["E1"]


def test_spline_only_without_positions_is_skipped_with_a_reason(eeg):
    ts, _ = eeg
    step = ChannelRepair(bads=[ts.ch_names[1]], method="spline").fit(
        _without_positions(ts)(ts.get_data())
    )
    assert not step.active and "positions" in step.skipped_


def test_bad_channels_come_from_the_qc_and_unknown_names_are_refused(eeg):
    from neurolint.core.errors import ParameterError
    from neurolint.core.findings import ChannelStatus, QCResult

    ts, _ = eeg
    qc = QCResult(
        score=90.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        channels=[ChannelStatus(ts.ch_names[0], "eeg", "bad", ("flat",))],
    )
    assert ChannelRepair().fit(ts, qc).bads_ == [ts.ch_names[0]]
    with pytest.raises(ParameterError, match="not in the recording"):
        ChannelRepair(bads=["nope"]).fit(ts)


def test_the_regression_sample_of_a_wide_fast_probe_stays_within_its_budget(monkeypatch):
    from neurolint.correct import _regression

    eeg = TimeSeries(np.ones((8, 256 * 600), np.float32), 256.0)
    assert _regression.sample_blocks(eeg, list(range(8)))[0].shape == (240, 8, 256)  # as before
    monkeypatch.setattr(_regression, "_SAMPLE_BYTES", 2**20)
    ts = TimeSeries(np.ones((64, 30_000 * 20), np.float32), 30_000.0)
    blocks, means, _ = _regression.sample_blocks(ts, list(range(64)))
    # 1 s blocks would be 15 MB each: blocks are 2048 samples, and only as many as fit
    # (but at least 16, so the fit still has held-out blocks to judge by).
    assert blocks.shape == (16, 64, 2048)
    np.testing.assert_array_equal(blocks, 0.0)  # demeaned in place
    np.testing.assert_array_equal(means, 1.0)
