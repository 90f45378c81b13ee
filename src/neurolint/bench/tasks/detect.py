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
- ``time_P``: for those methods, the share of flagged seconds that lie inside a true event
  of the kind named (:func:`time_overlap`); the overlap rule alone would credit one event
  spanning a whole recording with an episode inside it.

How ``check()``'s per-kind sources and the ECG rule's acceptance were chosen (on other
seeds) is in :mod:`neurolint.bench.tasks.detect_tuning`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from ...assess.training import HELD_OUT
from ...core.findings import Finding
from ...simulate.artifacts import EPISODE_KINDS, EVENT_KINDS
from ..harness import BenchResult, run_method
from ..metrics import Tally, channel_scores, match_events

__all__ = ["DetectMethod", "methods", "run", "suite"]

SEED_OFFSET = 10_000
MERGE_GAP = 0.25  # s: predicted events of one kind closer than this count as one
TIMED_KINDS = EVENT_KINDS + EPISODE_KINDS
#: ``(n_channels, sampling_rate, duration)`` of the suite's recordings (the detector recipe's
#: held-out layouts), and of the seeds the package's choices were made on (``detect_tuning``).
LAYOUTS = HELD_OUT


@dataclass(frozen=True)
class DetectMethod:
    """A detector in the table: what it is, what it covers, how to call it."""

    name: str
    detect: Callable  # TimeSeries -> Detections
    kind: str  # "ours" or "peer"
    covers: tuple[str, ...]  # finding kinds it is meant to find (events and channel faults)
    names_kinds: bool  # whether its events carry the kind (else generic)
    source: str = ""
    ecg_lead: bool = False  # sees the recordings with an ECG lead added (same EEG)


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
        DetectMethod(
            "neurolint.check, with an ECG lead",
            _check_with("rules,learned"),
            "ours",
            every,
            True,
            "neurolint check() on the same recordings plus a recorded ECG channel "
            "(simulate_eeg(ecg_lead=True): identical EEG, the heart beating throughout)",
            ecg_lead=True,
        ),
    ]


def suite(quick: bool, seed: int = 0) -> list:
    """The recordings: ``(n_channels, sampling_rate, duration)`` per simulation."""
    from ...simulate import simulate_eeg

    if quick:
        return [simulate_eeg(32, 60.0, 256.0, seed=SEED_OFFSET + seed)]
    return recordings(range(SEED_OFFSET + seed, SEED_OFFSET + seed + len(LAYOUTS)))


def recordings(seeds: Sequence[int]) -> list:
    """One simulation per seed, the layouts of :data:`LAYOUTS` in turn."""
    from ...simulate import simulate_eeg

    return [
        simulate_eeg(n, duration, sfreq, seed=s)
        for s, (n, sfreq, duration) in zip(seeds, itertools.cycle(LAYOUTS), strict=False)
    ]


def lead_added(sim):
    """The simulation ``sim`` again with an ECG lead (identical EEG and truth otherwise)."""
    from ...simulate import simulate_eeg

    return simulate_eeg(**{**sim.truth.params, "ecg_lead": True})


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
    with_lead: list = []
    for method in methods(seed):
        if method.ecg_lead and not with_lead:
            with_lead = [lead_added(s) for s in sims]
        cases = with_lead if method.ecg_lead else sims
        row = run_method(
            method.name,
            lambda method=method, cases=cases: [method.detect(s.data) for s in cases],
            partial(evaluate, method, cases),
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
