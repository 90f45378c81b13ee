"""Line noise: ZapLine (chunked) or notch filters, at 50 or 60 Hz chosen from the data.

ZapLine (de Cheveigné, NeuroImage 2020) splits the data in two with a boxcar of one mains
period: the smooth part has no mains or harmonics; the rest holds them plus high
frequencies. Denoising source separation on the rest finds the few spatial components
whose power is mostly at the mains harmonics; regressing them out of the rest and adding
the smooth part back removes the hum while leaving every other frequency of every channel
untouched. ``meegkit.dss.dss_line`` does this on a whole array in memory; here the two
covariances are accumulated chunk by chunk and the (linear) removal is applied per block,
so memory is bounded by the chunk, and the result matches meegkit's (tested).

One departure, on by default (``comb_periods``): the components' residual is removed only
where it repeats every mains period (a comb over 8 periods a side), not whole. The whole
residual also holds the components' share of everything else: on a simulated 384-channel
probe whose fit saw 8 of 60 s (the work budget), an artifact outside the fitted chunks was
carried onto every channel, and the signal removed besides the hum came to 88% of the
hum's own energy; with the comb, 3% (1/17 of the broadband power passes it).

An integer recording stays within its range (``keep_rails``): samples on its rails
(saturated) are left as recorded, since what was clipped is unknown, and the others are
clipped at the rails, where a value moved past them would make an integer writer rescale
the whole channel. Clipped stretches, and the filters' reach around them, stay out of the
fit, and read as 0 (like gaps) where the hum is estimated (the components' projection, or
the notches' input): their steps, thousands of times the hum, would otherwise set the
components and carry into the samples nearby.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..core.arrays import column_tiles, zero_nonfinite
from ..core.chunks import chunk_samples
from ..core.errors import ParameterError
from ..core.provenance import CorrectionStep
from ..core.timeseries import TimeSeries
from ..core.validate import check_option
from .base import Step

__all__ = ["LineNoiseRemover", "detect_line_freq"]

_PEAK_RATIO = 4.0  # mains peak over its neighbourhood: below this there is no hum to remove
_MIN_SCORE = 0.2  # share of a component's residual power at mains harmonics to count as hum
_WELCH_BYTES = 64 * 2**20  # per spectrum piece: Welch holds a few float64 copies of it
_FIT_BYTES = 256 * 2**20  # ZapLine's fit: chunk cores kept, and the filtering of a group
_FIT_WORK = 5e10  # samples x channels^2 the fit's covariances take at most (an hour of
# 64-channel EEG is 4e9; a 384-channel probe reaches it in 11 s)


def _spectrum(ts: TimeSeries, seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray] | None:
    """Welch power ``(freqs, (n_pieces, n_channels, n_freqs))`` of a few spread-out pieces.

    Of at most 64 channels, evenly spread (only medians over them are used), and pieces
    shorter than ``seconds`` where those would pass 64 MB of float64 (a probe at 30 kHz).
    """
    from scipy.signal import welch

    sfreq = ts.sampling_rate
    rows = np.unique(np.linspace(0, ts.n_channels - 1, min(ts.n_channels, 64)).round().astype(int))
    piece = chunk_samples(seconds, sfreq, len(rows), itemsize=8, max_bytes=_WELCH_BYTES)
    n = min(ts.n_samples, piece)
    nper = min(n, round(4 * sfreq))
    if nper < round(sfreq):
        return None
    count = min(5, max(1, ts.n_samples // max(n, 1)))
    powers = []
    for s in np.linspace(0, ts.n_samples - n, num=count).astype(int):
        x = ts.get_data(s, s + n, channels=rows)
        f, p = welch(_finite(x), sfreq, nperseg=nper, axis=-1)
        powers.append(p)
    return f, np.stack(powers)


def _peak_ratio(spectrum: tuple[np.ndarray, np.ndarray] | None, freq: float) -> float:
    """Median over pieces and channels of the power within ±0.5 Hz of ``freq`` over the
    median power 2-5 Hz away."""
    if spectrum is None:
        return 0.0
    f, p = spectrum
    near = (np.abs(f - freq) >= 2.0) & (np.abs(f - freq) <= 5.0)
    if freq >= f[-1] - 1.0 or not near.any():
        return 0.0
    peak = p[..., np.abs(f - freq) <= 0.5].max(axis=-1)
    return float(np.median(peak / (np.median(p[..., near], axis=-1) + 1e-30)))


def detect_line_freq(ts: TimeSeries) -> float | None:
    """50 or 60 Hz, whichever shows a clear spectral peak (the larger); ``None`` if neither."""
    spectrum = _spectrum(ts)
    ratios = {f: _peak_ratio(spectrum, f) for f in (50.0, 60.0)}
    best = max(ratios, key=ratios.get)
    return best if ratios[best] >= _PEAK_RATIO else None


def _from_findings(qc: Any) -> float | None:
    """The mains frequency of the assessment's ``line_noise`` findings, if it has any.

    Hum that comes and goes (a nearby device switched on for a while) may not show in the
    spectrum of a few sampled minutes, but the assessment found it where it was.
    """
    for event in getattr(qc, "events", []) or []:
        freq = event.extras.get("line_freq") if event.kind == "line_noise" else None
        if freq in (50, 60, 50.0, 60.0):
            return float(freq)
    return None


def _masked(x: np.ndarray, rails=None) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """``x`` with NaN and infinite samples, and those on ``rails`` (:func:`_rails`) when
    given, read as 0 (a copy only when there are some); whether any sample was not finite;
    and which samples sit on the rails (``None`` when none do, or no rails are given)."""
    finite = np.isfinite(x)
    missing = not finite.all()
    rail = _on_rails(x, rails) if rails is not None else None
    if rail is not None and not rail.any():
        rail = None
    if not missing and rail is None:
        return x, missing, rail
    ok = finite if rail is None else finite & ~rail
    return np.where(ok, x, np.zeros((), x.dtype)), missing, rail


def _finite(x: np.ndarray, rails=None) -> np.ndarray:
    """``x`` with NaN and infinite samples, and those on ``rails`` when given, read as 0."""
    return _masked(x, rails)[0]


def _boxcar(x: np.ndarray, period: float) -> np.ndarray:
    """Moving mean over one (fractional) period along the last axis, centred.

    A boxcar of exactly one mains period has zeros at the mains frequency and every
    harmonic; the fractional part is handled by weighting the last tap. What
    ``scipy.ndimage.convolve1d(x, taps, mode="nearest")`` gives (tested), from a running
    mean (``uniform_filter1d``): a period is 600 samples at 30 kHz, and the cost no longer
    grows with it.
    """
    from scipy.ndimage import uniform_filter1d

    whole = int(np.floor(period))
    frac = period - whole if period - whole > 1e-9 else 0.0
    centre = (whole + (1 if frac else 0)) // 2
    # convolve1d's output i is the taps' sum over x[i + centre - k], k = 0..whole, the
    # edges repeating the end samples. Rows are demeaned so the running sums stay small.
    mean = x.mean(axis=-1, keepdims=True)
    x0 = x - mean
    out = uniform_filter1d(x0, whole, axis=-1, mode="nearest", origin=(whole - 1) // 2 - centre)
    if frac:
        # The last tap, x[i + centre - whole]: the series shifted right, its first sample
        # repeated.
        shift = whole - centre
        out *= whole
        out[..., shift:] += frac * x0[..., : x.shape[-1] - shift]
        out[..., :shift] += frac * x0[..., :1]
        out /= period
    out += mean
    return out


def _fraction_taps(frac: float, taps: int = 32) -> np.ndarray:
    """A Kaiser-windowed sinc reading ``frac`` (0-1) of a sample ahead, over offsets
    ``-taps // 2 + 1 .. taps // 2``; sums to 1."""
    j = np.arange(-taps // 2 + 1, taps // 2 + 1)
    h = np.sinc(j - frac) * np.kaiser(taps, 8.0)
    return h / h.sum()


def _comb(x: np.ndarray, period: float, periods: int) -> np.ndarray:
    """Mean of ``x`` over the ``2 * periods + 1`` samples one mains period apart around each
    sample, along the last axis: what repeats every period (the hum and its harmonics,
    within about ``line_freq / (2 * periods + 1)`` Hz) passes, anything else is averaged
    away (its power by about that factor). A fractional period reads between samples
    through a windowed sinc; near the ends the periods that exist are averaged."""
    n = x.shape[-1]
    lags = [k * period for k in range(-periods, periods + 1)]
    if abs(period - round(period)) < 1e-9:
        total = np.zeros(x.shape)
        count = np.zeros(n)
        for lag in (round(v) for v in lags):
            lo, hi = max(0, -lag), min(n, n - lag)
            if hi > lo:
                total[..., lo:hi] += x[..., lo + lag : hi + lag]
                count[lo:hi] += 1
        return total / np.maximum(count, 1)
    # Every lag's taps summed into one kernel over offsets first..: y[i] = sum ker[q] x[i+q+first].
    half = 16
    first = int(np.floor(lags[0])) - half + 1
    kernel = np.zeros(int(np.floor(lags[-1])) + half - first + 1)
    for lag in lags:
        m = int(np.floor(lag))
        kernel[m - half + 1 - first : m + half + 1 - first] += _fraction_taps(lag - m, 2 * half)
    last = first + len(kernel) - 1
    pad = (max(0, -first), max(0, last))

    def read(row: np.ndarray) -> np.ndarray:
        padded = np.pad(row, pad)
        got = np.correlate(padded, kernel, "valid")
        return got[pad[0] + first : pad[0] + first + n]

    count = read(np.ones(n))
    rows = x.reshape(-1, n)
    out = np.stack([read(r) for r in rows]) / np.where(count > 1e-6, count, 1.0)
    return out.reshape(x.shape)


def _rails(ts: TimeSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per channel, an integer recording's range in physical values (lowest, highest) and
    half its step, or ``None`` for a float recording."""
    st = ts.integer_storage
    if st is None:
        return None
    info = np.iinfo(st.dtype)
    gain, offset = np.asarray(st.gain, float), np.asarray(st.offset, float)
    lo, hi = info.min * gain + offset, info.max * gain + offset
    low, high = np.minimum(lo, hi), np.maximum(lo, hi)  # a negative gain swaps the ends
    return tuple(v.astype(np.float32)[:, None] for v in (low, high, 0.5 * np.abs(gain)))


def _on_rails(x: np.ndarray, rails) -> np.ndarray:
    """Which samples of ``x`` sit on the rails ``(low, high, half step)`` of :func:`_rails`."""
    low, high, half = rails
    with np.errstate(invalid="ignore"):  # NaN (a gap) is on no rail
        return (x <= low + half) | (x >= high - half)


def _near(mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` widened by ``reach`` samples each side (running sums: linear in the length,
    where ``scipy.ndimage.binary_dilation`` costs length x reach, and the reach is 2 s)."""
    c = np.concatenate(([0], np.cumsum(mask)))
    i = np.arange(len(mask))
    return c[np.minimum(len(mask), i + reach + 1)] > c[np.maximum(0, i - reach)]


def _harmonic_band(
    x: np.ndarray, sfreq: float, freq: float, *, pad: tuple[bool, bool] = (True, True)
) -> np.ndarray:
    """Sum of narrow band-passes (±1 Hz) at every harmonic of ``freq`` below Nyquist.

    Each band-pass is a 2nd-order Butterworth run forwards and backwards, applied in the
    frequency domain as its squared magnitude (what ``sosfiltfilt`` applies away from the
    edges): one FFT for all harmonics, where 300 filters at 30 kHz took minutes per second
    of a probe. The ends marked in ``pad`` (a recording's own start and end) are padded by
    odd reflection, as ``sosfiltfilt`` pads; elsewhere the caller's margin is real signal,
    and the FFT's wrap-around lies a margin away from what it keeps.
    """
    from scipy.fft import irfft, next_fast_len, rfft

    n = x.shape[-1]
    width = min(n - 1, round(sfreq))
    left, right = (width if p else 0 for p in pad)
    parts = [x]
    if left:
        parts.insert(0, 2 * x[..., :1] - x[..., left:0:-1])
    if right:
        parts.append(2 * x[..., -1:] - x[..., -2 : -right - 2 : -1])
    padded = np.concatenate(parts, axis=-1) if len(parts) > 1 else x
    nfft = next_fast_len(padded.shape[-1], real=True)
    gain = _band_gain(nfft, float(sfreq), float(freq))
    # Every core: the fit runs one step at a time, and this FFT is most of a probe's fit.
    spec = rfft(padded, nfft, axis=-1, workers=-1)
    spec *= gain
    return irfft(spec, nfft, axis=-1, workers=-1)[..., left : left + n]


@functools.lru_cache(maxsize=8)
def _band_gain(nfft: int, sfreq: float, freq: float) -> np.ndarray:
    """Squared magnitude of :func:`_harmonic_band`'s band-passes, summed, at rfft bins."""
    from scipy.signal import butter, sosfreqz

    bins = np.fft.rfftfreq(nfft, 1.0 / sfreq)
    gain = np.zeros(len(bins))
    for h in np.arange(freq, 0.5 * sfreq - 1.0, freq):
        sos = butter(2, [h - 1.0, h + 1.0], "bandpass", fs=sfreq, output="sos")
        # Beyond 40 Hz from its centre a band-pass passes under 1e-6 of the power.
        near = np.abs(bins - h) <= 40.0
        gain[near] += np.abs(sosfreqz(sos, worN=bins[near], fs=sfreq)[1]) ** 2
    gain.flags.writeable = False
    return gain


class LineNoiseRemover(Step):
    """Remove mains hum and its harmonics.

    Parameters
    ----------
    method : {"zapline", "notch"}
        ZapLine (spatial, keeps other frequencies intact) or IIR notches (per channel).
        default: ``"zapline"``.
    line_freq : float | None
        50 or 60 Hz; ``None`` takes it from the assessment's ``line_noise`` findings, else
        from the spectrum (and skips the step when there is no mains peak). default: ``None``.
    n_remove : int | None
        ZapLine components to remove; ``None`` keeps those whose mains-power ratio stands
        out (at least 1, at most a quarter of the channels). default: ``None``.
    chunk_duration : float
        Seconds per chunk while fitting. default: 30.
    comb_periods : int
        ZapLine removes a component's residual where its hum repeats: the mean over this
        many mains periods each side (passing the harmonics within about
        ``line_freq / (2 * comb_periods + 1)`` Hz). ``0`` removes the whole residual, as
        the original ZapLine does, which also takes the component's share of everything
        else, and spreads an artifact the fit did not see (a wide probe's fit sees part of
        the recording) over every channel. default: 8.
    keep_rails : bool
        Keep an integer recording within its range: samples on its rails (its type's lowest
        or highest stored value: saturated) keep their value, and others are clipped at
        the rails. A clipped sample's true value is unknown, and a sample near a rail with
        the hum taken out can land past it; an integer writer can store such a value only
        by rescaling the whole channel, changing every other integer of it. default:
        ``True``.

    Attributes
    ----------
    line_freq_ : float | None
    n_remove_ : int
    scores_ : ndarray
        ZapLine's component scores (mains power over total), highest first.
    """

    name = "line_noise"

    def __init__(
        self,
        method: str = "zapline",
        line_freq: float | None = None,
        n_remove: int | None = None,
        chunk_duration: float = 30.0,
        comb_periods: int = 8,
        keep_rails: bool = True,
    ) -> None:
        self.method = method
        self.line_freq = line_freq
        self.n_remove = n_remove
        self.chunk_duration = chunk_duration
        self.comb_periods = comb_periods
        self.keep_rails = keep_rails

    def fit(self, ts: TimeSeries, qc: Any = None) -> LineNoiseRemover:
        """Choose the mains frequency and, for ZapLine, the components to remove."""
        check_option("method", self.method, ("zapline", "notch"))
        if int(self.comb_periods) != self.comb_periods or self.comb_periods < 0:
            raise ParameterError(
                f"comb_periods={self.comb_periods} must be a whole number >= 0 (0: none)."
            )
        if self.line_freq is not None and self.line_freq not in (50, 60):
            raise ParameterError(f"line_freq={self.line_freq} must be 50, 60 or None.")
        sfreq = ts.sampling_rate
        self.skipped_ = None
        self.method_ = self.method
        self.rails_ = _rails(ts) if self.keep_rails else None
        self.harmonics_ = []
        self.line_freq_ = (
            float(self.line_freq)
            if self.line_freq is not None
            else _from_findings(qc) or detect_line_freq(ts)
        )
        self.n_remove_ = 0
        self.scores_ = np.zeros(0)
        if self.line_freq_ is None:
            self.skipped_ = "no mains peak at 50 or 60 Hz"
            return self
        if self.line_freq_ >= 0.5 * sfreq - 1.0:
            self.skipped_ = f"{self.line_freq_:g} Hz is above Nyquist at {sfreq:g} Hz"
            return self
        self.period_ = sfreq / self.line_freq_
        # Notch filters (and the fit's band-passes) need 2 s to settle at block edges.
        self.margin_ = int(np.ceil(2 * sfreq))
        if self.method == "notch" or ts.n_channels < 2:
            # One channel has no spatial components to separate: notches it is.
            self.method_ = "notch"
            spectrum = _spectrum(ts)
            every = np.arange(self.line_freq_, 0.5 * sfreq - 1.0, self.line_freq_)
            # Only harmonics that show a peak: a notch where there is no hum only removes EEG.
            self.harmonics_ = [float(h) for h in every if _peak_ratio(spectrum, h) >= _PEAK_RATIO]
            if not self.harmonics_:
                self.skipped_ = f"no peak at {self.line_freq_:g} Hz or its harmonics"
            return self
        self._fit_zapline(ts)
        return self

    def _fit_zapline(self, ts: TimeSeries) -> None:
        sfreq = ts.sampling_rate
        n_ch = ts.n_channels
        c0 = np.zeros((n_ch, n_ch))
        c1 = np.zeros((n_ch, n_ch))
        margin = self.margin_
        # Chunks: the residual and its mains band over every channel, kept for the
        # covariances (float32: twice the core within the budget, so a wide probe's 2 s
        # margins are filtered half as often); the filtering runs on a group of channels at
        # a time with the margins (float64, about six copies), so a chunk stays within budget.
        core = chunk_samples(self.chunk_duration, sfreq, n_ch, itemsize=8, max_bytes=_FIT_BYTES)
        group = max(1, _FIT_BYTES // (6 * 8 * (core + 2 * margin)))
        starts = list(range(0, ts.n_samples, core))
        # Covariances settle long before an hour of a probe: past a budget of work
        # (samples x channels squared), evenly spread chunks stand for the recording.
        affordable = max(1, int(_FIT_WORK // (n_ch * n_ch * core)))
        if len(starts) > affordable:
            pick = np.linspace(0, len(starts) - 1, affordable).round().astype(int)
            starts = [starts[i] for i in np.unique(pick)]
        fitted = 0
        for start in starts:
            stop = min(ts.n_samples, start + core)
            lo, hi = max(0, start - margin), min(ts.n_samples, stop + margin)
            a, b = start - lo, stop - lo
            rest_core = np.empty((n_ch, b - a), dtype=np.float32)
            line_core = np.empty((n_ch, b - a), dtype=np.float32)
            ends = (lo == 0, hi == ts.n_samples)
            railed = np.zeros(b - a, dtype=bool)
            for g in range(0, n_ch, group):
                rows = list(range(g, min(n_ch, g + group)))
                x = zero_nonfinite(ts.get_data(lo, hi, channels=rows).astype(np.float64))
                if self.rails_ is not None:
                    railed |= _on_rails(x[:, a:b], [r[rows] for r in self.rails_]).any(axis=0)
                rest = x - _boxcar(x, self.period_)
                line = (
                    _harmonic_band(rest, sfreq, self.line_freq_, pad=ends)
                    if rest.shape[1] > 30
                    else rest
                )
                rest_core[rows] = rest[:, a:b]
                line_core[rows] = line[:, a:b]
            if railed.any():
                # Clipped stretches, and the filters' reach around their edges, stay out of
                # both covariances: their steps would weigh more than the hum.
                near = _near(railed, self.margin_)
                rest_core[:, near] = 0
                line_core[:, near] = 0
                fitted -= int(near.sum())
            # Products in double a tile at a time: a repaired channel is a combination of
            # others, and single-precision sums leave such a covariance indefinite.
            for t in column_tiles(rest_core):
                r = rest_core[:, t].astype(np.float64)
                c0 += r @ r.T
                m = line_core[:, t].astype(np.float64)
                c1 += m @ m.T
            fitted += b - a
        self.fit_seconds_ = fitted / sfreq
        # Components maximising mains power over total power of the residual (DSS).
        from scipy.linalg import eigh

        reg = 1e-9 * np.trace(c0) / n_ch + 1e-30
        vals, vecs = eigh(c1, c0 + reg * np.eye(n_ch))
        order = np.argsort(vals)[::-1]
        vals, vecs = vals[order], vecs[:, order]
        self.scores_ = vals
        if self.n_remove is not None:
            n = int(self.n_remove)
        else:
            # Mains components stand far above the rest, which sit near the band's share of
            # broadband power (a few percent); with no such outlier nothing is removed.
            base = np.median(vals)
            spread = 1.4826 * np.median(np.abs(vals - base)) + 1e-12
            n = int(np.sum((vals > base + 5 * spread) & (vals > _MIN_SCORE)))
            n = min(n, max(1, n_ch // 4))
        self.n_remove_ = n
        if n == 0:
            self.skipped_ = "no spatial component carries mains power"
            return
        w = vecs[:, :n]
        # Regress the components out: rest - (rest w) A^T, A from the residual's covariance.
        self.w_ = w
        self.a_ = c0 @ w @ np.linalg.pinv(w.T @ c0 @ w)
        self.method_ = "zapline"
        # Applying needs only the boxcar's reach, one mains period a side, and the comb's.
        reach = int(self.comb_periods) * self.period_ + 16  # the fractional shift's taps
        self.margin_ = int(np.ceil(self.period_ + reach)) + 1

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block without mains hum (float32, same shape)."""
        if self.method_ == "notch":
            from scipy.signal import iirnotch, sosfiltfilt, tf2sos

            # Clipped samples, like gaps, read as 0: their steps would ring through the
            # notches into the samples nearby.
            x = _finite(block, self.rails_).astype(np.float64)
            sfreq = self.period_ * self.line_freq_
            for h in self.harmonics_:
                sos = tf2sos(*iirnotch(h, 30.0, fs=sfreq))
                if x.shape[1] > 3 * 6:
                    x = sosfiltfilt(sos, x, axis=-1)
            out = x.astype(np.float32)
            gaps = ~np.isfinite(block)
            out[gaps] = block[gaps]  # gaps stay gaps: NaN and inf as recorded
            return self._held(block, out)
        # smooth + rest - a w' rest, rest = x - boxcar(x): x less the components' rest. The
        # boxcar is linear and acts on each row, so it runs on the few components
        # (w' rest = w'x - boxcar(w'x)) rather than on every channel. The products run in
        # float32 a tile at a time (float64 copies of a probe's blocks cost more than the
        # arithmetic); the components' boxcar in float64.
        tiles = column_tiles(block)
        w = self.w_.astype(np.float32)
        a = self.a_.astype(np.float32)
        proj = np.empty((w.shape[1], block.shape[1]))
        # What each tile holds besides finite samples off the rails, found once here and
        # used by both passes below (most tiles hold neither: no mask is kept for them).
        missing: list[bool] = []
        rails: list[np.ndarray | None] = []
        for t in tiles:
            x, gaps, rail = _masked(block[:, t], self.rails_)
            missing.append(gaps)
            rails.append(rail)
            proj[:, t] = w.T @ x
        proj -= _boxcar(proj, self.period_)
        if self.comb_periods:
            proj = _comb(proj, self.period_, int(self.comb_periods))
        proj = proj.astype(np.float32)
        out = np.empty(block.shape, dtype=np.float32)
        for t, gaps in zip(tiles, missing, strict=True):
            x = block[:, t]
            np.subtract(_finite(x) if gaps else x, a @ proj[:, t], out=out[:, t])
            if gaps:
                held = ~np.isfinite(x)
                out[:, t][held] = x[held]  # gaps stay gaps: NaN and inf as recorded
        return self._held(block, out, rails)

    def _held(
        self, block: np.ndarray, out: np.ndarray, rails: list[np.ndarray | None] | None = None
    ) -> np.ndarray:
        """``out`` kept within an integer recording's range (in place): samples on its
        rails as recorded, the others clipped at them. ``rails``: each tile's rail mask
        (``None`` for a tile with none), when already known."""
        if self.rails_ is None:
            return out
        for i, t in enumerate(column_tiles(block)):
            x, y = block[:, t], out[:, t]
            if rails is None:
                rail = _on_rails(x, self.rails_)
                rail = rail if rail.any() else None
            else:
                rail = rails[i]
            if rail is not None:
                y[rail] = x[rail]
            np.clip(y, self.rails_[0], self.rails_[1], out=y)
        return out

    def log(self) -> CorrectionStep:
        return CorrectionStep(
            name=self.name,
            method=getattr(self, "method_", self.method),
            parameters={
                "line_freq": getattr(self, "line_freq_", None),
                "harmonics": list(getattr(self, "harmonics_", [])),
                "n_remove": int(getattr(self, "n_remove_", 0)),
                # Seconds the components were fitted on (less than the recording past
                # the fit's work budget: wide, fast probes).
                "fit_seconds": round(getattr(self, "fit_seconds_", 0.0), 3),
                "comb_periods": int(self.comb_periods),
                "keep_rails": bool(self.keep_rails),
                "component_scores": [round(float(v), 4) for v in self.scores_[:8]]
                if hasattr(self, "scores_")
                else [],
            },
            skipped=self.skipped_,
        )
