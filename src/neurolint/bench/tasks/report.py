"""Task ``report``: the demo's wall time, and the HTML report's size and time on long EEG.

The demo runs as ``neurolint demo`` does (simulate 120 s of 64-channel EEG, check, fix,
write, report) into a temporary folder. The report rows take simulated 64-channel 256 Hz
EEG of 10 minutes and one hour (seed 0), checked and fixed first (not timed), and time
``neurolint.report`` with the recording, its corrected version and the log, as
``neurolint fix --report`` writes it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..harness import BenchResult, run_method

__all__ = ["run"]


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Time the demo, then the report of a 10-minute and a one-hour recording."""
    from ... import check, fix
    from ...demo import run_demo
    from ...reporting import report
    from ...simulate import simulate_eeg

    result = BenchResult(
        task="report",
        quick=quick,
        seed=seed,
        description="neurolint demo's wall time; HTML report size and time on long EEG",
        columns=["size", "report_mb", "recall_macro"],
    )
    with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
        demo_s = 30.0 if quick else 120.0
        row = run_method(
            f"neurolint demo ({demo_s:g} s of 64-channel EEG, all steps, report)",
            lambda: run_demo(Path(tmp) / "demo", seed=seed, duration=demo_s, say=lambda _: None),
            lambda out: {
                "size": f"64 ch, 256 Hz, {demo_s:g} s",
                "report_mb": out.files["report"].stat().st_size / 1e6,
                "recall_macro": out.events["macro"]["recall"],
            },
            debug=debug,
        )
        result.rows.append(row)
        for seconds in (60.0, 120.0) if quick else (600.0, 3600.0):
            ts = simulate_eeg(64, seconds, 256.0, seed=seed).data
            qc = check(ts, n_jobs=-1)
            corrected, log = fix(ts, qc)
            path = Path(tmp) / f"report_{seconds:g}.html"
            row = run_method(
                f"neurolint.report with data, corrected and log, {seconds / 60:g} min",
                lambda ts=ts, qc=qc, c=corrected, lg=log, p=path: report(
                    qc, p, ts, corrected=c, log=lg
                ),
                lambda out, s=seconds: {
                    "size": f"64 ch, 256 Hz, {s:g} s",
                    "report_mb": out.stat().st_size / 1e6,
                },
                debug=debug,
            )
            result.rows.append(row)
            del ts, qc, corrected, log
    result.notes.append(
        "Goals (issue 6): the demo under 60 s on this machine; the report of a one-hour "
        "64-channel recording under 5 MB."
    )
    return result
