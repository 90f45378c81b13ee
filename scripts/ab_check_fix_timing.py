"""Compare ``check()`` and ``fix()`` + write between two checkouts, in alternating processes.

A change to what rides along with the samples (metadata, writers) should move neither the
findings nor the speed that ``check_speed`` and ``fix_speed`` report. This script times
both on one 10-minute 64-channel 256 Hz simulated recording read lazily from FIF (seed 0),
in fresh processes that alternate between the checkouts, and prints per run: ``check()``
seconds, ``fix()`` + writing FIF and EDF seconds, the events' count and hash, the score,
and hashes of the written samples.

Usage::

    python scripts/ab_check_fix_timing.py OLD_SRC NEW_SRC [--runs 3] [--folder DIR]

``OLD_SRC`` and ``NEW_SRC`` are ``src`` folders (e.g. of a ``git worktree`` at the base).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_MAKE = """
import neurolint as nl
from neurolint.simulate import simulate_eeg
nl.write(simulate_eeg(64, 600, 256.0, seed=0).data, "rec_raw.fif", overwrite=True)
"""

_RUN = """
import hashlib, sys, tempfile, time
from pathlib import Path
import neurolint as nl
from neurolint.correct import fix
ts = nl.read("rec_raw.fif")
nl.check(ts.time_slice(0, 10), progress_bar=False)  # imports and the model load
t0 = time.perf_counter(); qc = nl.check(ts, progress_bar=False); tc = time.perf_counter() - t0
out = {}
for name in ("o_raw.fif", "o.edf"):
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        corrected, _ = fix(ts, qc)
        path = nl.write(corrected, Path(d) / name)
        out[name] = time.perf_counter() - t0
        out[name + "#"] = hashlib.md5(nl.read(path).get_data().tobytes()).hexdigest()[:8]
events = [(round(e.onset, 4), e.kind, e.channels) for e in qc.events]
digest = hashlib.md5(str(events).encode()).hexdigest()[:8]
print(sys.argv[1], f"check {tc:.2f} s, fix+FIF {out['o_raw.fif']:.2f} s, "
      f"fix+EDF {out['o.edf']:.2f} s, events {len(events)} {digest}, score {qc.score:.2f}, "
      f"samples {out['o_raw.fif#']} {out['o.edf#']}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old_src")
    parser.add_argument("new_src")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", default=None, help="Work folder. default: a temporary one")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="neurolint-ab-"))

    def run(src: str, code: str, label: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
        subprocess.run([sys.executable, "-c", code, label], cwd=folder, env=env, check=True)

    run(args.new_src, _MAKE, "make")
    for _ in range(args.runs):
        run(args.old_src, _RUN, "old")
        run(args.new_src, _RUN, "new")


if __name__ == "__main__":
    main()
