"""The learned remover: shipped weights, cleaner epochs, and the fix() step around findings."""

from pathlib import Path

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.errors import ShapeError
from neurolint.core.findings import Finding, QCResult
from neurolint.core.timeseries import TimeSeries
from neurolint.correct import fix
from neurolint.correct.artifacts import ArtifactRemover, denoise_epochs
from neurolint.correct.base import corrected_series
from neurolint.simulate import simulate_eeg

SOURCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "eeg" / "eeglab_data.set"


def test_shipped_remover_loads_from_safetensors_with_its_card():
    from neurolint.models.registry import list_models, load_card

    card = load_card("eeg-remover")
    assert card["config"]["builder"].endswith("build_remover")
    assert card["training"]["data"].startswith("EEGdenoiseNet-style")
    assert "eeg-remover" in {m["name"] for m in list_models()}


@pytest.mark.skipif(not SOURCE.is_file(), reason="needs ../shared/data/eeg/eeglab_data.set")
def test_remover_cleans_held_out_mixtures():
    from neurolint.bench.metrics import correlation
    from neurolint.simulate import simulate_semisynthetic

    test = simulate_semisynthetic(str(SOURCE), seed=0).data.test
    kinds = np.asarray(test.kind).astype(str)
    for kind, floor in (("eog", 0.7), ("emg", 0.85)):
        rows = np.flatnonzero(kinds == kind)[::4]
        noisy, clean = np.asarray(test.noisy)[rows], np.asarray(test.clean)[rows]
        out = denoise_epochs(noisy)
        assert out.shape == noisy.shape and out.dtype == np.float32
        assert correlation(clean, out) > max(floor, correlation(clean, noisy) + 0.1)


def test_batch_size_does_not_change_the_estimates():
    # The default batch is chosen for speed alone; the epochs are cleaned independently.
    noisy = np.random.default_rng(3).standard_normal((70, 512)).astype(np.float32)
    default = denoise_epochs(noisy)
    for size in (1, 64, 70):
        np.testing.assert_allclose(denoise_epochs(noisy, batch_size=size), default, atol=1e-5)


def test_epochs_must_be_2d_and_a_multiple_of_8():
    with pytest.raises(ShapeError, match="multiple of 8"):
        denoise_epochs(np.zeros((2, 500), np.float32))
    with pytest.raises(ShapeError):
        denoise_epochs(np.zeros(512, np.float32))


def _blinky(seed=3):
    return simulate_eeg(32, 40, 256.0, artifacts=["blink"], rates={"blink": 6.0}, seed=seed)


def test_fix_removes_blinks_where_they_were_found_and_leaves_the_rest():
    ts, truth = _blinky()
    qc = QCResult(
        score=80.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        events=[Finding(e.onset, e.duration, "blink") for e in truth.events_of("blink")],
    )
    out, log = fix(ts, qc, steps="artifacts")
    step = log.steps[0]
    assert step.skipped is None and step.parameters["n_windows"] > 0
    x, y, clean = ts.get_data(), out.get_data(), truth.clean.get_data()
    frontal = [ts.ch_names.index(n) for n in ("Fp1", "Fp2") if n in ts.ch_names]
    for e in truth.events_of("blink"):
        a, b = round(e.onset * 256), round(e.offset * 256)
        err_before = np.abs(x[frontal, a:b] - clean[frontal, a:b]).max()
        err_after = np.abs(y[frontal, a:b] - clean[frontal, a:b]).max()
        assert err_after < 0.5 * err_before
    # Far from every window the data is untouched.
    touched = np.zeros(ts.n_samples, bool)
    for r in step.regions:
        touched[round(r.onset * 256) : round((r.onset + r.duration) * 256)] = True
    np.testing.assert_array_equal(y[:, ~touched], x[:, ~touched])


def test_blocks_read_apart_equal_one_read_at_another_rate():
    sim = simulate_eeg(16, 30, 500.0, artifacts=["blink", "muscle"], seed=4)
    ts, truth = sim
    qc = QCResult(
        score=80.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        events=[Finding(e.onset, e.duration, e.kind) for e in truth.events],
    )
    step = ArtifactRemover().fit(ts, qc)
    out = corrected_series(ts, [step])
    whole = out.get_data()
    parts = np.concatenate(
        [out.get_data(a, min(a + 3000, ts.n_samples)) for a in range(0, ts.n_samples, 3000)],
        axis=1,
    )
    np.testing.assert_allclose(parts, whole, atol=1e-6 * np.abs(whole).max())


def test_without_findings_or_at_low_rates_the_step_is_skipped():
    ts, _ = _blinky()
    assert "no assessment" in ArtifactRemover().fit(ts).skipped_
    slow = TimeSeries(np.zeros((4, 2000), np.float32), 64.0)
    assert "below" in ArtifactRemover(where="everywhere").fit(slow).skipped_
    clean = simulate_eeg(16, 20, 256.0, artifacts=None, seed=2).data
    out, log = fix(clean, nl.check(clean, detectors="rules"), steps="artifacts")
    assert log.steps[0].skipped
    np.testing.assert_array_equal(out.get_data(), clean.get_data())


def _with_erp(seed=6, seconds=120.0):
    ts, _ = simulate_eeg(32, seconds, 256.0, artifacts=None, seed=seed)
    x = ts.get_data()
    sf = ts.sampling_rate
    t = np.arange(round(0.8 * sf)) / sf
    erp = 8e-6 * np.exp(-0.5 * ((t - 0.3) / 0.06) ** 2) - 4e-6 * np.exp(
        -0.5 * ((t - 0.1) / 0.02) ** 2
    )
    onsets = np.arange(round(1.0 * sf), x.shape[1] - len(t), round(2.0 * sf))
    pos = ts.channels.positions
    weight = np.exp(-np.linalg.norm(pos - pos[ts.ch_names.index("Pz")], axis=1) / 0.06)
    for o in onsets:
        x[:, o : o + len(t)] += (weight[:, None] * erp[None]).astype(np.float32)
    return TimeSeries(x, sf, ts.channels), onsets


def _average(x, onsets, n):
    return np.mean([x[o : o + n] for o in onsets], axis=0)


def test_erps_and_alpha_survive_the_default_fix():
    # check() then fix() on artifact-free EEG with a P300-like ERP every 2 s: the ERP keeps
    # its peak amplitude and latency within 5%, and alpha power within 5%.
    from scipy.signal import welch

    ts, onsets = _with_erp()
    out, _ = fix(ts, nl.check(ts))
    pz = ts.ch_names.index("Pz")
    n = round(0.8 * 256)
    before = _average(ts.get_data()[pz], onsets, n)
    after = _average(out.get_data()[pz], onsets, n)
    peak_b, peak_a = before.argmax(), after.argmax()
    assert abs(after[peak_a] - before[peak_b]) <= 0.05 * before[peak_b]
    assert abs(peak_a - peak_b) <= 0.05 * peak_b
    f, p_before = welch(ts.get_data(), 256.0, nperseg=512)
    _, p_after = welch(out.get_data(), 256.0, nperseg=512)
    alpha = (f >= 8) & (f <= 13)
    ratio = p_after[:, alpha].sum(1) / p_before[:, alpha].sum(1)
    assert np.all(np.abs(ratio - 1) < 0.05)


def test_eog_channels_are_left_as_they_are():
    from neurolint.core.channels import ChannelInfo

    ts, truth = _blinky()
    front = [ts.ch_names[i] for i in np.argsort(-ts.channels.positions[:, 1])[:2]]
    types = ["eog" if n in front else "eeg" for n in ts.ch_names]
    info = ChannelInfo(ts.ch_names, types=types, positions=ts.channels.positions)
    typed = TimeSeries(ts.get_data(), ts.sampling_rate, info)
    qc = QCResult(
        score=80.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        events=[Finding(e.onset, e.duration, "blink") for e in truth.events_of("blink")],
    )
    out, log = fix(typed, qc, steps="artifacts")
    assert log.steps[0].skipped is None
    eog = [typed.ch_names.index(n) for n in front]
    np.testing.assert_array_equal(out.get_data()[eog], typed.get_data()[eog])
    assert not np.array_equal(out.get_data(), typed.get_data())  # the EEG was cleaned


def test_ecg_findings_are_cleaned_only_when_asked():
    ts = simulate_eeg(16, 30.0, 256.0, artifacts=None, seed=21).data
    qc = QCResult(
        score=90.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        events=[Finding(5.0, 10.0, "ecg", channels=(ts.ch_names[0],))],
    )
    out, log = fix(ts, qc, steps="artifacts")
    assert log.steps[0].skipped and log.steps[0].parameters["not_covered"] == {"ecg": 1}
    np.testing.assert_array_equal(out.get_data(), ts.get_data())
    kinds = ["blink", "saccade", "muscle", "ecg"]
    out, log = fix(ts, qc, steps="artifacts", options={"artifacts": {"kinds": kinds}})
    changed = np.flatnonzero(np.any(out.get_data() != ts.get_data(), axis=1))
    assert log.steps[0].skipped is None and changed.tolist() == [0]


def test_infinite_samples_stay_and_do_not_blank_their_window():
    """An inf sample inside a cleaned window stays as recorded and the window around it is
    cleaned as usual; before, the whole window came out NaN (1525 samples lost here)."""
    sim = simulate_eeg(16, 20, 256.0, artifacts=["blink"], seed=5)
    x = sim.data.get_data()
    x[3, 1000:1010] = np.inf
    x[5, 2000] = -np.inf
    ts = TimeSeries(x, 256.0, sim.data.channels)
    out, log = nl.fix(ts, steps=["artifacts"], options={"artifacts": {"where": "everywhere"}})
    y = out.get_data()
    assert log.steps[0].skipped is None
    gaps = ~np.isfinite(x)
    np.testing.assert_array_equal(y[gaps], x[gaps].astype(np.float32))
    assert np.isfinite(y[~gaps]).all()
    assert np.abs(y[~gaps]).max() <= np.abs(x[~gaps]).max()
