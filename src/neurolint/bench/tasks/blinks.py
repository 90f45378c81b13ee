"""Task ``blinks``: real blinks in ``eeglab_data.set``, found without its EOG channels.

The reference: blink peaks that MNE's ``find_eog_events`` finds on the recording's vertical
EOG channel. By their positions EOG1 sits below the right eye (6 cm below the nasion plane:
vertical EOG, where blinks show as large negative deflections) and EOG2 beside the left eye
(6 cm lateral: horizontal EOG, saccades), so the reference uses EOG1; averaging the two mixes
polarities and finds 68 "blinks" in 238 s, most of them eye movements. Every method then sees
the recording *without* EOG1 and EOG2 and reports blink events; a reference peak is found
when it lies inside a reported blink (or within ``TOLERANCE`` seconds of one), one to one.
"""

from __future__ import annotations

from pathlib import Path

from ...core.findings import Finding
from ..harness import BenchResult, run_method
from ..metrics import match_events

__all__ = ["SOURCE", "reference_blinks", "run"]

SOURCE = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "eeg" / "eeglab_data.set"
EOG = ("EOG1", "EOG2")
VEOG = "EOG1"
TOLERANCE = 0.2  # s


def reference_blinks(ts) -> list[Finding]:
    """Blink peaks on the vertical EOG channel (zero-duration findings at each peak)."""
    import mne

    raw = ts.pick([VEOG]).to_mne()
    with mne.utils.use_log_level("error"):
        found = mne.preprocessing.find_eog_events(raw, ch_name=VEOG, verbose="error")
    sfreq = raw.info["sfreq"]
    return [
        Finding(
            onset=float(s - raw.first_samp) / sfreq,
            duration=0.0,
            kind="blink",
            detector="reference",
        )
        for s in found[:, 0]
    ]


def _without_eog(ts):
    return ts.pick([n for n in ts.ch_names if n not in EOG])


def _ours(detectors: str):
    def run(ts):
        from ...assess import check

        return check(ts, detectors=detectors).events_of("blink")

    return run


def _peer_fpz(ts):
    from ..baselines.eeg_detect import mne_find_eog_events

    return mne_find_eog_events(ts).events


def _score(reference: list[Finding], events: list[Finding]) -> dict[str, float]:
    match = match_events(reference, events, tolerance=TOLERANCE)
    return {
        "reference_blinks": len(reference),
        "reported": len(events),
        "P": match.precision,
        "R": match.recall,
        "F1": match.f1,
    }


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Score every method against the EOG reference on the real recording."""
    from ...io import read

    result = BenchResult(
        task="blinks",
        quick=quick,
        seed=seed,
        description="real blinks in eeglab_data.set vs its EOG channels (EOG left out)",
        columns=["reference_blinks", "reported", "P", "R", "F1"],
    )
    if not SOURCE.resolve().is_file():
        result.notes.append(f"skipped: {SOURCE.resolve()} is absent (shared data).")
        return result
    ts = read(SOURCE.resolve())
    if quick:
        ts = ts.time_slice(0.0, 60.0)
    reference = reference_blinks(ts)
    eeg = _without_eog(ts)
    methods = [
        ("neurolint.rules", "ours", _ours("rules")),
        ("neurolint.learned", "ours", _ours("learned")),
        ("neurolint.check", "ours", _ours("rules,learned")),
        ("mne.find_eog_events (two most frontal EEG channels)", "peer", _peer_fpz),
    ]
    for name, kind, call in methods:
        result.rows.append(
            run_method(
                name,
                lambda call=call: call(eeg),
                lambda events: _score(reference, events),
                kind=kind,
                debug=debug,
            )
        )
    result.params = {
        "source": SOURCE.name,
        "duration_s": ts.duration,
        "tolerance_s": TOLERANCE,
        "reference": "mne.preprocessing.find_eog_events on EOG1 (vertical EOG)",
    }
    result.notes += [
        f"{len(reference)} reference blinks in {ts.duration:.0f} s; methods see the "
        f"{eeg.n_channels} EEG channels only.",
        "The shipped learned detector trained on semi-synthetic epochs from the first 80% of "
        "this recording (its train split), so its row, and check()'s (which takes blinks "
        "from it), are not held-out figures; the rules never saw the recording.",
    ]
    return result
