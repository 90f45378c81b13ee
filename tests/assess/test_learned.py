"""The learned EEG detector finds logged artifacts, copes with any rate/montage, explains itself."""

from __future__ import annotations

import numpy as np
import pytest

from neurolint.assess.explain import explain_finding, integrated_gradients
from neurolint.assess.learned import KINDS, LearnedDetector, neighbours
from neurolint.assess.training import finetune_detector, segment_labels, train_detector
from neurolint.core.channels import ChannelInfo
from neurolint.core.errors import NeurolintError
from neurolint.core.findings import Finding
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_eeg

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def sim():
    return simulate_eeg(32, 60.0, 256.0, seed=7, rates={"pop": 3, "gap": 3, "muscle": 3})


@pytest.fixture(scope="module")
def found(sim):
    return LearnedDetector().detect(sim.data)


def _recall(truth, pred, kind):
    true = truth.events_of(kind)
    pred = [p for p in pred if p.kind == kind]
    hit = 0
    for t in true:
        for p in pred:
            overlap = min(t.offset, p.offset) - max(t.onset, p.onset)
            if overlap >= 0.5 * min(t.duration, p.duration):
                hit += 1
                break
    return hit / max(1, len(true))


@pytest.mark.parametrize("kind", ["blink", "pop", "gap", "muscle"])
def test_finds_logged_artifacts_at_their_times(sim, found, kind):
    assert sim.truth.events_of(kind)
    assert _recall(sim.truth, found.events, kind) >= 0.75


def test_events_carry_model_and_probability(found):
    assert found.events
    for e in found.events:
        assert e.detector == "learned"
        assert e.extras["model"] == "eeg-detector"
        assert e.extras["probability"] == pytest.approx(e.confidence, abs=1e-3)
    assert found.window_duration == 0.25
    assert found.quality.shape == (240, 32)
    assert ((found.quality >= 0) & (found.quality <= 1)).all()


def test_little_is_found_on_clean_eeg():
    clean = simulate_eeg(32, 60.0, 256.0, artifacts=None, seed=8).data
    events = LearnedDetector().detect(clean).events
    assert len(events) <= 3
    assert not [e for e in events if e.kind in ("blink", "pop", "gap", "saturation", "muscle")]
    # Nothing spans most of a clean recording (the ECG head once flagged all of it).
    assert all(e.duration < 0.5 * clean.duration for e in events)


def test_kinds_the_card_does_not_report_come_back_only_when_named():
    clean = simulate_eeg(16, 30.0, 256.0, artifacts=None, seed=8).data
    det = LearnedDetector()
    _, config = det._load()
    assert "ecg" in config["not_reported"]  # the shipped card's measured exception
    assert "ecg" not in det._thresholds(config)
    assert "ecg" not in LearnedDetector(threshold=0.5)._thresholds(config)
    asked = LearnedDetector(threshold={"ecg": 0.01})
    assert asked._thresholds(config)["ecg"] == 0.01
    assert any(e.kind == "ecg" for e in asked.detect(clean).events)
    assert not any(e.kind == "ecg" for e in det.detect(clean).events)


def test_segment_auc_ranks_a_kinds_probability_against_its_true_segments(sim):
    from neurolint.assess.training import MIN_SEGMENT_AUC, _unreliable, segment_auc

    n_seg = round(sim.data.duration / 0.25)
    centre = (np.arange(n_seg) + 0.5) * 0.25
    inside = np.zeros(n_seg, bool)
    for e in sim.truth.events_of("pop"):
        inside |= (centre >= e.onset) & (centre < e.offset)
    probs = np.zeros((n_seg, sim.data.n_channels, len(KINDS)), np.float32)
    probs[:, 0, KINDS.index("pop")] = inside  # knows the pops
    probs[:, 0, KINDS.index("gap")] = ~np.isin(np.arange(n_seg), np.flatnonzero(inside))
    assert segment_auc([(probs, sim)], "pop") == 1.0
    clean = simulate_eeg(4, 10.0, 256.0, artifacts=None, seed=8)
    quiet = np.zeros((40, 4, len(KINDS)), np.float32)
    assert segment_auc([(quiet, clean)], "pop") is None  # no true segment to rank
    unreliable = _unreliable([(probs, sim)])
    assert "pop" not in unreliable
    assert "gap" in unreliable and f"< {MIN_SEGMENT_AUC}" in unreliable["gap"]


@pytest.mark.parametrize(("n_channels", "rate"), [(8, 128.0), (100, 1000.0)])
def test_any_rate_and_channel_count(n_channels, rate):
    data = simulate_eeg(n_channels, 12.0, rate, seed=3).data
    det = LearnedDetector().detect(data)
    assert det.quality.shape == (48, n_channels)
    assert all(e.offset <= 12.0 + 1e-9 for e in det.events)


def test_chunked_result_equals_whole_recording(sim):
    whole, starts = LearnedDetector(chunk_duration=120).predict_proba(sim.data)
    chunked, starts2 = LearnedDetector(chunk_duration=7).predict_proba(sim.data)
    assert np.array_equal(starts, starts2)
    np.testing.assert_allclose(chunked, whole, atol=1e-4)
    a = LearnedDetector(chunk_duration=120).detect(sim.data).events
    b = LearnedDetector(chunk_duration=7).detect(sim.data).events
    assert [(e.kind, e.onset, e.duration) for e in a] == [(e.kind, e.onset, e.duration) for e in b]


def test_chunks_side_by_side_give_the_same_probabilities_and_restore_torch_threads(sim):
    import torch

    threads = torch.get_num_threads()
    one, _ = LearnedDetector(chunk_duration=7).predict_proba(sim.data)
    two, _ = LearnedDetector(chunk_duration=7, n_jobs=2).predict_proba(sim.data)
    np.testing.assert_allclose(two, one, atol=1e-5)
    assert torch.get_num_threads() == threads


def test_detect_summarised_by_chunk_equals_the_whole_probabilities(sim):
    # detect() keeps per-chunk summaries, not the (segments, channels, kinds) array.
    det = LearnedDetector(chunk_duration=7)
    probs, _ = det.predict_proba(sim.data)
    found = det.detect(sim.data)
    thresholds = det._thresholds(det._load()[1])
    np.testing.assert_array_equal(found.quality, 1.0 - probs[:, :, :-1].max(axis=2))
    np.testing.assert_array_equal(found.traces["learned_probability"], probs.max(axis=1))
    assert found.events
    names = sim.data.ch_names
    for e in found.events:
        ki, thr = KINDS.index(e.kind), np.float32(thresholds[e.kind])
        a, b = round(e.onset / 0.25), round(e.offset / 0.25)
        above = [names[i] for i in np.flatnonzero(probs[a:b, :, ki].max(axis=0) >= thr)]
        assert e.channels == (() if len(above) == len(names) else tuple(above))
        assert e.confidence == pytest.approx(float(probs[a:b, :, ki].max()))


def test_input_is_not_modified_and_nan_only_data_works():
    data = np.full((4, 2560), np.nan, dtype=np.float32)
    ts = TimeSeries(data, 256.0, ["a", "b", "c", "d"])
    det = LearnedDetector().detect(ts)
    assert np.isnan(data).all()
    assert det.quality.shape == (40, 4)


def test_too_low_rate_is_a_clear_error():
    ts = TimeSeries(np.zeros((2, 500), np.float32), 50.0, ["a", "b"])
    with pytest.raises(NeurolintError, match="minimum"):
        LearnedDetector().detect(ts)


def test_neighbours_use_positions_and_fall_back_to_index():
    pos = np.array([[0, 0, 0], [10, 0, 0], [1, 0, 0], [np.nan] * 3], float)
    nb = neighbours(ChannelInfo(["a", "b", "c", "d"], positions=pos), k=2)
    assert nb[0, 0] == 2 and nb[2, 0] == 0
    assert set(nb[3]) == {2, 1}  # no position: index neighbours
    assert neighbours(ChannelInfo(["x"]), k=3).tolist() == [[0, 0, 0]]


def test_segment_labels_mark_listed_channels_and_skip_grazed_segments():
    e = Finding(0.3, 0.3, "blink", ("b",))
    y, w = segment_labels([e], ["a", "b"], 4, 0.25)
    blink, clean = KINDS.index("blink"), KINDS.index("clean")
    assert y[1, :, blink].tolist() == [0, 1, 0, 0]  # 0.3-0.6 s covers most of segment 1
    assert w[1, :, blink].tolist() == [1, 1, 0, 1]  # segment 2 only grazed (0.1 s)
    assert y[0, :, blink].sum() == 0 and y[0, :, clean].all()
    assert y[1, 1, clean] == 0


def test_integrated_gradients_are_complete():
    from neurolint.models import load_model

    module, _ = load_model("eeg-detector", map_device="cpu")
    x = torch.randn(7, 512, generator=torch.Generator().manual_seed(0))
    x[5:] = 0
    attr = integrated_gradients(module, x, (0, 4), steps=128)
    assert attr.shape == x.shape
    with torch.no_grad():
        fx = module(x[None])[0, 0, 4]
        f0 = module(torch.zeros_like(x)[None])[0, 0, 4]
    assert float(attr.sum()) == pytest.approx(float(fx - f0), abs=0.05 * abs(float(fx - f0)) + 0.05)


def test_explain_finding_attributes_over_the_window(sim, found):
    blink = next(e for e in found.events if e.kind == "blink")
    out = explain_finding(sim.data, blink)
    assert out["attribution"].shape == (5, len(out["times"]))
    assert out["channels"][0] in (blink.channels or sim.data.ch_names)
    assert out["kind"] == "blink" and 0 <= out["probability"] <= 1
    assert out["times"][0] <= blink.onset <= out["times"][-1]


def test_finetune_changes_the_weights(tmp_path):
    from neurolint.models import load_model

    data = simulate_eeg(16, 20.0, 256.0, seed=11)
    tsv = tmp_path / "events.tsv"
    rows = ["onset\tduration\ttrial_type\tchannels"] + [
        f"{e.onset}\t{e.duration}\tBAD_{e.kind}\t{','.join(e.channels) or 'n/a'}"
        for e in data.truth.events
    ]
    tsv.write_text("\n".join(rows) + "\n")
    path = finetune_detector(
        "eeg-detector", data.data, tsv, epochs=1, steps_per_epoch=3, batch_size=4, out=tmp_path
    )
    new, _ = load_model(path, map_device="cpu")
    old, _ = load_model("eeg-detector", map_device="cpu")
    changed = [
        not torch.equal(a, b)
        for a, b in zip(old.state_dict().values(), new.state_dict().values(), strict=True)
    ]
    assert any(changed)


def test_tiny_training_run_writes_a_loadable_model(tmp_path):
    from neurolint.models import load_model

    path = train_detector(
        tmp_path,
        seeds=[1],
        epochs=1,
        steps_per_epoch=2,
        batch_size=4,
        arch={"widths": (4, 4, 4, 4), "hidden": 4},
        evaluate=False,
        progress=False,
        name="tiny",
    )
    _, config = load_model(path, map_device="cpu")
    assert config["arch"]["widths"] == [4, 4, 4, 4]
    with pytest.raises(NeurolintError, match="seeds"):
        train_detector(tmp_path, seeds=[10_001], evaluate=False, progress=False)


def test_a_neighbour_missing_alone_reads_as_the_mean_of_the_recorded_ones():
    from neurolint.assess.learned import contexts

    x = np.arange(1.0, 13.0, dtype=np.float32).reshape(4, 3)
    miss = np.zeros_like(x)
    nbrs = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    x[1, 0], miss[1, 0] = 0.0, 1.0  # channel 1 lost its first sample
    x[:, 2], miss[:, 2] = 0.0, 1.0  # every channel lost the last one
    ctx = contexts(x, miss, nbrs)
    # Channels 0 and 3 see channel 1 as their other recorded neighbour's value, unmasked.
    assert ctx[0, 1, 0] == x[2, 0] and ctx[0, 4, 0] == 0.0
    assert ctx[3, 2, 0] == x[0, 0] and ctx[3, 4, 0] == 0.0
    assert ctx[1, 0, 0] == 0.0 and ctx[1, 3, 0] == 1.0  # the channel itself stays missing
    np.testing.assert_array_equal(ctx[:, 1:3, 2], 0.0)  # a gap of every channel as it was
    np.testing.assert_array_equal(ctx[:, 4, 2], 1.0)
    np.testing.assert_array_equal(ctx[:, 1:3, 1], x[nbrs, 1])  # recorded samples as they are


def test_one_channels_dropout_is_a_gap_not_muscle_around_it():
    """A 39 s dropout on Fz: the net reports the gap there, and nothing on the channels
    around it (before, their zeroed neighbour made it see muscle on four of them)."""
    sim = simulate_eeg(32, 120, 256.0, seed=3, artifacts=[])
    x = sim.data.get_data()
    x[7, 15000:25000] = np.nan
    ts = TimeSeries(x, 256.0, sim.data.channels)
    clean = LearnedDetector().fit(sim.data).detect(sim.data).events
    found = LearnedDetector().fit(ts).detect(ts).events
    assert [e.channels for e in found if e.kind == "gap"] == [("Fz",)]
    where = lambda events: [(e.kind, e.onset, e.duration, e.channels) for e in events]  # noqa: E731
    assert where(e for e in found if e.kind != "gap") == where(clean)
