"""Task ``check_speed``: how fast ``check()`` is, and how much memory it takes, by length.

EEG: one simulated hour of 64-channel 256 Hz EEG with every artifact kind, checked by
``neurolint.check`` (default detectors: rules, learned, anomaly) on one core and on every
core, beside PyPREP's ``NoisyChannels.find_all_bads`` on the same recording (bad channels
only; PyPREP finds no events).

Ephys: a simulated 384-channel 30 kHz Neuropixels-like recording written as int16 binary,
read back lazily (as a user's file would be) and checked at two lengths, so memory can be
seen not to grow with the recording. The long file tiles one simulated block; tiling does
not change the work per second of data.

The recording's first tenth and the whole of it are also written as FIF and checked in a
fresh process each (the peak RSS of the whole process: memory by length as a user of
``neurolint check FILE`` meets it).

Imports and the model load are paid once before timing (a warm-up on a few seconds), so the
rows are throughput; a fresh CLI process adds about two seconds of torch import.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..harness import BenchResult, MethodResult, run_method

__all__ = ["run"]


def _eeg_rows(quick: bool, seed: int, debug: bool) -> list[MethodResult]:
    from ... import check
    from ...simulate import simulate_eeg
    from ..baselines.eeg_detect import pyprep_noisy_channels

    seconds = 60.0 if quick else 3600.0
    ts = simulate_eeg(64, seconds, 256.0, seed=seed).data
    check(ts.time_slice(0, 10), progress_bar=False)  # imports and model load
    size = f"64 ch, 256 Hz, {seconds:g} s"

    def speed(out) -> dict:
        return {"size": size, "recording_s": seconds, "events": len(out.events)}

    # The first tenth on all cores too: peak memory by length (bounded, or growing?).
    part = ts.time_slice(0, seconds / 10)
    part_size = f"64 ch, 256 Hz, {seconds / 10:g} s"

    rows = [
        run_method(
            "neurolint.check (all cores, a tenth)",
            lambda: check(part, n_jobs=-1),
            lambda out: {
                "size": part_size,
                "recording_s": seconds / 10,
                "events": len(out.events),
            },
            debug=debug,
        ),
        run_method(
            "neurolint.check (1 thread)",
            lambda: check(ts, n_jobs=1),
            speed,
            debug=debug,
        ),
        run_method(
            "neurolint.check (all cores)",
            lambda: check(ts, n_jobs=-1),
            speed,
            debug=debug,
            repeat=3,  # the goal's row: runs on this machine vary by about 0.5 s
        ),
        run_method(
            "pyprep.NoisyChannels.find_all_bads",
            lambda: pyprep_noisy_channels(ts, seed=seed),
            lambda out: {"size": size, "recording_s": seconds, "events": 0},
            kind="peer",
            source=_version("pyprep"),
            debug=debug,
        ),
    ]
    rows += _file_rows(ts, (seconds / 10, seconds), debug)
    return rows


# Run in a fresh interpreter: read a FIF lazily, warm up on 10 s, check the whole file, and
# print the process's peak RSS after the warm-up and after the check.
_CHILD = """
import json, resource, sys, time
import neurolint
from neurolint.core.threads import limit_malloc_arenas


def peak():
    # VmHWM: this process's own high-water mark. getrusage's ru_maxrss survives exec on
    # Linux, so it would report the parent's peak (bytes on macOS, KiB elsewhere).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


limit_malloc_arenas()  # as the neurolint command does at start
ts = neurolint.read(sys.argv[1])
neurolint.check(ts.time_slice(0, min(10.0, ts.duration)), progress_bar=False)
warm = peak()
start = time.perf_counter()
qc = neurolint.check(ts, n_jobs=-1, progress_bar=False)
wall = time.perf_counter() - start
print(json.dumps({"warm": warm, "peak": peak(), "wall": wall, "events": len(qc.events)}))
"""


def _file_rows(ts, lengths: tuple[float, ...], debug: bool) -> list[MethodResult]:
    """``check()`` of the first ``lengths`` seconds of ``ts`` written as FIF, each in a fresh
    process reading the file lazily (as ``neurolint check FILE`` would): the peak RSS of the
    whole process, so memory by length is not blurred by what earlier rows left behind."""
    from ...io import write

    rows = []
    with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
        for seconds in lengths:
            path = Path(tmp) / f"eeg_{seconds:g}s_raw.fif"
            write(ts.time_slice(0, seconds), path)

            def child(path: Path = path) -> dict:
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                return json.loads(done.stdout.strip().splitlines()[-1])

            rows.append(
                run_method(
                    f"neurolint.check from FIF, fresh process ({seconds:g} s)",
                    child,
                    lambda out, seconds=seconds: {
                        "size": f"64 ch, 256 Hz, {seconds:g} s, FIF read lazily",
                        "events": out["events"],
                        "check_s": round(out["wall"], 2),
                        "rss_warm_mb": round(out["warm"] / 1e6, 1),
                        "rss_peak_mb": round(out["peak"] / 1e6, 1),
                    },
                    debug=debug,
                )
            )
            path.unlink()
    return rows


def _write_tile(
    folder: Path, tile_s: float, n_channels: int, seed: int, edit: Callable | None = None
) -> Path:
    """One simulated block with every artifact kind, as int16 binary plus sidecar;
    ``edit(ts)`` may change the simulated series first (returning the one to write)."""
    from ...io import write
    from ...simulate import simulate_ephys

    probe = "neuropixels" if n_channels == 384 else "linear32"
    ts = simulate_ephys(probe, tile_s, artifacts="all", seed=seed).data
    return write(ts if edit is None else edit(ts), folder / "tile.raw", dtype="int16")


def _tiled(tile: Path, seconds: float, tile_s: float) -> Path:
    """An int16 binary of ``seconds`` made by repeating ``tile`` (``tile_s`` long)."""
    side = json.loads(tile.with_suffix(".json").read_text())
    repeats = max(1, round(seconds / tile_s))
    path = tile.with_name(f"ephys_{seconds:g}s.raw")
    with open(path, "wb") as out:
        for _ in range(repeats):
            with open(tile, "rb") as src:
                shutil.copyfileobj(src, out, 64 << 20)
    side["n_samples"] = int(side["n_samples"]) * repeats
    path.with_suffix(".json").write_text(json.dumps(side))
    return path


def _ephys_rows(quick: bool, seed: int, debug: bool) -> list[MethodResult]:
    from ... import check, read

    n_channels = 32 if quick else 384
    lengths = (4.0, 8.0) if quick else (120.0, 600.0)
    tile_s = 2.0 if quick else 30.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="neurolint-bench-") as tmp:
        tile = _write_tile(Path(tmp), tile_s, n_channels, seed)
        for seconds in lengths:
            path = _tiled(tile, seconds, tile_s)
            ts = read(path)
            if not rows:
                check(ts.time_slice(0, 1), progress_bar=False)  # imports
            size = f"{n_channels} ch, 30 kHz, {ts.duration:g} s, int16 binary"
            duration = ts.duration
            rows.append(
                run_method(
                    f"neurolint.check ephys ({duration:g} s)",
                    lambda ts=ts: check(ts, n_jobs=-1),
                    lambda out, size=size, duration=duration: {
                        "size": size,
                        "recording_s": duration,
                        "events": len(out.events),
                    },
                    debug=debug,
                )
            )
            del ts
            path.unlink()
    return rows


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return package


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Time ``check()`` on an hour of EEG (with PyPREP beside it) and on ephys by length."""
    result = BenchResult(
        task="check_speed",
        quick=quick,
        seed=seed,
        description="check() speed and peak memory (EEG vs PyPREP; ephys by length)",
        columns=[
            "size",
            "recording_s",
            "x_realtime",
            "events",
            "runs_s",
            "check_s",
            "rss_warm_mb",
            "rss_peak_mb",
        ],
    )
    for row in _eeg_rows(quick, seed, debug) + _ephys_rows(quick, seed, debug):
        if row.error is None and row.wall_s and "recording_s" in row.metrics:
            row.metrics["x_realtime"] = float(row.metrics["recording_s"]) / row.wall_s
        result.rows.append(row)
    result.notes.append(
        "Peak memory is the RSS growth while the method runs. The EEG recording (and, for "
        "PyPREP, its MNE copy) is in memory before timing starts; ephys files are read "
        "lazily, so their rows hold only what check() itself allocates."
    )
    result.notes.append(
        "The 'from FIF, fresh process' rows write the recording's first tenth and the whole "
        "of it as FIF and check each in a new Python process that reads the file lazily: "
        "rss_warm_mb is that process's peak RSS after imports and a 10 s warm-up, "
        "rss_peak_mb its peak after the check (both whole-process, as a user sees them), "
        "check_s the check's own time on both cores; wall (s) includes starting Python."
    )
    result.notes.append(
        "The all-cores hour ran three times: its wall time is the median, runs_s lists all "
        "three, and its peak memory is the largest of the three."
    )
    return result
