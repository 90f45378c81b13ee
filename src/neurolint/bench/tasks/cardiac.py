"""Task ``cardiac``: heartbeat (ECG) artifacts removed from EEG, by epoch and by recording.

Epochs (the EEGdenoiseNet protocol with a cardiac artifact): the *test* split's clean EEG
epochs of :func:`neurolint.simulate.simulate_semisynthetic` on ``eeglab_data.set`` (real
EEG, the recording's last fifth), each mixed with heartbeats from the simulator's own model
(its single PQRST shape at 50-90 bpm with heart-rate variability, random phase and
polarity; seeds of this task only) at the 10 SNRs -7..2 dB. The remover trained on other
heartbeat epochs (varied shapes, 45-120 bpm) and on the train split's EEG only.

Recordings (what ``fix()`` does): held-out simulator seeds ``10_000 + seed + i`` (32
channels at 256 Hz, 64 at 256 Hz, 64 at 500 Hz; 5 minutes each) with ECG episodes only
(one a minute on average, 3-15 µV), so that input - truth is the heartbeat alone; the
simulator's artifact-free EEG is the truth. Metrics over the true ECG episodes and their
logged channels:

- ``artifact_left``: energy of (output - truth) over that of (input - truth): 1 is
  untouched, 0 is perfect;
- ``changed_elsewhere``: energy of (output - input) where no true ECG episode lies, over
  the input's energy there (what acting on false findings costs);
- ``episodes``: true ECG episodes.

Methods: the remover under ``check()``'s ECG findings (what a user gets) and under the true
episodes (the remover's own quality, with detection out of the way); and two classical
methods given oracle beat times that a recording without an ECG channel does not have:
MNE ICA with ``find_bads_ecg`` on an ECG channel built from the true beats, and average
artifact subtraction (AAS: per channel and episode, the mean of the beat-locked epochs
subtracted at every beat).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..harness import BenchResult, run_method
from ._held_out import checked_suite, score_on_suite

__all__ = ["heartbeat_epochs", "run"]

SOURCE = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "eeg" / "eeglab_data.set"
SNRS = np.linspace(-7.0, 2.0, 10)
SFREQ = 256.0
#: AAS template span around each R peak, in seconds (the simulator's beat spans -0.25..0.45).
AAS_SPAN = (-0.3, 0.5)
#: ECG episodes per minute in the recordings (the simulator's default is 0.3).
ECG_RATE = {"ecg": 1.0}


def heartbeat_epochs(rng: np.random.Generator, size: int, n: int = 512) -> np.ndarray:
    """``size`` unit-RMS epochs of the simulator's heartbeats (random phase and polarity)."""
    from ...simulate._heartbeat import heartbeat_epoch

    out = np.empty((size, n), dtype=np.float32)
    for i in range(size):
        wave = heartbeat_epoch(rng, n, SFREQ, rng.uniform(50, 90)) * rng.choice([-1.0, 1.0])
        out[i] = wave / (np.sqrt(np.mean(wave**2)) + 1e-30)
    return out


def _epoch_rows(quick: bool, seed: int, debug: bool) -> list:
    from ...correct.artifacts import denoise_epochs
    from ...simulate import simulate_semisynthetic
    from .denoise import _score

    data = simulate_semisynthetic(str(SOURCE.resolve()), seed=seed).data
    test = data.test
    _, first = np.unique(np.asarray(test.clean_index), return_index=True)
    clean = np.asarray(test.clean)[first].astype(np.float64)
    if quick:
        clean = clean[:20]
    rng = np.random.default_rng([seed, 2026, 11])
    cleans, noisies = [], []
    for snr in SNRS:
        art = heartbeat_epochs(rng, len(clean))
        rms = np.sqrt(np.mean(clean**2, axis=1, keepdims=True))
        noisies.append(clean + rms / 10 ** (snr / 10) * art)
        cleans.append(clean)
    clean_all, noisy_all = np.concatenate(cleans), np.concatenate(noisies)

    def score(out):
        return {"level": "epochs", **_score(clean_all, out), "n": len(clean_all)}

    return [
        run_method(
            "no correction [epochs]",
            lambda: noisy_all,
            score,
            kind="baseline",
            source="the noisy input",
            debug=debug,
        ),
        run_method(
            "neurolint remover [epochs]",
            lambda: denoise_epochs(noisy_all.astype(np.float32)),
            score,
            kind="ours",
            source="eeg-remover 1D U-Net (shipped weights)",
            debug=debug,
        ),
    ]


def _suite(quick: bool, seed: int) -> list:
    return checked_suite(quick, seed, artifacts=("ecg",), rates=ECG_RATE)


def _remover(sim, qc) -> np.ndarray:
    from ...correct import fix

    out, _ = fix(sim.data, qc, steps="artifacts", options={"artifacts": {"kinds": ("ecg",)}})
    return out.get_data()


def _true_episodes(sim) -> SimpleNamespace:
    return SimpleNamespace(events=list(sim.truth.events_of("ecg")), bad_channels=[])


def _aas(sim, _qc) -> np.ndarray:
    """Average artifact subtraction at the true R peaks, per channel and episode.

    As in FASTR-style AAS, the template is averaged from the 1 Hz high-passed signal (slow
    EEG drifts would not average out over a few dozen beats) and subtracted from the
    original.
    """
    from scipy.signal import butter, sosfiltfilt

    x = np.nan_to_num(sim.data.get_data().astype(np.float64))
    out = x.copy()
    sfreq = sim.data.sampling_rate
    hp = sosfiltfilt(butter(2, 1.0, "highpass", fs=sfreq, output="sos"), x, axis=1)
    peaks = np.asarray(sim.truth.arrays["ecg_r_peaks"], dtype=np.int64)
    lo, hi = round(AAS_SPAN[0] * sfreq), round(AAS_SPAN[1] * sfreq)
    for e in sim.truth.events_of("ecg"):
        a, z = round(e.onset * sfreq), round(e.offset * sfreq)
        beats = peaks[(peaks + lo >= max(a, 0)) & (peaks + hi <= min(z, x.shape[1]))]
        if len(beats) < 2:
            continue
        idx = beats[:, None] + np.arange(lo, hi)[None]  # (beats, span)
        template = hp[:, idx].mean(axis=1)  # (channels, span): the EEG averages out
        for b in beats:
            out[:, b + lo : b + hi] -= template
    return out


def _ica(sim, _qc) -> np.ndarray:
    """MNE ICA with an ECG channel built from the true beats; ECG components removed.

    The usual pipeline when an ECG channel was recorded; here the channel is the
    simulator's beat train (impulses at the true R peaks shaped by its PQRST wave), so it
    is an oracle ECG. ICA is fitted after a 1 Hz high-pass on 20 components and
    ``find_bads_ecg`` picks the components (correlation method).
    """
    import warnings

    import mne
    from sklearn.exceptions import ConvergenceWarning

    from ...simulate._heartbeat import beat_train

    ts = sim.data
    sfreq = ts.sampling_rate
    raw = ts.to_mne(copy_data=True)
    raw._data = np.nan_to_num(raw._data)
    ecg = beat_train(sim.truth.arrays["ecg_r_peaks"], ts.n_times, sfreq) * 1e-3
    info = mne.create_info(["ECG"], sfreq, ["ecg"])
    raw.add_channels([mne.io.RawArray(ecg[None], info, verbose="error")], force_update_info=True)
    fit_raw = raw.copy().filter(1.0, None, verbose="error")
    ica = mne.preprocessing.ICA(n_components=20, rng=0, max_iter="auto")
    with warnings.catch_warnings():
        # FastICA may stop short of convergence on a recording without strong sources.
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(fit_raw, picks="eeg", verbose="error")
    bads, _ = ica.find_bads_ecg(raw, ch_name="ECG", method="correlation", verbose="error")
    ica.exclude = bads
    return ica.apply(raw.copy(), verbose="error").get_data(picks="eeg")


def _score(cases, outputs) -> dict:
    left_num = left_den = 0.0
    moved = base = 0.0
    episodes = 0
    for (sim, _), y in zip(cases, outputs, strict=True):
        x = np.nan_to_num(sim.data.get_data().astype(np.float64))
        clean = np.nan_to_num(sim.truth.clean.get_data().astype(np.float64))
        y = np.nan_to_num(np.asarray(y, dtype=np.float64))
        sfreq = sim.data.sampling_rate
        names = list(sim.data.ch_names)
        inside = np.zeros(x.shape[1], bool)
        for e in sim.truth.events_of("ecg"):
            a, z = round(e.onset * sfreq), round(e.offset * sfreq)
            rows = [names.index(c) for c in e.channels] or list(range(len(names)))
            left_num += float(np.sum((y[rows, a:z] - clean[rows, a:z]) ** 2))
            left_den += float(np.sum((x[rows, a:z] - clean[rows, a:z]) ** 2))
            inside[max(0, a) : z] = True
            episodes += 1
        moved += float(np.sum((y[:, ~inside] - x[:, ~inside]) ** 2))
        base += float(np.sum(x[:, ~inside] ** 2))
    return {
        "level": "recordings",
        "artifact_left": left_num / max(left_den, 1e-30),
        "changed_elsewhere": moved / max(base, 1e-30),
        "n": episodes,
    }


def run(quick: bool = False, seed: int = 0, *, debug: bool = False) -> BenchResult:
    """Score cardiac artifact removal on test epochs and on held-out simulated recordings."""
    result = BenchResult(
        task="cardiac",
        quick=quick,
        seed=seed,
        description="heartbeat artifact removal: test-split epochs and simulated recordings",
        columns=["level", "cc", "rrmse_t", "rrmse_s", "artifact_left", "changed_elsewhere", "n"],
    )
    if SOURCE.resolve().is_file():
        result.rows += _epoch_rows(quick, seed, debug)
    else:
        result.notes.append(f"epoch rows skipped: {SOURCE.resolve()} is absent (shared data).")
    cases = _suite(quick, seed)
    methods = [
        (
            "neurolint remover, check() findings [recordings]",
            "ours",
            _remover,
            "fix(steps='artifacts', kinds=('ecg',)) under check()'s ECG findings",
        ),
        (
            "neurolint remover, true episodes [recordings]",
            "ours",
            lambda sim, qc: _remover(sim, _true_episodes(sim)),
            "the same step under the simulator's ECG episodes (oracle locations)",
        ),
        (
            "mne.ICA + find_bads_ecg, true ECG [recordings]",
            "baseline",
            _ica,
            "MNE ICA (20 components after a 1 Hz high-pass) with an oracle ECG channel "
            "from the true beats; ECG-correlated components removed",
        ),
        (
            "AAS, true R peaks [recordings]",
            "baseline",
            _aas,
            "average artifact subtraction per channel and episode at the true beat times "
            "(oracle timing)",
        ),
    ]
    result.rows += score_on_suite(cases, methods, _score, debug=debug)
    result.notes.append(
        f"Epochs: test-split clean EEG x {len(SNRS)} SNRs ({SNRS[0]:g}..{SNRS[-1]:g} dB) with "
        "the simulator's heartbeats. Recordings: "
        f"{len(cases)} held-out simulated recording(s); artifact_left: cardiac energy left "
        "in the true episodes (1 = untouched); changed_elsewhere: change outside them."
    )
    return result
