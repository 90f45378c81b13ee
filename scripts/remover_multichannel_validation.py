"""Choose the remover's inputs on training-side data: the multichannel validation scenario.

The ``denoise_multichannel`` bench task is a test: held-out simulator seeds (10000 on) and
the EOG of ``eeglab_data.set`` from its *test* time range. This script builds the same kind
of case from training-side data only, simulator seeds 0-1 and EOG1 from the *train* time
range (0-188.65 s), so that model choices can be made without looking at the test table.

Usage::

    python scripts/remover_multichannel_validation.py eeg-remover [DIR/eeg-remover.safetensors ...]

Models are registered names or weights with their card beside them; train candidates with
``neurolint train remover --source ... [--context] --out DIR``. Prints
CC, RRMSE_t and RRMSE_s over the 8 most frontal channels, averaged over the 6 cases, for
the remover used on every window.
"""

from __future__ import annotations

import sys

import numpy as np

from neurolint.bench.tasks import denoise_multichannel as dm

TRAIN_STOP = 188.65  # s: where the semi-synthetic set's train split ends
SEEDS = (0, 1)


def _train_range_eog(n: int, sfreq: float) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfiltfilt

    from neurolint.io import read

    rec = read(str(dm.SOURCE.resolve()))
    eog = rec.pick(["EOG1"]).get_data(0, round(TRAIN_STOP * rec.sampling_rate))[0]
    sos = butter(2, [0.3, 10.0], "bandpass", fs=rec.sampling_rate, output="sos")
    eog = sosfiltfilt(sos, eog.astype(np.float64))
    eog = resample_poly(eog, int(sfreq), int(rec.sampling_rate))
    reps = int(np.ceil(n / len(eog)))
    tiled = np.concatenate([eog if i % 2 == 0 else eog[::-1] for i in range(reps)])
    return -tiled[:n]


def main(models: list[str]) -> None:
    from neurolint.correct import fix

    dm._eog_waveform = _train_range_eog  # the cases take train-range EOG instead
    cases = [dm._case(seed, snr, False) for seed in SEEDS for snr in dm.SNRS]
    for model in models:
        scores = []
        for case in cases:
            options = {"artifacts": {"where": "everywhere", "model": model}}
            out, _ = fix(case["ts"], None, steps="artifacts", options=options)
            scores.append(dm._score(case, dm._eeg(out)))
        means = {k: round(float(np.mean([s[k] for s in scores])), 3) for k in scores[0]}
        print(model, means)


if __name__ == "__main__":
    main(sys.argv[1:])
