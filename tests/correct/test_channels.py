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


def test_without_positions_the_step_is_skipped_with_a_reason():
    from neurolint.core.timeseries import ChannelInfo

    names = [f"E{i}" for i in range(8)]
    x = np.random.default_rng(0).standard_normal((8, 1000)).astype(np.float32)
    ts = TimeSeries(x, 100.0, ChannelInfo(names, types=["eeg"] * 8))
    step = ChannelRepair(bads=["E1"]).fit(ts)
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
