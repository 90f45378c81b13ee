"""The learned gap inpainter: keeps band power the AR fill loses, falls back with a reason
where it cannot apply, loads only checked weights, and its recipe runs end to end."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from neurolint.core.timeseries import TimeSeries
from neurolint.correct.base import CorrectedArray, corrected_series
from neurolint.correct.impute import GapFiller

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _one_thread():
    # The other core stays free (and timings stay comparable) whatever the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _fill(ts, **options):
    step = GapFiller(**options).fit(ts)
    return corrected_series(ts, [step]).get_data(), step


def _lfp_with_gaps(seed=600, seconds=20.0):
    from neurolint.simulate import simulate_lfp

    sim = simulate_lfp(16, seconds, 1000.0, gap_durations=(0.2,), n_gaps=6, seed=seed)
    return sim.data, sim.truth.clean.get_data()


def _band_error(out, truth, ts, step):
    from neurolint.bench.metrics import band_power_error
    from neurolint.bench.tasks.impute import BANDS as bands

    errors = []
    for ch, a, z in step.gaps_:
        mid = (a + z) // 2
        lo, hi = mid - 1000, mid + 1000
        if lo >= 0 and hi <= ts.n_samples:
            e = band_power_error(truth[ch, lo:hi], out[ch, lo:hi], ts.sampling_rate, bands)
            errors.append(np.mean(list(e.values())))
    return float(np.mean(errors))


def test_learned_fill_keeps_band_power_the_ar_fill_loses_on_lfp():
    # 200 ms dropouts on every contact: no neighbour was recorded, only the context helps.
    ts, truth = _lfp_with_gaps()
    ar, _ = _fill(ts, method="ar")
    learned, step = _fill(ts, method="learned")
    assert step.log().parameters["filled_by"] == {"learned": len(step.gaps_), "classical": 0}
    mask = ~np.isfinite(ts.get_data())
    err = {
        name: np.sqrt(np.sum((out[mask] - truth[mask]) ** 2) / np.sum(truth[mask] ** 2))
        for name, out in (("ar", ar), ("learned", learned))
    }
    band = {
        name: _band_error(out, truth, ts, step) for name, out in (("ar", ar), ("learned", learned))
    }
    assert band["learned"] < 0.8 * band["ar"]
    assert err["learned"] < err["ar"]  # and closer in time, not only in spectrum
    np.testing.assert_array_equal(learned[~mask], ts.get_data()[~mask])  # the rest untouched


def test_learned_fill_does_not_depend_on_where_blocks_fall():
    from neurolint.simulate import simulate_eeg

    ts, _ = simulate_eeg(16, 20, 256.0, artifacts=None, seed=601)
    x = ts.get_data()
    x[3, 2500:2551] = np.nan  # across the 10 s block edge of 2560
    x[[5, 6], 700:760] = np.nan
    x[:, 4000:4040] = 0.0  # every channel: a dropout written as zeros
    holed = TimeSeries(x, ts.sampling_rate, ts.channels)
    step = GapFiller(method="learned").fit(holed)
    assert step.learned_.all()
    whole = corrected_series(holed, [step]).get_data()
    step._fills.clear()  # computed afresh, not taken from the whole read's fills
    # Blocks of 1000 samples, each computed on its own with the step's margins.
    out = TimeSeries(CorrectedArray(holed, [step], block_seconds=1.0), ts.sampling_rate)
    parts = np.concatenate(
        [out.get_data(a, min(a + 1000, holed.n_samples)) for a in range(0, holed.n_samples, 1000)],
        axis=1,
    )
    assert np.isfinite(whole).all()
    np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())


def test_short_gaps_and_slow_recordings_stay_classical_and_the_log_says_why():
    rng = np.random.default_rng(0)
    t = np.arange(20_000) / 1000.0
    x = np.stack([np.sin(2 * np.pi * (6 + 2 * i) * t + i) for i in range(4)])
    x = (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)
    x[0, 5000:5005] = np.nan  # 5 ms: the AR fill's job
    x[1, 9000:9150] = np.nan  # 150 ms: the model's
    x[2, :150] = np.nan  # at the very start: most of the model's 3 s window is not there
    ts = TimeSeries(x, 1000.0)
    out, step = _fill(ts, method="learned")
    params = step.log().parameters
    assert params["filled_by"] == {"learned": 1, "classical": 2}
    reasons = params["classical_reasons"]
    assert sorted(reasons.values()) == [1, 1]
    assert any("shorter than 20 ms" in r for r in reasons)
    assert any("less than half of the 3 s" in r for r in reasons)
    ar, _ = _fill(ts, method="ar")
    np.testing.assert_array_equal(out[0, 5000:5005], ar[0, 5000:5005])
    np.testing.assert_array_equal(out[2, :150], ar[2, :150])
    assert not np.array_equal(out[1, 9000:9150], ar[1, 9000:9150])

    slow = TimeSeries(x[:, ::10].copy(), 100.0)  # 100 Hz: below the model's rate range
    out, step = _fill(slow, method="learned")
    ar, _ = _fill(slow, method="ar")
    assert step.log().parameters["filled_by"]["learned"] == 0
    assert "below the learned model's 128 Hz" in next(iter(step.reasons_))
    np.testing.assert_array_equal(out, ar)


def test_spike_band_channels_are_left_to_the_classical_fill():
    # Extracellular action-potential band: white noise at 30 kHz, nothing below 100 Hz to
    # learn from at 256 Hz.
    x = np.random.default_rng(1).standard_normal((4, 150_000)).astype(np.float32)
    x[2, 75_000:76_500] = np.nan  # 50 ms
    ts = TimeSeries(x, 30_000.0)
    out, step = _fill(ts, method="learned")
    assert step.log().parameters["filled_by"] == {"learned": 0, "classical": 1}
    assert "spike band" in next(iter(step.reasons_))
    assert np.isfinite(out).all()


def test_a_missing_or_tampered_model_falls_back_with_a_logged_reason(tmp_path, caplog):
    from neurolint.models.registry import CARDS_DIR, MODELS, WEIGHTS_DIR

    entry = MODELS["gap-inpainter"]
    weights = tmp_path / "m.safetensors"
    shutil.copy(WEIGHTS_DIR / entry["weights"], weights)
    shutil.copy(CARDS_DIR / entry["card"], tmp_path / "m.json")
    raw = bytearray(weights.read_bytes())
    raw[-64:] = bytes(64)  # damage the tensors, keep the size
    weights.write_bytes(bytes(raw))
    ts, _ = _lfp_with_gaps(seconds=6.0)
    ar, _ = _fill(ts, method="ar")
    for model, words in ((weights, "SHA-256"), (tmp_path / "absent.safetensors", "missing")):
        with caplog.at_level(logging.WARNING, logger="neurolint"):
            out, step = _fill(ts, method="learned", model=model)
        (reason,) = step.reasons_
        assert reason.startswith("learned model unavailable") and words in reason
        assert words in caplog.text
        assert step.log().parameters["filled_by"]["learned"] == 0
        np.testing.assert_array_equal(out, ar)


def test_shipped_inpainter_loads_from_checked_safetensors_and_is_small():
    import hashlib

    from neurolint.models import load_card, load_model
    from neurolint.models.registry import MODELS, WEIGHTS_DIR

    card = load_card("gap-inpainter")
    weights = WEIGHTS_DIR / MODELS["gap-inpainter"]["weights"]
    assert card["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert weights.stat().st_size < 1_000_000
    module, config = load_model("gap-inpainter", map_device="cpu")
    n_in, n = config["arch"]["in_channels"], config["input"]["epoch_samples"]
    assert module(torch.zeros(1, n_in, n)).shape == (1, 1, n)
    assert card["training"]["seeds"] and card["recipe"] == "neurolint train inpainter"
    assert card["validation"]["metrics"]  # the card carries its validation figures


def test_train_inpainter_cli_writes_a_model_the_gap_filler_uses(tmp_path):
    from neurolint.cli.main import main

    out = tmp_path / "models"
    args = ["train", "inpainter", "--out", str(out), "--steps", "2", "--examples", "8"]
    args += ["--recordings", "1", "--duration", "6", "--no-validate"]
    assert main(args) == 0
    weights = out / "gap-inpainter.safetensors"
    card = json.loads((out / "gap-inpainter.json").read_text())
    assert card["training"]["steps"] == 2 and card["training"]["seeds"]["lfp"] == [0, 0]
    ts, _ = _lfp_with_gaps(seconds=6.0)
    filled, step = _fill(ts, method="learned", model=weights)
    assert step.log().parameters["filled_by"]["classical"] == 0
    assert np.isfinite(filled).all()
    assert main(args) == 2  # never overwrites a model


def test_each_learned_fill_is_computed_once_and_the_cache_stays_bounded(monkeypatch):
    from neurolint.correct import _inpaint
    from neurolint.correct.impute import _FillCache

    ts, _ = _lfp_with_gaps(seed=602, seconds=12.0)
    step = GapFiller(method="learned").fit(ts)
    calls = []
    run = _inpaint.run_inpainter

    def counted(net, x):
        calls.append(len(x))
        return run(net, x)

    monkeypatch.setattr(_inpaint, "run_inpainter", counted)
    first = corrected_series(ts, [step]).get_data()
    n_gaps = sum(calls)
    assert n_gaps == len(step.gaps_) == len(step._fills)
    # Read again, in short blocks: every fill comes from the cache, the same samples.
    again = TimeSeries(CorrectedArray(ts, [step], block_seconds=0.5), ts.sampling_rate)
    np.testing.assert_array_equal(again.get_data(), first)
    assert sum(calls) == n_gaps
    small = _FillCache(max_bytes=3000)
    for i in range(10):
        small.put((0, i, i + 300), np.ones(300, np.float32))  # 1200 bytes each
    assert len(small) == 2 and small.nbytes <= 3000
    assert small.get((0, 9, 309)) is not None and small.get((0, 0, 300)) is None


def test_peers_are_recorded_and_not_flat_even_where_a_strided_look_sees_flat():
    from neurolint.correct._inpaint import _peers

    rng = np.random.default_rng(3)
    block = rng.standard_normal((6, 20_000)).astype(np.float32)
    block[2] = 1.0  # flat throughout
    block[3] = 1.0
    block[3, 12_345] = 2.0  # flat but for one sample, between the strided ones
    missing = np.zeros(block.shape, bool)
    missing[4, 100:200] = True  # not recorded throughout
    known = np.ones(20_000, bool)
    assert _peers(block, missing, 0, 0, 20_000, known) == [1, 3, 5]
