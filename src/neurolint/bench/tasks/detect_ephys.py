"""Task ``detect_ephys``: bad channels and artifacts on simulated extracellular probes.

The suite is simulated recordings (:func:`~neurolint.simulate.simulate_ephys`, 30 kHz, every
artifact kind) on held-out seeds (``10_000 + seed + i`` for the i-th recording; training
recipes use seeds below 10 000), each paired with its clean twin (``truth.clean``: the same
noise and spikes without any artifact or bad channel):

- full: Neuropixels 1.0 (384 ch, 10 s) x 1, linear32 (30 s) x 2, linear16 (20 s) x 2,
  tetrode (20 s) x 2, i.e. 7 recordings and 7 clean twins. One Neuropixels recording only:
  SpikeInterface's peers take about a minute each on 384 channels, which keeps the full run
  near 3 minutes on 2 cores;
- quick: linear32 (5 s) and tetrode (5 s), with their clean twins.

Every method sees the same recordings, one after another in one process; wall time and peak
memory cover all of them (artifact and clean). Counts are pooled over recordings before
precision, recall and F1 are computed (:func:`~neurolint.bench.metrics.channel_scores`):

- ``ch_P/ch_R/ch_F1``: the truth's bad channels (flat or noisy) vs every channel a method
  calls bad, whatever the reason (so an ``outside_brain`` verdict on a simulated probe, which
  has none, is a false positive).
- ``flat_*`` / ``noisy_*``: per fault kind, the truth's channels of that kind vs the
  channels a method calls bad for that reason. SpikeInterface's labels map ``dead`` -> flat,
  ``noise`` -> noisy_channel, ``out`` -> outside_brain.
- ``F1_<kind>`` for ``saturation``, ``movement``, ``pop``, ``line_noise``: events of that
  kind matched one to one with the truth's (:func:`~neurolint.bench.metrics.match_events`:
  same kind, overlap of at least half the shorter event, channels ignored), for methods that
  report events ('-' otherwise). Events are not merged first: ephys artifacts last
  milliseconds, and the ``detect`` task's 0.25 s merge would join distinct pops.
- ``clean_ch`` / ``clean_ev``: bad channels and events a method reports per clean twin
  (every one is false).

Peers are SpikeInterface's ``detect_bad_channels`` with their defaults (100 random chunks of
0.3 s, ``seed`` fixed): ``coherence+psd`` (the IBL method) on a 300 Hz high-passed recording,
and ``std`` / ``mad`` (a channel is noisy above 5 times the median deviation). They judge
channels only.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ...core.findings import Finding
from ..harness import BenchResult, run_method
from ..metrics import Tally, channel_scores, match_events

__all__ = ["CHANNEL_KINDS", "EVENT_KINDS", "EphysMethod", "methods", "run", "suite"]

SEED_OFFSET = 10_000
EVENT_KINDS = ("saturation", "movement", "pop", "line_noise")
CHANNEL_KINDS = ("flat", "noisy_channel")
#: SpikeInterface's channel labels as neurolint finding kinds (``good`` is not bad).
SI_LABELS = {"dead": "flat", "noise": "noisy_channel", "out": "outside_brain"}
_SHORT = {"flat": "flat", "noisy_channel": "noisy"}

#: (probe, duration in s) of each recording of the full and the quick suite.
FULL_LAYOUTS = (
    ("neuropixels", 10.0),
    ("linear32", 30.0),
    ("linear32", 30.0),
    ("linear16", 20.0),
    ("linear16", 20.0),
    ("tetrode", 20.0),
    ("tetrode", 20.0),
)
QUICK_LAYOUTS = (("linear32", 5.0), ("tetrode", 5.0))

# One method's output on one recording: its events and {bad channel name: reasons}.
Output = tuple[list[Finding], dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class EphysMethod:
    """A detector in the table: what it is and how to call it."""

    name: str
    detect: Callable[[Any], Output]  # TimeSeries -> (events, bad channels with reasons)
    kind: str  # "ours" or "peer"
    reports_events: bool
    source: str = ""


def _neurolint(ts: Any) -> Output:
    from ...assess.ephys import EphysDetector

    d = EphysDetector().fit(ts).detect(ts)
    return list(d.events), {c.name: tuple(c.reasons) for c in d.channels if c.is_bad}


def _spikeinterface(ts: Any, method: str, seed: int) -> Output:
    from ...core.validate import import_optional

    spre = import_optional("spikeinterface.preprocessing", "ephys")
    rec = ts.to_spikeinterface()
    if method == "coherence+psd":
        # The IBL method expects spike-band data; std/mad high-pass by themselves.
        rec = spre.highpass_filter(rec)
    with warnings.catch_warnings():
        # e.g. "Over 1/3 of channels are detected as bad" on a tetrode with 2 bad wires.
        warnings.filterwarnings("ignore", module=r"spikeinterface\.")
        _, labels = spre.detect_bad_channels(
            rec, method=method, seed=seed, job_kwargs={"progress_bar": False}
        )
    return [], {
        str(ch): (SI_LABELS.get(str(label), str(label)),)
        for ch, label in zip(rec.channel_ids, labels, strict=True)
        if str(label) != "good"
    }


def methods(seed: int = 0) -> list[EphysMethod]:
    """neurolint's EphysDetector and SpikeInterface's ``detect_bad_channels`` methods."""
    try:
        from spikeinterface import __version__ as si_version
    except ImportError:
        si_version = "not installed"
    si = f"SpikeInterface {si_version} detect_bad_channels"
    return [
        EphysMethod(
            "neurolint.EphysDetector",
            _neurolint,
            "ours",
            True,
            "neurolint EphysDetector().fit(ts).detect(ts) (rules, explainable)",
        ),
        EphysMethod(
            "si.coherence+psd",
            partial(_spikeinterface, method="coherence+psd", seed=seed),
            "peer",
            False,
            f"{si}(method='coherence+psd') after highpass_filter (IBL method)",
        ),
        EphysMethod(
            "si.std",
            partial(_spikeinterface, method="std", seed=seed),
            "peer",
            False,
            f"{si}(method='std', std_mad_threshold=5)",
        ),
        EphysMethod(
            "si.mad",
            partial(_spikeinterface, method="mad", seed=seed),
            "peer",
            False,
            f"{si}(method='mad', std_mad_threshold=5)",
        ),
    ]


def suite(quick: bool, seed: int = 0) -> list:
    """The simulations (``Simulation``: ``data``, ``truth`` with ``truth.clean``)."""
    from ...simulate import simulate_ephys

    layouts = QUICK_LAYOUTS if quick else FULL_LAYOUTS
    return [
        simulate_ephys(probe, duration, seed=SEED_OFFSET + seed + i)
        for i, (probe, duration) in enumerate(layouts)
    ]


def evaluate(
    method: EphysMethod, sims: Sequence, outputs: Sequence[tuple[Output, Output]]
) -> dict[str, object]:
    """Pooled scores of one method's ``(recording, clean twin)`` outputs on the suite."""
    counts: defaultdict[str, Tally] = defaultdict(Tally)
    clean_ch = clean_ev = 0
    for sim, ((events, bads), (clean_events, clean_bads)) in zip(sims, outputs, strict=True):
        truth = sim.truth
        s = channel_scores(truth.channels, list(bads))
        counts["ch"].add(int(s["tp"]), int(s["fp"]), int(s["fn"]))
        for kind in CHANNEL_KINDS:
            true_k = [c.name for c in truth.channels if c.is_bad and kind in c.reasons]
            pred_k = [name for name, reasons in bads.items() if kind in reasons]
            s = channel_scores(true_k, pred_k)
            counts[kind].add(int(s["tp"]), int(s["fp"]), int(s["fn"]))
        if method.reports_events:
            for kind in EVENT_KINDS:
                m = match_events(truth.events_of(kind), [e for e in events if e.kind == kind])
                counts[f"ev_{kind}"].add(m.tp, m.fp, m.fn)
        clean_ch += len(clean_bads)
        clean_ev += len(clean_events)
    out: dict[str, object] = {}
    out["ch_P"], out["ch_R"], out["ch_F1"] = counts["ch"].prf
    for kind in CHANNEL_KINDS:
        p, r, f = counts[kind].prf
        out[f"{_SHORT[kind]}_P"], out[f"{_SHORT[kind]}_R"], out[f"{_SHORT[kind]}_F1"] = p, r, f
    for kind in EVENT_KINDS:
        out[f"F1_{kind}"] = counts[f"ev_{kind}"].f1 if method.reports_events else None
    n = len(sims)
    out["clean_ch"] = clean_ch / n
    out["clean_ev"] = clean_ev / n if method.reports_events else None
    return out


def _columns() -> list[str]:
    cols = ["ch_P", "ch_R", "ch_F1"]
    for kind in CHANNEL_KINDS:
        cols += [f"{_SHORT[kind]}_{m}" for m in ("P", "R", "F1")]
    return [*cols, *[f"F1_{k}" for k in EVENT_KINDS], "clean_ch", "clean_ev"]


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Run neurolint's EphysDetector and SpikeInterface's peers on the suite.

    Parameters
    ----------
    quick : bool
        The small suite (two 5 s recordings) instead of the full one. default: False.
    seed : int
        Added to the held-out seed offset 10 000. default: 0.
    debug : bool
        Print the traceback of a method that fails. default: False.

    Returns
    -------
    BenchResult
        One row per method; see the module docstring for the columns.
    """
    sims = suite(quick, seed)
    result = BenchResult(
        task="detect_ephys",
        quick=quick,
        seed=seed,
        description="bad channels and artifacts on simulated probes (held-out seeds)",
        params={
            "recordings": [
                {
                    "probe": s.truth.params["probe"],
                    "n_channels": s.data.n_channels,
                    "sampling_rate": s.data.sampling_rate,
                    "duration_s": s.data.duration,
                    "seed": s.truth.params["seed"],
                    "bad_channels": {
                        k: sum(1 for c in s.truth.channels if k in c.reasons) for k in CHANNEL_KINDS
                    },
                    "events": {k: len(s.truth.events_of(k)) for k in EVENT_KINDS},
                }
                for s in sims
            ],
            "min_overlap": 0.5,
            "clean_twins": True,
        },
        columns=_columns(),
    )
    for method in methods(seed):
        row = run_method(
            method.name,
            lambda method=method: [
                (method.detect(s.data), method.detect(s.truth.clean)) for s in sims
            ],
            partial(evaluate, method, sims),
            kind=method.kind,
            source=method.source,
            debug=debug,
        )
        result.rows.append(row)
    total = sum(s.data.duration for s in sims)
    result.notes += [
        f"{len(sims)} recording(s) ({total:g} s) and as many clean twins; wall time and peak "
        "memory cover all of them. '-': the method does not report that.",
        "clean_ch / clean_ev: bad channels / events reported per clean twin (all false).",
        "SpikeInterface's peers report channels only (dead/noise/out -> flat/noisy/outside).",
    ]
    return result
