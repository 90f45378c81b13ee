"""Extracellular recordings with known spikes and logged artifacts, from tetrode to Neuropixels.

Units, templates and probe geometry come from SpikeInterface's ground-truth generator
(:func:`spikeinterface.core.generate_templates`, probeinterface layouts); noise, spike
injection and artifacts are written here with numpy, in place and channels-first, so a
384-channel, 10 s recording takes a few seconds.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..core.channels import ChannelInfo
from ..core.errors import ParameterError
from ..core.findings import ChannelStatus, Finding
from ..core.timeseries import TimeSeries
from ..core.validate import check_option, check_positive, import_optional
from ._truth import GroundTruth, Simulation

__all__ = ["EPHYS_ARTIFACTS", "EPHYS_PROBES", "ground_truth_sorting", "simulate_ephys"]

#: Artifacts :func:`simulate_ephys` can inject, named by the finding kind they are logged as.
EPHYS_ARTIFACTS = ("line_noise", "pop", "saturation", "flat", "noisy_channel", "movement")

#: Probe presets: ``linear<N>`` is any single-column probe of N contacts 25 µm apart.
EPHYS_PROBES = ("tetrode", "linear16", "linear32", "linear64", "neuropixels")

# Template window around the trough (SpikeInterface's generator needs >= 3 ms after it).
_MS_BEFORE, _MS_AFTER = 1.0, 3.0
# Share of the noise variance common to neighbouring contacts (distant units, shared reference):
# without it every channel is independent and neighbour-similarity bad-channel detectors,
# which real data supports, would have nothing to work with.
_CORRELATED_SHARE = 0.3
_CORRELATION_LENGTH_UM = 40.0
_REFRACTORY_S = 0.002
# Spikes of one unit vary a little in amplitude (bursts, drift): multiplicative jitter, 5 %.
_AMPLITUDE_JITTER = 0.05
# Contributions below this fraction of a unit's peak are left out (and zeroed in the truth).
_TEMPLATE_SPARSITY = 0.01
# Channels per block of noise generated on its own thread (fixed, so output is reproducible).
_NOISE_BLOCK = 32


def _probe_layout(probe: str, n_channels: int | None) -> np.ndarray:
    """Contact positions in micrometres, ``(n_channels, 2)`` (x across, y along the shank)."""
    pi = import_optional("probeinterface", "ephys")
    if probe == "tetrode":
        if n_channels not in (None, 4):
            raise ParameterError(
                f"n_channels={n_channels} does not fit probe='tetrode' (4 wires); leave n_channels "
                "unset or use a 'linear' or 'neuropixels' probe."
            )
        return np.asarray(pi.generate_tetrode(r=10.0).contact_positions, dtype=float)
    if probe == "neuropixels":
        n = 384 if n_channels is None else n_channels
        if not 1 <= n <= 960:
            raise ParameterError(
                f"n_channels={n} does not fit a Neuropixels 1.0 shank (960 sites); use 1 to 960."
            )
        # Neuropixels 1.0 checkerboard (NP1000 bank 0 and up): two sites per 20 µm row,
        # columns at x = 16, 48, 0, 32 µm repeating every two rows.
        i = np.arange(n)
        x = np.array([16.0, 48.0, 0.0, 32.0])[i % 4]
        return np.column_stack([x, 20.0 * (i // 2)])
    n = int(probe[len("linear") :]) if n_channels is None else n_channels
    if n < 1:
        raise ParameterError(f"n_channels={n} must be at least 1.")
    return np.asarray(pi.generate_linear_probe(num_elec=n, ypitch=25.0).contact_positions, float)


def _check_probe(probe: str) -> str:
    if isinstance(probe, str) and re.fullmatch(r"linear[1-9][0-9]*", probe):
        return probe
    check_option("probe", probe, EPHYS_PROBES)
    return probe


def _spike_trains(
    rng: np.random.Generator, rates: np.ndarray, n_samples: int, fs: float, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson trains with a dead time, whose mean rate is the requested one."""
    duration = n_samples / fs
    times, labels = [], []
    for unit, rate in enumerate(rates):
        # Dead-time Poisson: ISI = refractory + exponential; the exponential's rate is raised
        # so that the mean rate stays ``rate``.
        boosted = rate / (1.0 - rate * _REFRACTORY_S)
        expected = rate * duration
        n_draw = int(expected + 6.0 * math.sqrt(expected) + 10)
        isi = rng.exponential(1.0 / boosted, n_draw)
        isi[1:] += _REFRACTORY_S
        t = np.cumsum(isi)
        while t[-1] < duration:  # rare: draw more until the recording is covered
            more = rng.exponential(1.0 / boosted, n_draw) + _REFRACTORY_S
            t = np.concatenate([t, t[-1] + np.cumsum(more)])
        samples = np.round(t[t < duration] * fs).astype(np.int64)
        samples = samples[(samples >= lo) & (samples < hi)]
        times.append(samples)
        labels.append(np.full(samples.size, unit, dtype=np.int64))
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    times_all, labels_all = np.concatenate(times), np.concatenate(labels)
    order = np.argsort(times_all, kind="stable")
    return times_all[order], labels_all[order]


def _noise(
    rng: np.random.Generator, positions_um: np.ndarray, n_samples: int, level: float
) -> np.ndarray:
    """White noise of std ``level``, part independent per channel and part shared nearby."""
    n_ch = len(positions_um)
    out = np.empty((n_ch, n_samples), dtype=np.float32)
    blocks = [slice(s, min(s + _NOISE_BLOCK, n_ch)) for s in range(0, n_ch, _NOISE_BLOCK)]
    children = [np.random.default_rng(int(s)) for s in rng.integers(2**63, size=len(blocks))]
    independent = np.float32(level * math.sqrt(1.0 - _CORRELATED_SHARE))

    def fill(k: int) -> None:
        # Each block has its own generator, so threads change speed, never values.
        children[k].standard_normal(out=out[blocks[k]], dtype=np.float32)
        out[blocks[k]] *= independent

    with ThreadPoolExecutor(min(4, len(blocks))) as pool:
        list(pool.map(fill, range(len(blocks))))

    # Shared part: latent sources every 40 µm along the shank, blurred onto the contacts with
    # a Gaussian kernel; rows normalised so that each channel gets the same shared variance.
    y = positions_um[:, 1]
    centre_x = float(np.mean(positions_um[:, 0]))
    src_y = np.arange(y.min() - _CORRELATION_LENGTH_UM, y.max() + 2 * _CORRELATION_LENGTH_UM, 40.0)
    src = np.column_stack([np.full(src_y.size, centre_x), src_y])
    dist = np.linalg.norm(positions_um[:, None] - src[None], axis=-1)
    mixing = np.exp(-0.5 * (dist / _CORRELATION_LENGTH_UM) ** 2)
    mixing *= level * math.sqrt(_CORRELATED_SHARE) / np.linalg.norm(mixing, axis=1, keepdims=True)
    mixing = mixing.astype(np.float32)
    chunk = 65536
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        latent = rng.standard_normal((src.shape[0], stop - start), dtype=np.float32)
        out[:, start:stop] += mixing @ latent
    return out


def _templates(
    rng: np.random.Generator, positions_um: np.ndarray, n_units: int, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """SpikeInterface templates ``(n_units, n_samples, n_channels)`` in µV and unit locations."""
    generate = import_optional("spikeinterface.core.generate", "ephys")
    seed = int(rng.integers(2**31))
    margin = 20.0
    with warnings.catch_warnings():
        # On small probes the 20 µm spacing between units cannot always be met; the generator
        # warns and keeps the best placement, which is what we want.
        warnings.simplefilter("ignore")
        locations = generate.generate_unit_locations(
            n_units,
            positions_um,
            margin_um=margin,
            minimum_z=5.0,
            maximum_z=40.0,
            minimum_distance=min(20.0, 50.0 / max(1.0, math.sqrt(n_units))),
            seed=seed,
        )
    templates = generate.generate_templates(
        positions_um, locations, fs, _MS_BEFORE, _MS_AFTER, seed=seed, dtype="float32"
    )
    return np.ascontiguousarray(templates), np.asarray(locations, dtype=float)


def _inject_spikes(
    data: np.ndarray,
    templates: np.ndarray,
    times: np.ndarray,
    labels: np.ndarray,
    scale: np.ndarray,
    nbefore: int,
) -> None:
    """Add every spike's scaled template to ``data`` in place (sparse channels per unit)."""
    n_samples = data.shape[1]
    flat = data.reshape(-1)
    offsets = np.arange(templates.shape[1], dtype=np.int64) - nbefore
    for unit in range(templates.shape[0]):
        sel = labels == unit
        if not sel.any():
            continue
        tpl = templates[unit]  # (n_t, n_ch)
        chans = np.flatnonzero(np.abs(tpl).max(axis=0) > 0)
        base = chans[:, None, None] * n_samples + times[sel][None, :, None] + offsets
        values = tpl[:, chans].T[:, None, :] * scale[sel][None, :, None]
        # add.at: two spikes of one unit may overlap (ISI < template length).
        np.add.at(flat, base.reshape(-1), values.reshape(-1).astype(np.float32))


def _schedule(
    rng: np.random.Generator, kinds: list[str], n_samples: int
) -> list[tuple[str, int, int]]:
    """Non-overlapping slots ``(kind, start, length_cap)`` for timed artifacts, shuffled."""
    if not kinds:
        return []
    order = rng.permutation(len(kinds))
    slot = n_samples // len(kinds)
    out = []
    for k, i in enumerate(order):
        out.append((kinds[i], k * slot, slot))
    return out


def _finding(
    kind: str, start: int, length: int, fs: float, channels: Sequence[str] = (), **extras: Any
) -> Finding:
    return Finding(
        onset=start / fs,
        duration=length / fs,
        kind=kind,
        channels=tuple(channels),
        detector="simulator",
        extras={
            k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in extras.items()
        },
    )


def simulate_ephys(
    probe: str = "linear32",
    duration: float = 10.0,
    sampling_rate: float = 30000.0,
    *,
    n_channels: int | None = None,
    n_units: int | None = None,
    firing_rate: float | tuple[float, float] = (1.0, 15.0),
    noise_level: float = 8.0,
    artifacts: Sequence[str] | str | None = "all",
    line_freq: float | None = None,
    seed: int = 0,
) -> Simulation:
    """Simulate an extracellular recording with ground-truth spikes and logged artifacts.

    Units are placed around the probe and given SpikeInterface's templates (a trough then a
    slow repolarisation, decaying with distance, with a small propagation delay). They fire as
    Poisson processes with a 2 ms dead time, each spike scaled by 1 ± 5 %. Noise is white,
    70 % of its variance independent per channel and 30 % shared by contacts within ~40 µm.
    Artifacts are then added to a copy, each in realistic random ranges:

    - ``"line_noise"``: 50 or 60 Hz and harmonics, 5-30 µV, on every channel (gain 0.5-1.5).
    - ``"pop"``: one channel steps by 200-1000 µV and decays exponentially (tau 5-50 ms).
    - ``"saturation"``: a 50-300 ms transient drives every channel into the amplifier range
      (600-1500 µV), where it is clipped.
    - ``"flat"``: dead channels, replaced by a constant with 1 % of the noise.
    - ``"noisy_channel"``: channels with 2-5 times the noise level added.
    - ``"movement"``: a 50-400 ms biphasic transient of 100-500 µV on a contiguous block of
      half to all of the channels, with a gain gradient along the shank.

    Parameters
    ----------
    probe : str
        ``"tetrode"`` (4 wires), ``"linear16"``, ``"linear32"``, ``"linear64"`` (or any
        ``"linear<N>"``: one column, 25 µm pitch) or ``"neuropixels"`` (Neuropixels 1.0
        checkerboard, 384 sites). default: ``"linear32"``.
    duration : float
        Seconds. default: 10.
    sampling_rate : float
        Hz. default: 30000.
    n_channels : int | None
        Contacts of a linear or Neuropixels probe (the first ``n_channels`` sites from the
        tip). default: ``None`` (the preset's count).
    n_units : int | None
        Units around the probe. default: ``None`` (a quarter of the channels, at least 3).
    firing_rate : float | tuple of float
        Mean rate of every unit in Hz, or a ``(low, high)`` range each unit's rate is drawn
        from (log-uniform). default: ``(1.0, 15.0)``.
    noise_level : float
        Standard deviation of the background noise in µV. default: 8.
    artifacts : sequence of str | str | None
        Artifacts to inject, from ``"line_noise"``, ``"pop"``, ``"saturation"``, ``"flat"``,
        ``"noisy_channel"``, ``"movement"`` (a list or a comma-separated string); ``None`` or
        ``()`` for none. default: ``"all"``.
    line_freq : float | None
        Mains frequency in Hz. default: ``None`` (50 or 60, drawn).
    seed : int
        Random seed; the same seed gives bit-identical data and truth. default: 0.

    Returns
    -------
    Simulation
        ``data``: a :class:`TimeSeries` in µV (float32, type ``ephys``, positions in metres).
        ``truth``: :class:`GroundTruth` with events (``line_noise``, ``pop``, ``saturation``,
        ``movement``), one :class:`ChannelStatus` per channel (``flat`` and
        ``noisy_channel`` ones bad), ``clean`` (the same recording without artifacts),
        arrays ``spike_times`` (samples of the trough, int64), ``spike_labels`` (unit
        index), ``spike_amplitudes`` (scale of each spike), ``unit_peak_channel``,
        ``unit_locations`` (metres, ``(n_units, 3)``) and ``templates`` (µV,
        ``(n_units, n_template_samples, n_channels)``, trough at ``template_nbefore``), and
        extras (rates, noise level, per-unit peak amplitude and SNR).
    """
    params = {
        "probe": probe,
        "duration": duration,
        "sampling_rate": sampling_rate,
        "n_channels": n_channels,
        "n_units": n_units,
        "firing_rate": list(firing_rate) if isinstance(firing_rate, (tuple, list)) else firing_rate,
        "noise_level": noise_level,
        "artifacts": _as_kinds(artifacts),
        "line_freq": line_freq,
        "seed": seed,
    }
    probe = _check_probe(probe)
    fs = check_positive("sampling_rate", sampling_rate)
    if fs < 5000:
        raise ParameterError(
            f"sampling_rate={sampling_rate} Hz is too low for spikes; use at least 5000 Hz "
            "(30000 is typical)."
        )
    n_samples = round(check_positive("duration", duration) * fs)
    noise = check_positive("noise_level", noise_level, allow_zero=True)
    kinds = params["artifacts"]
    for kind in kinds:
        check_option("artifacts", kind, EPHYS_ARTIFACTS)
    if n_channels is not None:
        n_channels = _check_count("n_channels", n_channels, minimum=1)
    positions_um = _probe_layout(probe, n_channels)
    n_ch = len(positions_um)
    n_units = max(3, n_ch // 4) if n_units is None else _check_count("n_units", n_units, 0)
    nbefore = round(_MS_BEFORE * fs / 1000)
    nafter = round(_MS_AFTER * fs / 1000)
    if n_samples < 2 * (nbefore + nafter) or duration < 0.1:
        raise ParameterError(f"duration={duration} s is too short; simulate at least 0.1 s.")
    if line_freq is not None and not 0 < check_positive("line_freq", line_freq) < fs / 2:
        raise ParameterError(f"line_freq={line_freq} Hz must lie below Nyquist ({fs / 2:g} Hz).")

    rng = np.random.default_rng(seed)
    rates = _unit_rates(rng, firing_rate, n_units)

    # -- clean recording: noise + spikes ---------------------------------------------------------
    clean = _noise(rng, positions_um, n_samples, noise)
    noise_std = float(np.std(clean[:, ::16], dtype=np.float64)) if noise > 0 else 0.0
    if n_units:
        templates, locations = _templates(rng, positions_um, n_units, fs)
        # Keep the generator's (n_units, n_t, n_ch) layout (SpikeInterface's Templates); zero
        # the far channels that are not injected, so the truth is exactly what was added.
        peak = np.abs(templates).max(axis=1)  # (n_units, n_ch)
        keep = peak >= _TEMPLATE_SPARSITY * peak.max(axis=1, keepdims=True)
        templates *= keep[:, None, :]
        peak_channel = np.argmax(np.abs(templates).max(axis=1), axis=1).astype(np.int64)
        peak_amp = np.abs(templates).max(axis=(1, 2)).astype(float)
    else:
        n_t = nbefore + nafter
        templates = np.zeros((0, n_t, n_ch), np.float32)
        locations = np.zeros((0, 3))
        peak_channel = np.zeros(0, np.int64)
        peak_amp = np.zeros(0)
    times, labels = _spike_trains(rng, rates, n_samples, fs, nbefore, n_samples - nafter)
    scale = (1.0 + _AMPLITUDE_JITTER * rng.standard_normal(times.size)).astype(np.float32)
    _inject_spikes(clean, templates, times, labels, scale, nbefore)

    # -- artifacts on a copy ---------------------------------------------------------------------
    names = [f"ch{i:03d}" for i in range(n_ch)]
    data = clean.copy()
    events: list[Finding] = []
    reasons: dict[int, list[str]] = {}
    scores: dict[int, dict[str, float]] = {}
    noise_ref = max(noise, 1.0)

    n_dead = int(rng.integers(1, max(1, round(0.01 * n_ch)) + 1)) if "flat" in kinds else 0
    n_noisy = (
        int(rng.integers(1, max(1, round(0.01 * n_ch)) + 1)) if "noisy_channel" in kinds else 0
    )
    if n_dead + n_noisy >= n_ch:  # keep at least one working channel
        n_dead, n_noisy = min(n_dead, max(n_ch - 1, 0)), 0
    chosen = rng.choice(n_ch, n_dead + n_noisy, replace=False)
    dead, noisy = np.sort(chosen[:n_dead]), np.sort(chosen[n_dead:])
    alive = np.setdiff1d(np.arange(n_ch), dead)

    if "line_noise" in kinds:
        f0 = float(line_freq) if line_freq is not None else float(rng.choice([50.0, 60.0]))
        harmonics = [h * f0 for h in (1, 2, 3) if h * f0 < fs / 2]
        amp = float(np.exp(rng.uniform(np.log(5.0), np.log(30.0))))
        t = np.arange(n_samples) / fs
        wave = np.zeros(n_samples)
        for h, f in enumerate(harmonics):
            wave += (
                amp
                * rng.uniform(0.2, 0.5) ** h
                * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
            )
        gain = rng.uniform(0.5, 1.5, n_ch).astype(np.float32)
        data += gain[:, None] * wave.astype(np.float32)[None, :]
        events.append(
            _finding(
                "line_noise", 0, n_samples, fs, frequency=f0, harmonics=harmonics, amplitude=amp
            )
        )

    timed: list[str] = []
    if "pop" in kinds:
        timed += ["pop"] * int(rng.integers(1, 2 + int(duration // 5)))
    if "movement" in kinds:
        timed += ["movement"] * int(rng.integers(1, 2 + int(duration // 10)))
    if "saturation" in kinds:
        timed += ["saturation"] * (1 + int(duration // 30))
    # Pops and movements go in first, saturation clips what is there, dead channels come last.
    slots = sorted(_schedule(rng, timed, n_samples), key=lambda s: s[0] == "saturation")
    for kind, slot_start, slot_len in slots:
        if kind == "pop":
            tau = min(rng.uniform(0.005, 0.05), 0.9 * slot_len / fs / np.log(1000.0))
            length = max(1, round(np.log(1000.0) * tau * fs))  # down to 0.1 % of the step
            start = slot_start + int(rng.integers(0, slot_len - length + 1))
            ch = int(rng.choice(alive))
            amp = float(rng.uniform(200.0, 1000.0) * rng.choice([-1.0, 1.0]))
            decay = amp * np.exp(-np.arange(length) / (tau * fs))
            data[ch, start : start + length] += decay.astype(np.float32)
            events.append(_finding("pop", start, length, fs, [names[ch]], amplitude=amp, tau=tau))
        elif kind == "movement":
            length = min(round(rng.uniform(0.05, 0.4) * fs), slot_len)
            start = slot_start + int(rng.integers(0, slot_len - length + 1))
            amp = float(rng.uniform(100.0, 500.0) * rng.choice([-1.0, 1.0]))
            u = np.linspace(-3.0, 3.0, length)
            shape = amp * u * np.exp(0.5 - 0.5 * u**2)  # derivative of a Gaussian, peak = amp
            order = np.argsort(positions_um[:, 1], kind="stable")
            span = n_ch if n_ch <= 8 else int(rng.integers(n_ch // 2, n_ch + 1))
            first = int(rng.integers(0, n_ch - span + 1))
            block = np.sort(order[first : first + span])
            gain = np.linspace(rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0), span)
            gain = gain[np.argsort(np.argsort(positions_um[block, 1], kind="stable"))]
            data[block, start : start + length] += (gain[:, None] * shape[None, :]).astype(
                np.float32
            )
            where = () if span == n_ch else [names[c] for c in block]
            events.append(_finding("movement", start, length, fs, where, amplitude=amp))
        else:  # saturation
            length = min(round(rng.uniform(0.05, 0.3) * fs), slot_len)
            start = slot_start + int(rng.integers(0, slot_len - length + 1))
            rail = float(rng.uniform(600.0, 1500.0))
            drive = rng.uniform(1.5, 3.0) * rail * rng.choice([-1.0, 1.0])
            ramp = max(1, min(round(0.005 * fs), length // 4))
            window = np.ones(length)
            window[:ramp] = np.sin(0.5 * np.pi * np.arange(ramp) / ramp) ** 2
            window[length - ramp :] = window[:ramp][::-1]
            if n_noisy:  # noisy channels are noisy before the amplifier clips them
                _add_noisy(rng, data, noisy, noise_ref, reasons, scores)
                n_noisy = 0
            seg = data[:, start : start + length]
            gain = rng.uniform(0.8, 1.2, n_ch)[:, None]
            seg += (gain * drive * window[None, :]).astype(np.float32)
            np.clip(seg, -rail, rail, out=seg)
            clipped = float(np.mean(np.abs(seg) >= rail))
            events.append(
                _finding("saturation", start, length, fs, range=rail, clipped_fraction=clipped)
            )
    if n_noisy:
        _add_noisy(rng, data, noisy, noise_ref, reasons, scores)
    for ch in dead:
        level = np.float32(0.01 * noise_ref)
        data[ch] = rng.uniform(-20.0, 20.0) + level * rng.standard_normal(n_samples, np.float32)
        reasons.setdefault(int(ch), []).append("flat")
    events.sort(key=lambda e: (e.onset, e.kind))

    # -- packaging -------------------------------------------------------------------------------
    positions = np.column_stack([positions_um * 1e-6, np.zeros(n_ch)])
    info = ChannelInfo(names, "ephys", "uV", positions)
    meta = {"simulated": "ephys", "seed": seed, "probe": probe}
    statuses = [
        ChannelStatus(
            name=names[c],
            type="ephys",
            status="bad" if c in reasons else "good",
            reasons=tuple(reasons.get(c, ())),
            scores=scores.get(c, {}),
        )
        for c in range(n_ch)
    ]
    counts = np.bincount(labels, minlength=n_units)
    snr = peak_amp / noise if noise > 0 else np.full(n_units, np.inf)
    truth = GroundTruth(
        simulator="ephys",
        params=params,
        events=events,
        channels=statuses,
        clean=TimeSeries(clean, fs, info, modality="ephys", meta=dict(meta, clean=True)),
        arrays={
            "spike_times": times,
            "spike_labels": labels,
            "spike_amplitudes": scale,
            "unit_peak_channel": peak_channel,
            "unit_locations": np.asarray(locations, float) * 1e-6,
            "templates": templates,
        },
        extras={
            "probe": probe,
            "n_channels": n_ch,
            "n_units": n_units,
            "n_spikes": int(times.size),
            "firing_rates": rates.tolist(),
            "achieved_firing_rates": (counts / (n_samples / fs)).tolist(),
            "noise_level": noise,
            "achieved_noise_std": noise_std,
            "unit_peak_amplitude": peak_amp.tolist(),
            "unit_snr": snr.tolist(),
            "template_nbefore": nbefore,
            "units": "uV",
        },
    )
    return Simulation(TimeSeries(data, fs, info, modality="ephys", meta=meta), truth)


def _add_noisy(
    rng: np.random.Generator,
    data: np.ndarray,
    channels: np.ndarray,
    noise_ref: float,
    reasons: dict[int, list[str]],
    scores: dict[int, dict[str, float]],
) -> None:
    for ch in channels:
        factor = float(rng.uniform(2.0, 5.0))
        data[ch] += np.float32(factor * noise_ref) * rng.standard_normal(
            data.shape[1], dtype=np.float32
        )
        reasons.setdefault(int(ch), []).append("noisy_channel")
        scores[int(ch)] = {"added_noise_std": factor * noise_ref}


def _as_kinds(artifacts: Sequence[str] | str | None) -> list[str]:
    if artifacts is None:
        return []
    if isinstance(artifacts, str):
        if artifacts == "all":
            return list(EPHYS_ARTIFACTS)
        return [a.strip() for a in artifacts.split(",") if a.strip()]
    return [str(a) for a in artifacts]


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name}={value!r} must be an integer >= {minimum}.")
    return int(value)


def _unit_rates(
    rng: np.random.Generator, firing_rate: float | tuple[float, float], n_units: int
) -> np.ndarray:
    if isinstance(firing_rate, (tuple, list)):
        if len(firing_rate) != 2:
            raise ParameterError(
                f"firing_rate={firing_rate!r} must be one rate or a (low, high) range in Hz."
            )
        low = check_positive("firing_rate[0]", firing_rate[0])
        high = check_positive("firing_rate[1]", firing_rate[1])
        if high < low:
            raise ParameterError(f"firing_rate={firing_rate!r}: give the range as (low, high).")
        rates = np.exp(rng.uniform(np.log(low), np.log(high), n_units))
    else:
        rates = np.full(n_units, check_positive("firing_rate", firing_rate))
    if rates.size and rates.max() * _REFRACTORY_S >= 0.5:
        raise ParameterError(
            f"firing_rate up to {rates.max():g} Hz is too high for a 2 ms refractory period; "
            "use at most 250 Hz."
        )
    return rates


def ground_truth_sorting(truth: GroundTruth) -> Any:
    """The true spikes of an :func:`simulate_ephys` run as a SpikeInterface sorting.

    Parameters
    ----------
    truth : GroundTruth
        ``simulate_ephys(...).truth`` (or one loaded with :meth:`GroundTruth.load`).

    Returns
    -------
    spikeinterface.core.NumpySorting
        One segment; unit ids ``"0"``, ``"1"``, ... in the order of ``spike_labels``, with
        properties ``peak_channel`` (index) and ``gt_unit_locations`` (µm), ready for
        :func:`spikeinterface.comparison.compare_sorter_to_ground_truth`.
    """
    si = import_optional("spikeinterface.core", "ephys")
    from spikeinterface.core.base import minimum_spike_dtype

    if "spike_times" not in truth.arrays or "spike_labels" not in truth.arrays:
        raise ParameterError(
            "This ground truth holds no spike trains; pass the truth of simulate_ephys()."
        )
    times = np.asarray(truth.arrays["spike_times"], dtype=np.int64)
    labels = np.asarray(truth.arrays["spike_labels"], dtype=np.int64)
    n_units = int(truth.extras.get("n_units", labels.max() + 1 if labels.size else 0))
    spikes = np.zeros(times.size, dtype=minimum_spike_dtype)
    order = np.lexsort((labels, times))
    spikes["sample_index"] = times[order]
    spikes["unit_index"] = labels[order]
    unit_ids = np.array([str(u) for u in range(n_units)])
    sorting = si.NumpySorting(spikes, float(truth.params["sampling_rate"]), unit_ids)
    if "unit_peak_channel" in truth.arrays and n_units:
        sorting.set_property("peak_channel", np.asarray(truth.arrays["unit_peak_channel"]))
    if "unit_locations" in truth.arrays and n_units:
        sorting.set_property("gt_unit_locations", np.asarray(truth.arrays["unit_locations"]) * 1e6)
    return sorting
