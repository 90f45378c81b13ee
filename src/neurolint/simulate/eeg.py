"""EEG-like background: spatially correlated 1/f noise with posterior alpha, on a real montage."""

from __future__ import annotations

import numpy as np

from ..core.channels import ChannelInfo
from ..core.timeseries import TimeSeries
from ..core.validate import check_positive

__all__ = ["simulate_eeg"]


def _montage_positions(n_channels: int) -> tuple[list[str], np.ndarray]:
    """``n_channels`` electrodes of MNE's 10-20 template montage, spread over the head."""
    import mne

    # MNE renamed the template montage (1.13); prefer the new name where it exists.
    builtin = mne.channels.get_builtin_montages()
    name = "colin27_1020" if "colin27_1020" in builtin else "standard_1020"
    montage = mne.channels.make_standard_montage(name)
    positions = montage.get_positions()["ch_pos"]
    names = [n for n in montage.ch_names if not n.startswith(("A", "M", "T3", "T4", "T5", "T6"))]
    if n_channels > len(names):
        raise ValueError(f"standard_1020 offers {len(names)} channels; ask for fewer.")
    # Even spacing over the list keeps the whole scalp covered for small counts.
    pick = np.linspace(0, len(names) - 1, n_channels).round().astype(int)
    chosen = [names[i] for i in pick]
    return chosen, np.array([positions[n] for n in chosen])


def simulate_eeg(
    n_channels: int = 32,
    duration: float = 10.0,
    sampling_rate: float = 256.0,
    *,
    seed: int = 0,
    alpha_amplitude: float = 10e-6,
) -> TimeSeries:
    """Simulate artifact-free resting EEG in volts.

    Background: independent 1/f (pink) sources mixed with a spatial kernel that decays with
    electrode distance (so neighbours correlate), about 10 µV RMS. Alpha: a 10 Hz rhythm with
    slowly varying amplitude, strongest over posterior channels.

    Parameters
    ----------
    n_channels : int
        Channels, taken from the standard 10-20 montage. default: 32.
    duration : float
        Seconds. default: 10.
    sampling_rate : float
        Hz. default: 256.
    seed : int
        Random seed; the same seed gives the same data. default: 0.
    alpha_amplitude : float
        Peak alpha amplitude in volts at the most posterior channel. default: 10e-6.

    Returns
    -------
    TimeSeries
        In-memory, channel types ``eeg``, units ``V``, positions in metres.
    """
    sfreq = check_positive("sampling_rate", sampling_rate)
    n = round(check_positive("duration", duration) * sfreq)
    rng = np.random.default_rng(seed)
    names, pos = _montage_positions(int(n_channels))
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    shape = np.zeros_like(freqs)
    shape[1:] = 1.0 / np.sqrt(freqs[1:])  # amplitude ~ f^-1/2, power ~ 1/f
    spectra = rng.standard_normal((n_channels, len(freqs))) + 1j * rng.standard_normal(
        (n_channels, len(freqs))
    )
    sources = np.fft.irfft(spectra * shape, n=n, axis=1)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    mixing = np.exp(-dist / 0.04)
    background = mixing @ sources
    background *= 10e-6 / background.std()
    t = np.arange(n) / sfreq
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 2 * np.pi))
    alpha = np.sin(2 * np.pi * 10.0 * t + rng.uniform(0, 2 * np.pi)) * envelope
    posterior = np.clip((-pos[:, 1] + 0.02) / 0.12, 0, 1)
    data = background + alpha_amplitude * posterior[:, None] * alpha[None]
    info = ChannelInfo(names, "eeg", "V", pos)
    return TimeSeries(data.astype(np.float32), sfreq, info, meta={"simulated": "eeg", "seed": seed})
