"""How ``check()``'s EEG choices were made: per-kind sources and the ECG rule's settings.

All are fitted or chosen on simulator seeds that the held-out ``detect`` suite (seeds from
10000) never uses, and all reproduce what the package ships:

- :func:`choose_sources` picks, per artifact kind, whether ``check()`` trusts the rules,
  the learned detector or both (``neurolint.assess.pipeline.KIND_SOURCES``), on validation
  seeds :data:`SOURCE_SEEDS`;
- :func:`tune_ecg` fits the ECG rule's logistic acceptance
  (``neurolint.assess.rules_ecg.ACCEPT``) and its probability threshold on training seeds
  :data:`ECG_TUNE_SEEDS`;
- :func:`tune_ecg_lead` scores the rule's settings for a recording with an ECG lead
  (``ecg_lead_z``, ``ecg_lead_teeth``) on the same seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...core.errors import ParameterError
from ..metrics import Tally, match_events
from .detect import TIMED_KINDS, merge_close, recordings, time_overlap

__all__ = [
    "ECG_TUNE_SEEDS",
    "LEAD_GRID",
    "SOURCE_SEEDS",
    "choose_sources",
    "tune_ecg",
    "tune_ecg_lead",
]


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

    sims = recordings(seeds)
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
    (training seeds, each < 9000; the ``detect`` suite's ``LAYOUTS``) is labelled cardiac when
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

    if any(s >= 9000 for s in seeds):
        raise ParameterError("tune_ecg fits on training seeds (< 9000) only.")
    cases = []
    for sim in recordings(seeds):
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


#: The grid :func:`tune_ecg_lead` scores: ``ecg_lead_z`` by ``ecg_lead_teeth``.
LEAD_GRID = ((2.5, 3.0, 3.5), (5, 8))


def tune_ecg_lead(seeds: Sequence[int] = ECG_TUNE_SEEDS) -> dict[tuple[float, int], float]:
    """Pooled ECG event F1 of the rule reading at an ECG lead's beats, per grid cell.

    The recordings are those of :func:`tune_ecg` with the simulator's ECG lead
    (``simulate_eeg(ecg_lead=True)``: the same EEG, the heart recorded throughout). On
    seeds 200-247 (96 episodes) this gave (z 2.5 / 3.0 / 3.5): 0.876 / 0.847 / 0.809 with 5
    beats a side and 0.878 / 0.921 / 0.876 with 8; the defaults (``ecg_lead_z`` 3.0,
    ``ecg_lead_teeth`` 8) are the best cell; its neighbours score 0.85-0.88. The comb
    without a lead scored 0.771 there.

    Returns
    -------
    dict
        ``(ecg_lead_z, ecg_lead_teeth)`` → F1.
    """
    from ...assess.rules import RuleDetector
    from .detect import lead_added

    if any(s >= 9000 for s in seeds):
        raise ParameterError("tune_ecg_lead scores training seeds (< 9000) only.")
    tallies = {(z, k): Tally() for z in LEAD_GRID[0] for k in LEAD_GRID[1]}
    for sim in recordings(seeds):
        sim = lead_added(sim)
        truth = sim.truth.events_of("ecg")
        for (z, k), tally in tallies.items():
            rules = RuleDetector(thresholds={"ecg_lead_z": z, "ecg_lead_teeth": k})
            found = [e for e in rules.detect(sim.data).events if e.kind == "ecg"]
            m = match_events(truth, merge_close(found))
            tally.add(m.tp, m.fp, m.fn)
    return {cell: round(float(t.f1), 3) for cell, t in tallies.items()}
