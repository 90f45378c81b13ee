"""Task ``fix_speed``: how long ``fix()`` takes on an hour of EEG, and the remover's rate.

The recordings: 10 minutes and one hour of simulated 64-channel 256 Hz EEG with every
artifact kind (seed 0), each assessed first by ``check()`` (not timed here; see
``check_speed``). ``fix()`` fits every step; the corrected series is then streamed once into
a binary file in a temporary folder, which is when the lazy corrections are computed and the
log's energy figures counted (as ``neurolint fix`` does). The same recordings, written as
FIF, also go through ``neurolint fix IN.fif -o OUT`` (FIF and EDF) in a fresh process, whose peak
resident memory is the figure by length a user meets; so do 1 and 2 minutes of a 384-channel
30 kHz probe (int16 binary in and out). The remover's rate is measured alone
on 2 s single-channel epochs in batches.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..harness import BenchResult, peak_rss_of_command, run_method

__all__ = ["run"]


def _fix_and_write(ts, qc) -> dict:
    from ...correct import account, fix
    from ...io import write

    # As `neurolint fix` does it: the log's energy is counted while the output is written.
    corrected, log = fix(ts, qc, account_now=False)
    with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
        write(corrected, Path(tmp) / "fixed.raw")
    if not account(log, corrected):
        raise RuntimeError("the write did not stream every sample once")
    return {s.name: (s.skipped or len(s.regions)) for s in log.steps}


def _cli_row(src: Path, seconds: float, out: Path, debug: bool, size: str | None = None):
    """``neurolint fix IN -o OUT`` in a fresh process: check, fix, output written."""
    exe = shutil.which("neurolint")
    cmd = [exe] if exe else [sys.executable, "-m", "neurolint"]

    def fmt(p: Path) -> str:
        return "FIF" if p.name.endswith(".fif") else p.suffix[1:].upper()

    length = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    row = run_method(
        f"neurolint fix IN.{fmt(src).lower()} -o OUT.{fmt(out).lower()} --jobs -1 "
        f"(CLI, fresh process), {length}",
        # Both cores, as the other rows and check_speed use them (the check runs first).
        lambda: peak_rss_of_command(
            [*cmd, "fix", str(src), "-o", str(out), "--no-progress", "--jobs", "-1"]
        ),
        lambda res: {
            "size": f"{size or '64 ch, 256 Hz'}, {seconds:g} s, {fmt(src)} in, {fmt(out)} out",
            "rss_peak_mb": round(res["peak_mb"], 1),
        },
        debug=debug,
    )
    if row.error is None and size is not None:
        row.metrics["x_realtime"] = seconds / row.wall_s
    return row


def _probe_tile(folder: Path, tile_s: float, n_channels: int, seed: int) -> Path:
    """One simulated probe block with every artifact kind and dropped packets (runs of
    exact zeros on a few adjacent channels, 10-100 ms: six per 30 s), as int16 binary."""
    from ...core.timeseries import TimeSeries
    from .check_speed import _write_tile

    def drop_packets(ts: TimeSeries) -> TimeSeries:
        x = ts.get_data()
        rng = np.random.default_rng(seed)
        for _ in range(max(1, round(6 * tile_s / 30))):
            c = int(rng.integers(0, n_channels - 8))
            a = int(rng.integers(x.shape[1] // 10, x.shape[1] * 8 // 10))
            rows = int(rng.integers(1, 9))
            n = int(rng.integers(10, 101) * ts.sampling_rate / 1000)
            x[c : c + rows, a : a + n] = 0
        return TimeSeries(x, ts.sampling_rate, ts.channels, meta=dict(ts.meta or {}))

    return _write_tile(folder, tile_s, n_channels, seed, edit=drop_packets)


def _probe_rows(quick: bool, seed: int, debug: bool) -> list:
    """``neurolint fix`` of a probe recording (int16 binary, read lazily) at two lengths."""
    from .check_speed import _tiled

    n_channels, tile_s = (32, 2.0) if quick else (384, 30.0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
        tile = _probe_tile(Path(tmp), tile_s, n_channels, seed)
        for seconds in (4.0, 8.0) if quick else (60.0, 120.0):
            src = _tiled(tile, seconds, tile_s)
            size = f"{n_channels} ch, 30 kHz"
            out = Path(tmp) / f"out_{seconds:g}s.raw"
            rows.append(_cli_row(src, seconds, out, debug, size))
            if rows[-1].error is None:
                log = json.loads(out.with_name(out.stem + "_correction.json").read_text())
                rows[-1].metrics["steps"] = str(
                    {st["name"]: st.get("skipped") or len(st["regions"]) for st in log["steps"]}
                )
            src.unlink()
            out.unlink(missing_ok=True)  # the folder goes at the end; the disk before
    return rows


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Time ``fix()`` plus one write of its output, and the remover on its own."""
    from ... import check
    from ...correct.artifacts import denoise_epochs
    from ...io import write
    from ...simulate import simulate_eeg

    result = BenchResult(
        task="fix_speed",
        quick=quick,
        seed=seed,
        description="fix() on an hour of 64-channel EEG; the remover's windows per second",
        columns=["size", "x_realtime", "windows_per_s", "steps", "rss_peak_mb"],
    )
    cli_rows = []
    # Two lengths, so that memory can be seen not to grow with the recording.
    for seconds in (30.0, 60.0) if quick else (600.0, 3600.0):
        ts = simulate_eeg(64, seconds, 256.0, seed=seed).data
        qc = check(ts, n_jobs=-1)
        _fix_and_write(ts.time_slice(0, 10), None)  # imports and model load
        row = run_method(
            f"neurolint.fix (all steps) + write, {seconds / 60:g} min",
            lambda ts=ts, qc=qc: _fix_and_write(ts, qc),
            lambda out, s=seconds: {"size": f"64 ch, 256 Hz, {s:g} s", "steps": str(out)},
            debug=debug,
        )
        if row.error is None:
            row.metrics["x_realtime"] = seconds / row.wall_s
        result.rows.append(row)
        with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
            src = write(ts, Path(tmp) / "in_raw.fif")
            for name in ("out_raw.fif", "out.edf"):
                cli_rows.append(_cli_row(src, seconds, Path(tmp) / name, debug))
        del ts, qc
    result.rows += cli_rows
    result.rows += _probe_rows(quick, seed, debug)
    n = 2000 if quick else 20000
    epochs = np.random.default_rng(seed).standard_normal((n, 512)).astype(np.float32)
    denoise_epochs(epochs[:256])
    row = run_method(
        "eeg-remover alone (2 s epochs, default batches of 32)",
        lambda: denoise_epochs(epochs),
        lambda out: {"size": f"{n} epochs of 512 samples"},
        debug=debug,
    )
    if row.error is None:
        row.metrics["windows_per_s"] = n / row.wall_s
    result.rows.append(row)
    result.notes.append(
        "The CLI rows run 'neurolint fix IN.fif -o OUT --jobs -1' (check on both cores, then "
        "every step, then the FIF or EDF and its log written) in a fresh process; rss_peak_mb "
        "is that process's largest resident set (sampled every 10 ms), wall includes starting "
        "Python and the check. The probe rows do the same on a Neuropixels-like int16 binary "
        "(a simulated 30 s block with every artifact kind and six dropped packets, repeated), "
        "written as binary; their x_realtime includes the check and starting Python."
    )
    result.notes.append(
        "Goals (issue 5): full fix of one hour of 64-channel 256 Hz EEG in under 60 s; the "
        "remover alone at >= 2000 two-second windows per second (2 cores)."
    )
    return result
