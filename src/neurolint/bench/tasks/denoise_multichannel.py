"""Task ``denoise_multichannel``: ocular artifacts in multichannel EEG, where ICA and ASR apply.

The ``denoise`` task follows EEGdenoiseNet's single-channel epochs, on which ICA and ASR
cannot run. Here the same real EOG is spread over a whole montage instead:

- clean EEG: simulated 32-channel 256 Hz background (``simulate_eeg``, no artifacts) on
  held-out seeds, band-passed to 1-80 Hz as the protocol's clean EEG is;
- ocular artifact: the vertical EOG channel of ``eeglab_data.set`` from its *test* time range
  (190.65 s on, band 0.3-10 Hz, blinks and eye movements), repeated to length and spread
  over the scalp with the simulator's ocular topography (strongest at the frontopolar
  sites, decaying with distance from the eyes);
- the EOG waveform is also given to the methods as a recorded ``EOG`` channel, as a lab
  would have one;
- scaled so that the SNR at the most frontal channel is -5, -2 or 1 dB (10 log10 RMS ratio).

Scores: CC, RRMSE_t and RRMSE_s of each EEG channel against its clean version, averaged
over the 8 most frontal channels (where the artifact is). Methods: no correction, a 6 Hz
high-pass (the band the ``denoise`` task chose on its train split), MNE ICA with
EOG-correlated components removed, ASR (meegkit), and neurolint's remover over every 2 s
window of every channel (``where="everywhere"``) and around ``check()``'s findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..harness import BenchResult, run_method

__all__ = ["run"]

SOURCE = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "eeg" / "eeglab_data.set"
SEED_OFFSET = 10_000
SNRS = (-5.0, -2.0, 1.0)
TEST_START = 190.65  # s: where the semi-synthetic set's test split starts
N_FRONT = 8


def _eog_waveform(n: int, sfreq: float) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfiltfilt

    from ...io import read

    rec = read(str(SOURCE.resolve()))
    eog = rec.pick(["EOG1"]).get_data(round(TEST_START * rec.sampling_rate), None)[0]
    sos = butter(2, [0.3, 10.0], "bandpass", fs=rec.sampling_rate, output="sos")
    eog = sosfiltfilt(sos, eog.astype(np.float64))
    eog = resample_poly(eog, int(sfreq), int(rec.sampling_rate))
    reps = int(np.ceil(n / len(eog)))
    # Alternate direction at each repeat so the joins are continuous.
    tiled = np.concatenate([eog if i % 2 == 0 else eog[::-1] for i in range(reps)])
    return -tiled[:n]  # EOG1 sits below the eye: blinks are negative there, positive at Fp


def _band(x: np.ndarray, sfreq: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [1.0, min(80.0, 0.45 * sfreq)], "bandpass", fs=sfreq, output="sos")
    return sosfiltfilt(sos, x, axis=-1)


def _case(seed: int, snr: float, quick: bool) -> dict[str, Any]:
    from ...core.channels import ChannelInfo
    from ...core.timeseries import TimeSeries
    from ...simulate import simulate_eeg
    from ...simulate.artifacts import _EYES, _distance_weights

    seconds = 40.0 if quick else 120.0
    sim = simulate_eeg(32, seconds, 256.0, artifacts=None, seed=seed)
    # The protocol's clean EEG is 1-80 Hz (EEGdenoiseNet's band): drifts below 1 Hz are
    # neither brain signal to keep nor artifact to remove here.
    clean = _band(sim.data.get_data().astype(np.float64), 256.0)
    pos = sim.data.channels.positions
    topo = _distance_weights(pos, _EYES, 0.08)
    eog = _eog_waveform(clean.shape[1], 256.0)
    front = int(np.argmax(topo))
    scale = np.sqrt(np.mean(clean[front] ** 2)) / 10 ** (snr / 10) / np.sqrt(np.mean(eog**2))
    artifact = scale * topo[:, None] * eog[None]
    noisy = (clean + artifact).astype(np.float32)
    names = [*sim.data.ch_names, "EOG"]
    info = ChannelInfo(
        names,
        types=[*sim.data.channels.types, "eog"],
        units=["V"] * len(names),
        positions=np.vstack([pos, np.full((1, 3), np.nan)]),
    )
    data = np.vstack([noisy, (scale * eog)[None].astype(np.float32)])
    ts = TimeSeries(data, 256.0, info)
    order = np.argsort(-topo)[:N_FRONT]
    return {"ts": ts, "clean": clean, "front": order, "snr": snr, "seed": seed}


def _score(case: dict[str, Any], out: np.ndarray) -> dict[str, float]:
    from ..metrics import correlation, rrmse_s, rrmse_t

    rows = case["front"]
    clean, est = case["clean"][rows], out[rows]
    return {
        "cc": float(correlation(clean, est)),
        "rrmse_t": float(rrmse_t(clean, est)),
        "rrmse_s": float(rrmse_s(clean, est, 256.0)),
    }


def _eeg(ts) -> np.ndarray:
    return ts.get_data()[: ts.n_channels - 1]


def _highpass(case) -> np.ndarray:
    from .denoise import _filter

    return _filter(_eeg(case["ts"]), 6.0, None)


def _ica(case) -> np.ndarray:
    import mne

    raw = case["ts"].to_mne(copy_data=True)
    fit_raw = raw.copy().filter(1.0, None, verbose="error")
    ica = mne.preprocessing.ICA(n_components=20, random_state=0, max_iter="auto")
    ica.fit(fit_raw, picks="eeg", verbose="error")
    bads, _ = ica.find_bads_eog(raw, ch_name="EOG", verbose="error")
    ica.exclude = bads
    cleaned = ica.apply(raw.copy(), verbose="error")
    return cleaned.get_data(picks="eeg")


def _asr(cutoff: float):
    """meegkit's ASR (asrpy 0.0.8 fails under numpy 2), calibrated on the recording's
    cleanest windows as its documentation does."""

    def run(case) -> np.ndarray:
        from ...core.validate import import_optional

        asr_module = import_optional("meegkit.asr", "bench")
        x = _eeg(case["ts"]).astype(np.float64)
        asr = asr_module.ASR(sfreq=256.0, cutoff=cutoff, method="euclid")
        calib, _ = asr_module.clean_windows(x, 256.0, max_bad_chans=0.1)
        asr.fit(calib)
        return asr.transform(x)

    return run


def _ours(where: str):
    def run(case) -> np.ndarray:
        from ...assess import check
        from ...correct import fix

        ts = case["ts"]
        qc = check(ts) if where == "findings" else None
        out, _ = fix(ts, qc, steps="artifacts", options={"artifacts": {"where": where}})
        return _eeg(out)

    return run


METHODS = [
    ("no correction", "baseline", lambda case: _eeg(case["ts"]), "the noisy EEG"),
    ("high-pass 6 Hz", "baseline", _highpass, "cutoff chosen on the denoise task's train split"),
    (
        "mne.ICA + find_bads_eog",
        "peer",
        _ica,
        "MNE ICA (20 components, fitted after a 1 Hz high-pass), EOG-correlated removed",
    ),
    ("meegkit ASR (cutoff 20)", "peer", _asr(20.0), "EEGLAB's default burst criterion"),
    ("meegkit ASR (cutoff 5)", "peer", _asr(5.0), "meegkit's default cutoff"),
    (
        "neurolint remover (everywhere)",
        "ours",
        _ours("everywhere"),
        "every 2 s window of every EEG channel",
    ),
    (
        "neurolint check + remover",
        "ours",
        _ours("findings"),
        "around check()'s blink/saccade/muscle findings (default fix)",
    ),
]


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Score every method on every (recording, SNR) case, averaged."""
    from ...core.errors import InputNotFoundError

    if not SOURCE.is_file():
        raise InputNotFoundError(
            f"{SOURCE} is missing: this benchmark needs the shared eeglab_data.set for its EOG."
        )
    n_rec = 1 if quick else 2
    cases = [
        _case(SEED_OFFSET + seed + i, snr, quick)
        for i in range(n_rec)
        for snr in (SNRS[:1] if quick else SNRS)
    ]
    result = BenchResult(
        task="denoise_multichannel",
        quick=quick,
        seed=seed,
        description="ocular artifacts spread over 32-channel EEG: ICA, ASR, ours",
        columns=["cc", "rrmse_t", "rrmse_s", "n_cases"],
    )
    for name, kind, fn, source in METHODS:
        row = run_method(
            name,
            lambda fn=fn: [fn(c) for c in cases],
            lambda outs: {
                **{
                    k: float(np.mean([_score(c, o)[k] for c, o in zip(cases, outs, strict=True)]))
                    for k in ("cc", "rrmse_t", "rrmse_s")
                },
                "n_cases": len(cases),
            },
            kind=kind,
            source=source,
            debug=debug,
        )
        result.rows.append(row)
    result.notes.append(
        f"{n_rec} simulated 32-channel recordings (held-out seeds from {SEED_OFFSET + seed}) x "
        f"SNR {', '.join(f'{s:g}' for s in SNRS)} dB at the most frontal channel; scores over "
        f"the {N_FRONT} most frontal channels."
    )
    return result
