"""Task ``detect``: artifact events and bad channels on the EEG simulator.

The suite is a few simulated recordings with every artifact kind, on held-out seeds
(``10_000 + seed + i``; training recipes use seeds below 10 000). Every method sees the same
recordings; counts are pooled over recordings before precision, recall and F1 are computed.

Before scoring, each method's events of one kind that lie less than 0.25 s apart are merged
into one (:func:`merge_close`), so a detector is not charged for marking an artifact in
pieces. Scores:

- ``ch_P/ch_R/ch_F1``: bad channels (flat, noisy, bridged) vs the method's bad list, for
  methods that report channels.
- ``ev_P/ev_R/ev_F1``: events of the kinds a method covers, whatever kind it names
  (generic detectors such as ``annotate_amplitude`` name none): a prediction is correct when
  it overlaps a true event (any kind) by at least half the shorter of the two; recall is over
  true events of the covered kinds.
- ``macro_F1`` and ``F1_<kind>``: kind-aware matching (same kind, same overlap rule) for the
  methods that name kinds; the macro average runs over the kinds the method covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from ...core.findings import Finding
from ...simulate.artifacts import EPISODE_KINDS, EVENT_KINDS
from ..harness import BenchResult, run_method
from ..metrics import Tally, channel_scores, match_events

__all__ = ["DetectMethod", "methods", "run", "suite"]

SEED_OFFSET = 10_000
MERGE_GAP = 0.25  # s: predicted events of one kind closer than this count as one
TIMED_KINDS = EVENT_KINDS + EPISODE_KINDS


@dataclass(frozen=True)
class DetectMethod:
    """A detector in the table: what it is, what it covers, how to call it."""

    name: str
    detect: Callable  # TimeSeries -> Detections
    kind: str  # "ours" or "peer"
    covers: tuple[str, ...]  # finding kinds it is meant to find (events and channel faults)
    names_kinds: bool  # whether its events carry the kind (else generic)
    source: str = ""


def methods(seed: int = 0) -> list[DetectMethod]:
    """Every registered detector; later issues add neurolint's own here."""
    from ..baselines import eeg_detect as peers

    return [
        *ours(),
        DetectMethod(
            "mne.annotate_amplitude",
            peers.mne_annotate_amplitude,
            "peer",
            ("pop", "saturation", "gap", "flat"),
            False,
            "MNE-Python annotate_amplitude (peak=50 µV/sample, flat=0.1 µV)",
        ),
        DetectMethod(
            "mne.annotate_muscle_zscore",
            peers.mne_annotate_muscle_zscore,
            "peer",
            ("muscle",),
            True,
            "MNE-Python annotate_muscle_zscore (z=4) after a mains notch",
        ),
        DetectMethod(
            "mne.find_eog_events",
            peers.mne_find_eog_events,
            "peer",
            ("blink",),
            True,
            "MNE-Python find_eog_events on the two most frontal channels",
        ),
        DetectMethod(
            "pyprep.NoisyChannels",
            partial(peers.pyprep_noisy_channels, seed=seed),
            "peer",
            ("flat", "noisy_channel", "bridged"),
            False,
            "PyPREP NoisyChannels.find_all_bads (RANSAC on)",
        ),
        DetectMethod(
            "pyprep.NoisyChannels (PREP criteria)",
            partial(peers.pyprep_noisy_channels, seed=seed, criteria="prep"),
            "peer",
            ("flat", "noisy_channel", "bridged"),
            False,
            "PyPREP NoisyChannels.find_all_bads without bad_by_psd (the original PREP set)",
        ),
        DetectMethod(
            "mne.find_bad_channels_lof",
            peers.mne_lof_channels,
            "peer",
            ("flat", "noisy_channel"),
            False,
            "MNE-Python find_bad_channels_lof (threshold 1.5) after a 1 Hz high-pass",
        ),
        DetectMethod(
            "mne.compute_bridged_electrodes",
            peers.mne_bridged_electrodes,
            "peer",
            ("bridged",),
            False,
            "MNE-Python compute_bridged_electrodes",
        ),
    ]


def _check_with(detectors: str) -> Callable:
    def detect(ts):
        from ...assess import check
        from ..baselines.eeg_detect import Detections

        qc = check(ts, detectors=detectors)
        return Detections(qc.events, qc.bad_channels)

    return detect


def ours() -> list[DetectMethod]:
    """neurolint's detectors: the rules alone, the learned classifier alone, and check()."""
    from ...models.registry import load_card

    every = (*TIMED_KINDS, "flat", "noisy_channel", "bridged")
    # The learned detector covers what its card reports (not ECG: see the card).
    unreported = load_card("eeg-detector")["config"].get("not_reported", {})
    learned = tuple(k for k in TIMED_KINDS if k not in unreported)
    return [
        DetectMethod(
            "neurolint.rules",
            _check_with("rules"),
            "ours",
            every,
            True,
            "neurolint RuleDetector (classical, explainable)",
        ),
        DetectMethod(
            "neurolint.learned",
            _check_with("learned"),
            "ours",
            learned,
            True,
            "neurolint LearnedDetector (eeg-detector CNN)",
        ),
        DetectMethod(
            "neurolint.check",
            _check_with("rules,learned"),
            "ours",
            every,
            True,
            "neurolint check(): rules + learned, merged",
        ),
    ]


def suite(quick: bool, seed: int = 0) -> list:
    """The recordings: ``(n_channels, sampling_rate, duration)`` per simulation."""
    from ...simulate import simulate_eeg

    layouts = (
        [(32, 256.0, 60.0)]
        if quick
        else [
            (32, 256.0, 300.0),
            (64, 256.0, 300.0),
            (64, 500.0, 300.0),
        ]
    )
    return [
        simulate_eeg(n, duration, sfreq, seed=SEED_OFFSET + seed + i)
        for i, (n, sfreq, duration) in enumerate(layouts)
    ]


def merge_close(events: Sequence[Finding], gap: float = MERGE_GAP) -> list[Finding]:
    """Merge events of one kind less than ``gap`` seconds apart (channels pooled).

    Detectors that mark an artifact in pieces (its edges and its plateau, say) would
    otherwise be charged a false positive per extra piece; every method gets the same rule.
    """
    out: list[Finding] = []
    last: dict[str, int] = {}
    for event in sorted(events, key=lambda e: (e.onset, e.kind)):
        i = last.get(event.kind)
        if i is not None and event.onset - out[i].offset < gap:
            prev = out[i]
            channels = (
                ()
                if not prev.channels or not event.channels
                else tuple(dict.fromkeys(prev.channels + event.channels))
            )
            out[i] = replace(
                prev,
                duration=max(prev.offset, event.offset) - prev.onset,
                channels=channels,
                confidence=max(prev.confidence, event.confidence),
            )
        else:
            last[event.kind] = len(out)
            out.append(event)
    return out


def evaluate(method: DetectMethod, sims: Sequence, outputs: Sequence) -> dict[str, object]:
    """Pooled scores of one method's outputs on the suite."""
    counts: defaultdict[str, Tally] = defaultdict(Tally)
    seconds = [0.0, 0.0]  # flagged by a kind-naming method, and of those inside that kind
    outputs = [(merge_close(events), bads) for events, bads in outputs]
    timed = [k for k in method.covers if k in TIMED_KINDS]
    channel_kinds = [k for k in method.covers if k not in TIMED_KINDS]
    for sim, (events, bads) in zip(sims, outputs, strict=True):
        truth = sim.truth
        if channel_kinds:
            true_bad = [c.name for c in truth.channels if set(c.reasons) & set(channel_kinds)]
            s = channel_scores(true_bad, bads)
            counts["ch"].add(int(s["tp"]), int(s["fp"]), int(s["fn"]))
            for kind in channel_kinds:
                of_kind = {c.name for c in truth.channels if kind in c.reasons}
                got = len(of_kind & set(bads))
                counts[f"recall_{kind}"].add(got, 0, len(of_kind) - got)
        if not timed:
            continue
        # Kind-agnostic: a prediction is right if it overlaps any true event.
        every = truth.events_of(TIMED_KINDS)
        match = match_events(every, events, by_kind=False)
        hit_true = {i for i, _ in match.pairs}
        covered = [i for i, e in enumerate(every) if e.kind in timed]
        tp = sum(1 for i in covered if i in hit_true)
        counts["ev"].add(len(match.pairs), len(events) - len(match.pairs), 0)
        counts["ev_recall"].add(tp, 0, len(covered) - tp)
        for kind in timed:
            of_kind = [i for i in covered if every[i].kind == kind]
            got = sum(1 for i in of_kind if i in hit_true)
            counts[f"recall_{kind}"].add(got, 0, len(of_kind) - got)
            if method.names_kinds:
                found = [e for e in events if e.kind == kind]
                m = match_events(truth.events_of(kind), found)
                counts[f"kind_{kind}"].add(m.tp, m.fp, m.fn)
                flagged, inside = time_overlap(truth.events_of(kind), found, sim.data.duration)
                seconds[0] += flagged
                seconds[1] += inside
    out: dict[str, object] = {"covers": ", ".join(method.covers)}
    if "ch" in counts:
        out["ch_P"], out["ch_R"], out["ch_F1"] = counts["ch"].prf
    if "ev" in counts:
        precision = counts["ev"].precision
        recall = counts["ev_recall"].recall
        out["ev_P"], out["ev_R"] = precision, recall
        out["ev_F1"] = (
            2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        )
    for kind in channel_kinds:
        out[f"recall_{kind}"] = counts[f"recall_{kind}"].recall
    kind_f1 = []
    for kind in timed:
        out[f"recall_{kind}"] = counts[f"recall_{kind}"].recall
        if method.names_kinds:
            out[f"F1_{kind}"] = counts[f"kind_{kind}"].f1
            kind_f1.append(out[f"F1_{kind}"])
    if kind_f1:
        out["macro_F1"] = sum(kind_f1) / len(kind_f1)
        # Event matching credits one event over a whole recording with an episode inside
        # it; the share of flagged time that is truly of the named kind shows that.
        out["time_P"] = seconds[1] / seconds[0] if seconds[0] else None
    return out


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Run every detector on the suite and return the table."""
    sims = suite(quick, seed)
    result = BenchResult(
        task="detect",
        quick=quick,
        seed=seed,
        description="artifact events and bad channels on simulated EEG (held-out seeds)",
        params={
            "recordings": [
                {
                    "n_channels": s.data.n_channels,
                    "sampling_rate": s.data.sampling_rate,
                    "duration_s": s.data.duration,
                    "seed": s.truth.params["seed"],
                    "events": len(s.truth.events),
                    "bad_channels": len(s.truth.bad_channels),
                }
                for s in sims
            ],
            "min_overlap": 0.5,
            "merge_gap_s": MERGE_GAP,
        },
        columns=[
            "covers",
            "ch_P",
            "ch_R",
            "ch_F1",
            "ev_P",
            "ev_R",
            "ev_F1",
            "macro_F1",
            "time_P",
            *[f"F1_{k}" for k in TIMED_KINDS],
        ],
    )
    for method in methods(seed):
        row = run_method(
            method.name,
            lambda method=method: [method.detect(s.data) for s in sims],
            partial(evaluate, method, sims),
            kind=method.kind,
            source=method.source,
            debug=debug,
        )
        result.rows.append(row)
    total = sum(s.data.duration for s in sims)
    result.notes.append(
        f"{len(sims)} recording(s), {total / 60:g} min in all; wall time and peak memory "
        "cover all of them. '-' means the method does not report that."
    )
    return result


def time_overlap(
    truth: Sequence[Finding], found: Sequence[Finding], duration: float, step: float = 0.02
) -> tuple[float, float]:
    """Seconds covered by ``found``, and how many of those lie inside ``truth`` (a grid of
    ``step`` seconds over ``duration``)."""
    n = max(1, int(np.ceil(duration / step)))

    def cover(events: Sequence[Finding]) -> np.ndarray:
        mask = np.zeros(n, bool)
        for e in events:
            mask[max(0, int(e.onset / step)) : int(np.ceil(e.offset / step))] = True
        return mask

    got = cover(found)
    return float(got.sum() * step), float((got & cover(truth)).sum() * step)


#: Validation recordings ``check()``'s per-kind sources are chosen on (never the test suite).
SOURCE_SEEDS = (*range(9000, 9006), *range(9020, 9038))


def choose_sources(seeds: Sequence[int] = SOURCE_SEEDS) -> dict[str, tuple[str, ...]]:
    """Per kind, which detectors ``check()`` should trust: the best of rules alone, learned
    alone or both merged, by event F1 pooled over *validation* seeds (never the held-out
    suite).

    This is how ``neurolint.assess.pipeline.KIND_SOURCES`` was chosen; run it again after
    retraining the learned detector.
    """
    from ...assess import check
    from ...simulate import simulate_eeg

    layouts = [(32, 256.0, 300.0), (64, 256.0, 300.0), (64, 500.0, 300.0)]
    sims = [
        simulate_eeg(n, duration, sfreq, seed=s)
        for i, s in enumerate(seeds)
        for n, sfreq, duration in [layouts[i % len(layouts)]]
    ]
    runs = {
        "rules": [check(sim.data, detectors="rules").events for sim in sims],
        "learned": [check(sim.data, detectors="learned").events for sim in sims],
        "both": [
            check(sim.data, detectors="rules,learned", kind_sources={}).events for sim in sims
        ],
    }
    options = {"rules": ("rules",), "learned": ("learned",), "both": ("rules", "learned")}
    best: dict[str, tuple[str, ...]] = {}
    for kind in TIMED_KINDS:
        f1 = {}
        for label, outputs in runs.items():
            tally = Tally()
            flagged = inside = 0.0
            for sim, events in zip(sims, outputs, strict=True):
                found = [e for e in merge_close(events) if e.kind == kind]
                m = match_events(sim.truth.events_of(kind), found)
                tally.add(m.tp, m.fp, m.fn)
                a, b = time_overlap(sim.truth.events_of(kind), found, sim.data.duration)
                flagged, inside = flagged + a, inside + b
            # One event over a whole recording "matches" an episode inside it: an output
            # whose flagged time is mostly outside true events is not eligible.
            f1[label] = tally.f1 if not flagged or inside / flagged >= 0.5 else 0.0
        # Ties go to the simpler choice (one detector, rules first): fewer false alarms.
        order = {"rules": 2, "learned": 1, "both": 0}
        best[kind] = options[max(f1, key=lambda k: (round(f1[k], 3), order[k]))]
    return best


#: Training seeds :func:`tune_ecg` fits the ECG rule's acceptance on (never validation).
ECG_TUNE_SEEDS = tuple(range(200, 248))


def tune_ecg(seeds: Sequence[int] = ECG_TUNE_SEEDS) -> dict[str, object]:
    """Fit the ECG rule's acceptance model (``rules_ecg.ACCEPT``) and ``ecg_p``.

    Every candidate episode of the rule (``ecg_p=0``) on the simulator's ``seeds``
    (training seeds, each < 9000; layouts as the ``detect`` suite) is labelled cardiac when
    it overlaps a true ECG episode by at least half the shorter; a logistic regression
    (scikit-learn's defaults) of its peak comb z, mean comb z and log duration is fitted to
    those labels. ``ecg_p`` is then the middle of the grid 0.30-0.70 (step 0.05) whose
    pooled event F1 on the same seeds is within 0.005 of the best (as the learned
    detector's thresholds are chosen). ``ecg_edge`` (where an accepted episode's edges are
    put) does not change event F1 on these seeds; it was set to 0.6 by their pooled time
    F1 (0.674; 0.671 at 0, 0.644 at 0.7, 0.582 at 0.8), measured with the rule itself.

    Returns
    -------
    dict
        ``accept`` (the four numbers of ``ACCEPT``), ``ecg_p``, ``f1`` per grid value and
        ``candidates``.
    """
    from sklearn.linear_model import LogisticRegression

    from ...assess.rules import RuleDetector
    from ...simulate import simulate_eeg

    if any(s >= 9000 for s in seeds):
        raise ValueError("tune_ecg fits on training seeds (< 9000) only.")
    layouts = [(32, 256.0, 300.0), (64, 256.0, 300.0), (64, 500.0, 300.0)]
    cases = []
    for i, s in enumerate(seeds):
        n, sfreq, duration = layouts[i % len(layouts)]
        sim = simulate_eeg(n, duration, sfreq, seed=s)
        # Every candidate, untrimmed: the features are the candidate's own.
        rules = RuleDetector(thresholds={"ecg_p": 0.0, "ecg_edge": 0.0})
        found = rules.fit(sim.data).detect(sim.data).events
        cases.append((sim.truth.events_of("ecg"), [e for e in found if e.kind == "ecg"]))
    x, y = [], []
    for truth, found in cases:
        for e in found:
            x.append([e.extras["comb_z"], e.extras["comb_z_mean"], np.log(e.duration)])
            y.append(match_events(truth, [e]).tp == 1)  # the bench's matching rule
    model = LogisticRegression().fit(np.asarray(x), np.asarray(y))
    weights = (*model.coef_[0].tolist(), float(model.intercept_[0]))
    prob = model.predict_proba(np.asarray(x))[:, 1]
    grid = np.round(np.arange(0.30, 0.701, 0.05), 2)
    f1 = {}
    for p_min in grid:
        tally, k = Tally(), 0
        for truth, found in cases:
            kept = [e for j, e in enumerate(found) if prob[k + j] >= p_min]
            k += len(found)
            m = match_events(truth, merge_close(kept))
            tally.add(m.tp, m.fp, m.fn)
        f1[float(p_min)] = round(float(tally.f1), 3)
    best = max(f1.values())
    plateau = [p for p, v in f1.items() if v >= best - 0.005]
    return {
        "accept": weights,
        "ecg_p": plateau[len(plateau) // 2],
        "f1": f1,
        "candidates": len(y),
    }
