"""fix(): steps in order, a lazy corrected series, an exact log, and nothing harmed."""

import json

import numpy as np
import pytest
from scipy.signal import welch

import neurolint as nl
from neurolint.core import TimeSeries
from neurolint.core.errors import EmptyRecordingError, ParameterError
from neurolint.core.provenance import CorrectionLog
from neurolint.correct import fix, residual
from neurolint.simulate import simulate_eeg


@pytest.fixture(scope="module")
def broken():
    return simulate_eeg(
        32,
        60,
        256.0,
        artifacts=["line_noise", "gap", "flat", "noisy_channel"],
        rates={"line_noise": 2.0, "gap": 3.0},
        seed=5,
    )


def _rr(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b**2)))


def test_fix_repairs_gaps_channels_and_hum(broken):
    ts, truth = broken
    before = ts.get_data()
    qc = nl.check(ts, detectors="rules")
    out, log = fix(ts, qc)
    names = [s.name for s in log.steps]
    assert names == ["gaps", "channels", "line_noise", "movement", "artifacts"]
    assert all(s.skipped is None for s in log.steps[:3])
    x, clean = out.get_data(), truth.clean.get_data()
    assert np.isfinite(x).all()
    bad = [ts.ch_names.index(n) for n in truth.bad_channels]
    good = [i for i in range(ts.n_channels) if i not in bad]
    assert _rr(x[good], clean[good]) < 0.5 * _rr(np.nan_to_num(before[good]), clean[good])
    assert _rr(x[bad], clean[bad]) < 0.7
    np.testing.assert_array_equal(ts.get_data(), before)  # the input is untouched
    assert out.ch_names == ts.ch_names and out.sampling_rate == ts.sampling_rate


def test_log_says_where_and_how_much(broken):
    ts, truth = broken
    _, log = fix(ts, nl.check(ts, detectors="rules"), steps="gaps,channels,line")
    gaps, channels, line = log.steps
    # Every simulated gap is a filled region, on every good channel, within a sample.
    good = set(ts.ch_names) - set(truth.bad_channels)
    for e in truth.events_of("gap"):
        hits = [r for r in gaps.regions if abs(r.onset - e.onset) <= 1.5 / 256]
        assert {c for r in hits for c in r.channels} >= good
        assert all(abs(r.duration - e.duration) <= 2 / 256 for r in hits)
    assert set(channels.parameters["bads"]) == set(truth.bad_channels)
    assert line.parameters["line_freq"] in (50.0, 60.0)
    for step in log.steps:
        assert all(0.0 <= v <= 1.0 for v in step.energy_removed.values())
    for name in truth.bad_channels:
        assert channels.energy_removed[name] > 0.5
    again = CorrectionLog.from_json(log.to_json())
    assert json.loads(again.to_json()) == json.loads(log.to_json())


def test_residual_plus_output_gives_back_the_input(broken):
    ts, _ = broken
    out, _ = fix(ts, steps="line")
    res = residual(ts, out)
    x = ts.get_data()
    ok = np.isfinite(x)
    np.testing.assert_allclose((out.get_data() + res.get_data())[ok], x[ok], atol=1e-9)


def test_artifact_free_input_passes_through_unchanged():
    ts = simulate_eeg(16, 30, 256.0, artifacts=None, seed=8).data
    out, log = fix(ts)
    assert all(s.skipped for s in log.steps)
    np.testing.assert_array_equal(out.get_data(), ts.get_data())


def test_a_forced_global_step_does_not_harm_clean_eeg():
    # Requested line-noise removal on hum-free EEG: within RRMSE 0.05, alpha kept.
    ts = simulate_eeg(16, 60, 256.0, artifacts=None, seed=9).data
    for method in ("zapline", "notch"):
        out, _ = fix(ts, steps="line", options={"line": {"method": method, "line_freq": 50}})
        x, y = ts.get_data(), out.get_data()
        assert _rr(y, x) < 0.05
        f, px = welch(x, 256.0, nperseg=1024)
        _, py = welch(y, 256.0, nperseg=1024)
        alpha = (f >= 8) & (f <= 13)
        np.testing.assert_allclose(py[:, alpha].sum(1), px[:, alpha].sum(1), rtol=0.05)


def test_bad_requests_get_clear_errors(broken):
    ts, _ = broken
    with pytest.raises(ParameterError, match="not trained for"):
        fix(ts, steps="artifacts", options={"artifacts": {"kinds": ["pop"]}})
    with pytest.raises(ParameterError, match="Unknown step"):
        fix(ts, steps="gaps,magic")
    with pytest.raises(ParameterError, match="TimeSeries"):
        fix(ts.get_data())
    with pytest.raises(ParameterError, match="unknown step"):
        fix(ts, options={"magic": {}})
    with pytest.raises(EmptyRecordingError):
        fix(ts.time_slice(0, 0))


def test_energy_is_counted_while_streaming_the_output_once(broken):
    from neurolint.correct import account

    ts, _ = broken
    qc = nl.check(ts, detectors="rules")
    _, counted = fix(ts, qc, steps="gaps,channels,line")
    lazy, log = fix(ts, qc, steps="gaps,channels,line", account_now=False)
    assert all(not s.energy_removed for s in log.steps)
    assert not account(log, lazy)  # nothing read yet
    for _ in lazy.iter_chunks(chunk_duration=7.0):
        pass
    assert account(log, lazy)
    for a, b in zip(log.steps, counted.steps, strict=True):
        assert a.energy_removed.keys() == b.energy_removed.keys()
        for ch in a.energy_removed:
            assert a.energy_removed[ch] == pytest.approx(b.energy_removed[ch], rel=1e-4, abs=1e-9)


class _Shift:
    """A step that adds one to every sample and needs ``margin`` samples each side."""

    name, active = "shift", True

    def __init__(self, margin: int) -> None:
        self.margin_ = margin

    def apply(self, block, start):
        return block + 1.0


def test_an_integer_recording_keeps_its_integers_where_nothing_changed(tmp_path):
    ts, _ = simulate_eeg(8, 20, 256.0, artifacts=[], seed=3)
    ints = np.rint(ts.get_data() / 1e-7).astype(np.int16)  # 0.1 µV steps
    ints[2, 1000:1040] = 0  # a dropped packet: a run of exact zeros
    src = nl.write(TimeSeries(ints, 256.0, ts.channels, gain=1e-7), tmp_path / "in.raw")
    data = nl.read(src)
    out, log = fix(data, steps="gaps")
    assert log.steps[0].regions  # the run was filled
    back = nl.write(out, tmp_path / "out.raw")
    side = json.loads(back.with_suffix(".json").read_text())
    assert side["dtype"] == "<i2" and side["gain"] == pytest.approx([1e-7] * 8)
    written = np.fromfile(back, np.int16).reshape(-1, 8).T
    changed = written != ints
    assert changed[2, 1000:1040].any() and not changed[:, :990].any()
    assert not changed[:, 1050:].any()


def test_corrected_blocks_outgrow_their_margins_within_a_memory_budget():
    from neurolint.correct import base

    data = np.zeros((4, 256 * 600), np.float32)
    src = TimeSeries(data, 256.0, ["a", "b", "c", "d"])
    wide = base.CorrectedArray(src, [_Shift(256 * 15)])
    assert wide._block_samples() == base.MARGIN_SHARE * 256 * 15  # 120 s, not 30
    narrow = base.CorrectedArray(src, [_Shift(10)])
    assert narrow._block_samples() == round(base.BLOCK_SECONDS * 256)
    assert base.CorrectedArray(src, [_Shift(256 * 15)], block_seconds=1.0)._block_samples() == 256
    huge = base.CorrectedArray(src, [_Shift(10**8)])  # margins past the memory budget
    assert huge._block_samples() == base.BLOCK_BYTES // (4 * 4)
    # A 384-channel 30 kHz probe: the budget wins over the 30 s floor (1.4 GB a copy).
    probe = TimeSeries(np.zeros((384, 10), np.float32), 30_000.0)
    assert base.CorrectedArray(probe, [_Shift(10)])._block_samples() * 384 * 4 <= base.BLOCK_BYTES
    # Whatever the block, the corrected samples are the same.
    out = TimeSeries(wide, 256.0).get_data(1000, 2000)
    np.testing.assert_array_equal(out, np.ones((4, 1000), np.float32))


class _Smooth(_Shift):
    """A moving mean over ``2 margin + 1`` samples (edges: the mean of what there is), that
    records the width of every block it is given."""

    def __init__(self, margin: int) -> None:
        super().__init__(margin)
        self.widths: list[int] = []

    def apply(self, block, start):
        from scipy.ndimage import uniform_filter1d

        self.widths.append(block.shape[1])
        return uniform_filter1d(block, 2 * self.margin_ + 1, axis=1, mode="nearest")


def test_each_step_processes_its_own_margins_only():
    from neurolint.correct import base

    rng = np.random.default_rng(0)
    src = TimeSeries(rng.standard_normal((3, 5000)).astype(np.float32), 100.0)
    wide, narrow = _Smooth(400), _Smooth(5)
    whole = base.CorrectedArray(src, [wide, narrow], block_seconds=50.0)[:, 0:5000]
    wide.widths.clear()
    narrow.widths.clear()
    blocks = base.CorrectedArray(src, [wide, narrow], block_seconds=5.0)
    parts = np.concatenate([blocks[:, a : a + 500] for a in range(0, 5000, 500)], axis=1)
    # The first step's 400-sample margins are its own context: the next step gets the
    # 500-sample block and its own 5 a side, not 810 more.
    assert max(wide.widths) == 500 + 2 * 405 and max(narrow.widths) == 500 + 2 * 5
    np.testing.assert_allclose(parts, whole, atol=1e-6)


def test_a_scattered_read_is_computed_for_its_own_span_and_a_stream_reads_ahead():
    from neurolint.correct import base

    rng = np.random.default_rng(2)
    src = TimeSeries(rng.standard_normal((3, 20000)).astype(np.float32), 100.0)
    whole = base.CorrectedArray(src, [_Smooth(5)], block_seconds=200.0)[:, 0:20000]
    step = _Smooth(5)
    arr = base.CorrectedArray(src, [step], block_seconds=50.0)  # 5000-sample blocks
    # A fit sampling short blocks over the file: each read costs its span and margins.
    for a in (7000, 12000, 3000, 16000):
        np.testing.assert_allclose(arr[:, a : a + 100], whole[:, a : a + 100], atol=1e-6)
    assert step.widths == [100 + 2 * 5] * 4
    # A stream from the start, and one going on from the cached block, read a block ahead.
    step.widths.clear()
    parts = [arr[:, a : a + 500] for a in range(0, 6000, 500)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole[:, :6000], atol=1e-6)
    assert step.widths == [5000 + 5, 5000 + 2 * 5]
    # A stream's block is a whole number of its reads: 1500-sample reads of 5000-sample
    # blocks compute 4500 at a time, so no read straddles two blocks and computes twice.
    step.widths.clear()
    arr = base.CorrectedArray(src, [step], block_seconds=50.0)
    parts = [arr[:, a : a + 1500] for a in range(0, 18000, 1500)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole[:, :18000], atol=1e-6)
    assert step.widths == [4500 + 5] + [4500 + 2 * 5] * 3


class _Sparse(_Smooth):
    """A moving mean that acts only in ``[a, z)`` and says so through ``changes``."""

    def __init__(self, margin: int, a: int, z: int) -> None:
        super().__init__(margin)
        self.a, self.z = a, z

    def changes(self, lo, hi):
        return self.a < hi and lo < self.z

    def apply(self, block, start):
        smooth = super().apply(block, start)
        out = block.copy()
        a, z = max(self.a, start), min(self.z, start + block.shape[1])
        if z > a:
            out[:, a - start : z - start] = smooth[:, a - start : z - start]
        return out


def test_a_block_skips_a_step_that_changes_nothing_there_and_its_margin():
    from neurolint.correct import base

    rng = np.random.default_rng(1)
    src = TimeSeries(rng.standard_normal((3, 5000)).astype(np.float32), 100.0)
    sparse, dense = _Sparse(400, 2450, 2550), _Smooth(5)
    whole = base.CorrectedArray(src, [sparse, dense], block_seconds=50.0)[:, 0:5000]
    sparse.widths.clear()
    tally = base.EnergyTally(["step", "step2"], 3)
    sparse.name, dense.name = "step", "step2"
    blocks = base.CorrectedArray(src, [sparse, dense], block_seconds=5.0, tally=tally)
    parts = np.concatenate([blocks[:, a : a + 500] for a in range(0, 5000, 500)], axis=1)
    np.testing.assert_allclose(parts, whole, atol=1e-6)
    # Only the two blocks whose span (with the next step's 5 samples) meets [2450, 2550)
    # ran it.
    assert len(sparse.widths) == 2
    # Skipped or not, the step was given (and counted) every sample once.
    x = src.get_data().astype(np.float64)
    np.testing.assert_allclose(tally.total["step"], (x * x).sum(axis=1), rtol=1e-6)


def test_sparse_steps_say_where_they_act():
    from neurolint.correct.artifacts import ArtifactRemover
    from neurolint.correct.impute import GapFiller
    from neurolint.correct.movement import MovementRemover

    x = np.random.default_rng(2).standard_normal((4, 6000)).astype(np.float32)
    x[1, 1000:1050] = np.nan
    x[2, 3000:3100] = np.nan
    gaps = GapFiller(method="ar").fit(TimeSeries(x, 256.0))
    assert gaps.changes(990, 1001) and gaps.changes(1049, 1200) and gaps.changes(0, 6000)
    assert not gaps.changes(1050, 3000) and not gaps.changes(0, 1000)
    assert not gaps.changes(3100, 6000)
    move = MovementRemover()
    move.regions_, move.margin_ = [(1000, 1500, (0,)), (4000, 4200, (1,))], 500
    move._starts = np.array([1000, 4000])
    assert move.changes(1400, 1600) and move.changes(4199, 5000)
    assert not move.changes(1500, 4000) and not move.changes(0, 1000)
    remover = ArtifactRemover()
    remover.length_, remover.windows_ = 512, np.array([[0, 1000, 1512], [3, 1256, 1768]])
    assert remover.changes(1767, 2000) and remover.changes(0, 1001)
    assert not remover.changes(1768, 9000) and not remover.changes(0, 1000)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_infinite_samples_are_filled_or_kept_never_spread():
    """+-inf samples are gaps to every step: the gap step fills the short runs, a long run
    stays as recorded, and no step turns one into a value or spreads it. Before, the check
    crashed (an SVD that did not converge); ZapLine wrote plausible values over inf samples,
    and a spherical-spline repair from a channel holding inf rebuilt its channel at ~1e37."""
    sim = simulate_eeg(
        32,
        60,
        256.0,
        artifacts=["line_noise", "blink", "muscle", "flat"],
        rates={"line_noise": 2.0},
        seed=5,
    )
    x = sim.data.get_data()
    x[4, 3000] = np.inf
    x[9, 5000:5100] = -np.inf
    x[12, 6000:12000] = np.inf  # 23 s: too long to fill
    ts = TimeSeries(x, 256.0, sim.data.channels)
    qc = nl.check(ts)
    out, log = fix(ts, qc)
    steps = {s.name: s for s in log.steps}
    assert all(steps[n].skipped is None for n in ("gaps", "channels", "line_noise"))
    y = out.get_data()
    assert np.isfinite(y[4, 3000]) and np.isfinite(y[9, 5000:5100]).all()  # filled
    assert np.isposinf(y[12, 6000:12000]).all()  # kept as recorded
    assert np.isfinite(np.delete(y, 12, axis=0)).all()
    assert np.abs(y[np.isfinite(y)]).max() < 2 * np.abs(x[np.isfinite(x)]).max()
    assert np.isposinf(ts.get_data()[12, 6000:12000]).all()  # the input as it was


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", ["zapline", "notch"])
def test_hum_is_found_and_removed_around_infinite_samples_which_stay(method):
    rng = np.random.default_rng(0)
    t = np.arange(40_000) / 1000.0
    x = rng.normal(0, 400, (8, t.size)) + 300 * np.sin(2 * np.pi * 50 * t)
    x[7, 100] = np.inf
    x[3, 5000:5010] = -np.inf
    x[2, 7000] = np.nan
    ts = TimeSeries(x.astype(np.float32), 1000.0)
    out, log = fix(ts, steps=["line"], options={"line": {"method": method}})
    assert log.steps[0].skipped is None and log.steps[0].parameters["line_freq"] == 50.0
    y = out.get_data()
    gaps = ~np.isfinite(x)
    np.testing.assert_array_equal(y[gaps], x[gaps].astype(np.float32))
    assert np.isfinite(y[~gaps]).all()
