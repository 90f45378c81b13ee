"""Benchmark: stream a large int16 binary through chunk iteration vs a plain numpy memmap loop.

Each method runs in its own process so that its peak resident memory is its own. Methods:

- ``neurolint``: ``read()`` + ``iter_chunks`` → C-contiguous float32 ``(n_channels, n)``.
- ``neurolint_noncontiguous``: the same with ``contiguous=False`` (a transposed view).
- ``memmap``: ``np.memmap`` loop, ``block.astype(float32)`` in the file's own layout
  (samples-first): the least work possible for "read + convert".
- ``memmap_channels_first``: the same loop producing what neurolint produces
  (``np.ascontiguousarray(block.T, dtype=float32)``).

Also times ``neurolint --help`` (fresh interpreter each run).

Run: ``neurolint bench io_stream`` (2 GB, 3 repeats; ``--quick``: 0.2 GB, 1 repeat) or
``python -m neurolint.bench.io_stream --size-gb 2 --out bench-results``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import MethodResult

N_CHANNELS = 384
RATE = 30000.0

_CHILD = r"""
import resource, sys, time, json
import numpy as np
method, path = sys.argv[1], sys.argv[2]
n_ch, rate, chunk_s = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
chunk = int(rate * chunk_s)
if method.startswith("neurolint"):
    import neurolint as nl
    import neurolint.io  # imports are not part of the streaming cost
t0 = time.perf_counter()
total = 0.0
if method.startswith("neurolint"):
    ts = nl.read(path, dtype="int16", n_channels=n_ch, sampling_rate=rate)
    contiguous = method == "neurolint"
    for _, block in ts.iter_chunks(chunk_duration=chunk_s, contiguous=contiguous):
        total += float(block[0, 0])
    n = ts.n_samples
else:
    mm = np.memmap(path, dtype=np.int16, mode="r").reshape(-1, n_ch)
    n = mm.shape[0]
    for s in range(0, n, chunk):
        if method == "memmap":
            block = mm[s:s + chunk].astype(np.float32)
            total += float(block[0, 0])
        else:
            block = np.ascontiguousarray(mm[s:s + chunk].T, dtype=np.float32)
            total += float(block[0, 0])
elapsed = time.perf_counter() - t0
print(json.dumps({"method": method, "seconds": elapsed, "samples": n,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_file(path: Path, size_gb: float, seed: int = 0) -> int:
    """Write ``size_gb`` GB of int16 noise, 384 channels interleaved; return the sample count."""
    n_samples = int(size_gb * 1e9) // (N_CHANNELS * 2)
    rng = np.random.default_rng(seed)
    block = rng.integers(-2000, 2000, size=(30000, N_CHANNELS), dtype=np.int16)
    with open(path, "wb") as fh:
        written = 0
        while written < n_samples:
            n = min(len(block), n_samples - written)
            block[:n].tofile(fh)
            written += n
    return n_samples


def run_method(method: str, path: Path, chunk_s: float) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, method, str(path), str(N_CHANNELS), str(RATE), str(chunk_s)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def help_time(repeats: int = 10) -> list[float]:
    """Wall time of ``neurolint --help`` in a fresh interpreter, ``repeats`` times."""
    times = []
    exe = Path(sys.executable).with_name("neurolint")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "neurolint"]
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def run(
    quick: bool = False,
    seed: int = 0,
    *,
    debug: bool = False,
    size_gb: float | None = None,
    repeats: int | None = None,
    chunk_duration: float = 1.0,
    help_runs: int | None = None,
    workdir: Path | None = None,
):
    """The harness task: the four loops over one file, and ``neurolint --help`` start-up.

    ``quick``: 0.2 GB, one repeat, 3 start-ups; otherwise 2 GB, 3 repeats, 10 start-ups
    (``size_gb``, ``repeats`` and ``help_runs`` override these).
    """
    from .harness import BenchResult

    size_gb = size_gb or (0.2 if quick else 2.0)
    repeats = repeats or (1 if quick else 3)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "stream.bin"
        n = make_file(path, size_gb, seed)
        methods = ["neurolint", "neurolint_noncontiguous", "memmap", "memmap_channels_first"]
        runs: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(repeats):  # interleaved, so cache state is shared fairly
            for m in methods:
                runs[m].append(run_method(m, path, chunk_duration))
        size = os.path.getsize(path)
    helps = help_time(help_runs or (3 if quick else 10))
    result = BenchResult(
        task="io_stream",
        quick=quick,
        seed=seed,
        description=(
            f"stream {size / 1e9:.2f} GB int16, {N_CHANNELS} channels, {chunk_duration:g} s chunks"
        ),
        params={
            "bytes": size,
            "channels": N_CHANNELS,
            "samples": n,
            "repeats": repeats,
            "help_seconds": {"median": statistics.median(helps), "max": max(helps)},
        },
    )
    base = statistics.median(r["seconds"] for r in runs["memmap"])
    for m in methods:
        secs = statistics.median(r["seconds"] for r in runs[m])
        result.rows.append(
            MethodResult(
                m,
                "ours" if m.startswith("neurolint") else "baseline",
                {"throughput_MB_s": size / secs / 1e6, "vs_memmap": base / secs},
                secs,
                max(r["peak_rss_mb"] for r in runs[m]),
            )
        )
    result.notes += [
        "Each method runs in a fresh process: peak memory is that process's peak RSS "
        "(ru_maxrss), not growth; time is the median over repeats.",
        f"`neurolint --help`: median {statistics.median(helps):.3f} s, max {max(helps):.3f} s "
        f"over {len(helps)} runs, each in a fresh interpreter.",
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--chunk-duration", type=float, default=1.0, help="seconds per chunk")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--workdir", type=Path, default=None, help="where the big file goes")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results")
    args = parser.parse_args(argv)
    result = run(
        size_gb=args.size_gb,
        repeats=args.repeats,
        chunk_duration=args.chunk_duration,
        workdir=args.workdir,
    )
    result.write(args.out, overwrite=args.overwrite)
    print(result.to_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
