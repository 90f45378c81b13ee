"""Choose the gap inpainter on development seeds: the ``impute`` bench cases, other seeds.

The ``impute`` bench task is a test: held-out simulator seeds (10000 on). This script builds
the same cases (30 s each, 200 ms gaps) on development seeds, LFP 500-501 and EEG 510-511
by default, so that the inpainter's recipe and the ``GapFiller`` default can be chosen
without looking at the test table.

Usage::

    python scripts/inpainter_dev_validation.py [gap-inpainter | DIR/gap-inpainter.safetensors ...]
        [--lfp 500,501] [--eeg 510,511]

Models are registered names or weights with their card beside them; train candidates with
``neurolint train inpainter --out DIR``. Prints ``rrmse_t`` and ``band_err`` (and per band)
for the classical ``GapFiller`` and for each model, one torch thread.
"""

from __future__ import annotations

import argparse

from neurolint.bench.tasks import impute as task
from neurolint.core.timeseries import TimeSeries
from neurolint.correct.base import corrected_series
from neurolint.correct.impute import GapFiller


def _fill(method: str, model: str | None = None):
    def fill(case: task.Case):
        ts = TimeSeries(case.data, case.sfreq)
        options = {"method": method} if model is None else {"method": method, "model": model}
        return corrected_series(ts, [GapFiller(**options).fit(ts)]).get_data()

    return fill


def main() -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["gap-inpainter"])
    parser.add_argument("--lfp", default="500,501", help="LFP development seeds")
    parser.add_argument("--eeg", default="510,511", help="EEG development seeds")
    args = parser.parse_args()
    seeds = {"lfp": args.lfp, "eeg": args.eeg}
    for kind, make in (("lfp", task._lfp_case), ("eeg", task._eeg_case)):
        chosen = [int(s) for s in seeds[kind].split(",")]
        if min(chosen) >= task.SEED_OFFSET:
            raise SystemExit("Seeds from 10000 on are the benchmark's; choose others.")
        cases = [make(s, True) for s in chosen]
        fills = [("classical (ar)", _fill("ar"))]
        fills += [(m, _fill("learned", m)) for m in args.models]
        for name, fill in fills:
            metrics = task._score(cases, [fill(c) for c in cases])
            shown = " ".join(f"{k}={v:.3f}" for k, v in metrics.items() if k != "n_gaps")
            print(f"{kind} {name}: {shown}", flush=True)


if __name__ == "__main__":
    main()
