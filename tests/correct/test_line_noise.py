"""Line noise: mains found from the spectrum, removed without touching other frequencies."""

import json

import numpy as np
import pytest
from scipy.signal import welch

from neurolint.core.timeseries import TimeSeries
from neurolint.correct.base import corrected_series
from neurolint.correct.line_noise import LineNoiseRemover, detect_line_freq
from neurolint.simulate import simulate_eeg


def _hum(freq: float, seed: int = 3):
    sim = simulate_eeg(
        16,
        60,
        256.0,
        artifacts=["line_noise"],
        rates={"line_noise": 5.0},
        line_freq=freq,
        seed=seed,
    )
    return sim.data, sim.truth.clean.get_data()


def _band(x, lo, hi):
    f, p = welch(x, 256.0, nperseg=1024)
    return p[:, (f >= lo) & (f <= hi)].sum(axis=1)


@pytest.mark.parametrize("freq", [50.0, 60.0])
def test_mains_frequency_is_read_from_the_spectrum(freq):
    ts, _ = _hum(freq)
    assert detect_line_freq(ts) == freq


def test_clean_eeg_skips_the_step_and_is_left_alone():
    ts = simulate_eeg(16, 30, 256.0, artifacts=None, seed=1).data
    step = LineNoiseRemover().fit(ts)
    assert step.skipped_ == "no mains peak at 50 or 60 Hz"
    np.testing.assert_array_equal(corrected_series(ts, [step]).get_data(), ts.get_data())


@pytest.mark.parametrize("method", ["zapline", "notch"])
def test_hum_goes_and_the_eeg_stays(method):
    ts, clean = _hum(50.0)
    out = corrected_series(ts, [LineNoiseRemover(method=method).fit(ts)]).get_data()
    x = ts.get_data()
    assert np.median(_band(out, 49, 51) / _band(x, 49, 51)) < 0.05
    # Theta and alpha kept: within 5% of the input's band power on every channel.
    for lo, hi in ((4, 8), (8, 13)):
        np.testing.assert_allclose(_band(out, lo, hi), _band(x, lo, hi), rtol=0.05)
    assert np.sqrt(np.mean((out - clean) ** 2) / np.mean(clean**2)) < 0.3


def test_zapline_matches_meegkit_on_the_same_data():
    dss = pytest.importorskip("meegkit.dss")
    ts, clean = _hum(50.0)
    ours = corrected_series(ts, [LineNoiseRemover(n_remove=2).fit(ts)]).get_data()
    theirs = dss.dss_line(ts.get_data().T.astype(np.float64), 50, 256, nremove=2)[0].T

    def rr(a):
        return np.sqrt(np.mean((a - clean) ** 2) / np.mean(clean**2))

    assert rr(ours) < 1.15 * rr(theirs)
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.98


def test_blocks_read_apart_equal_one_read():
    ts, _ = _hum(60.0)
    out = corrected_series(ts, [LineNoiseRemover().fit(ts)])
    whole = out.get_data()
    parts = np.concatenate(
        [out.get_data(a, min(a + 2000, ts.n_samples)) for a in range(0, ts.n_samples, 2000)], axis=1
    )
    np.testing.assert_allclose(parts, whole, atol=1e-6 * np.abs(whole).max())


def test_one_channel_falls_back_to_notches():
    ts, _ = _hum(50.0)
    one = ts.pick([0])
    step = LineNoiseRemover().fit(one)
    assert step.log().method == "notch"
    out = corrected_series(one, [step]).get_data()
    assert _band(out, 49, 51)[0] < 0.05 * _band(one.get_data(), 49, 51)[0]


def test_bad_options_are_refused():
    from neurolint.core.errors import ParameterError

    ts = TimeSeries(np.zeros((2, 1000), np.float32), 256.0)
    with pytest.raises(ParameterError, match="line_freq"):
        LineNoiseRemover(line_freq=55).fit(ts)
    with pytest.raises(ParameterError, match="method"):
        LineNoiseRemover(method="magic").fit(ts)


def test_hum_found_by_the_assessment_sets_the_frequency():
    from neurolint.core.findings import Finding, QCResult

    ts = simulate_eeg(16, 30, 256.0, artifacts=None, seed=1).data  # no peak in the spectrum
    qc = QCResult(
        score=90.0,
        sampling_rate=ts.sampling_rate,
        duration=ts.duration,
        events=[Finding(3.0, 5.0, "line_noise", extras={"line_freq": 60.0})],
    )
    step = LineNoiseRemover().fit(ts, qc)
    assert step.line_freq_ == 60.0
    # Nothing carries hum here, so ZapLine still removes nothing.
    assert step.skipped_ == "no spatial component carries mains power"


@pytest.mark.parametrize("period", [5.12, 5.0, 4.3, 600.0])
def test_boxcar_from_running_sums_is_the_convolution(period, rng):
    from scipy.ndimage import convolve1d

    from neurolint.correct.line_noise import _boxcar

    x = rng.standard_normal((3, 3000)) + 100.0  # an offset, as raw ephys has
    whole = int(np.floor(period))
    taps = np.ones(whole + (period > whole))
    taps[whole:] = period - whole
    expected = convolve1d(x, taps / period, axis=-1, mode="nearest")
    np.testing.assert_allclose(_boxcar(x, period), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("sfreq", [256.0, 1000.0])
def test_mains_band_in_one_fft_is_the_filtfilt_band_passes_away_from_the_ends(sfreq, rng):
    from scipy.signal import butter, sosfiltfilt

    from neurolint.correct.line_noise import _harmonic_band

    t = np.arange(round(12 * sfreq)) / sfreq
    x = rng.standard_normal((4, len(t))) + 3 * np.sin(2 * np.pi * 50 * t)
    expected = sum(
        sosfiltfilt(butter(2, [h - 1, h + 1], "bandpass", fs=sfreq, output="sos"), x)
        for h in np.arange(50.0, 0.5 * sfreq - 1.0, 50.0)
    )
    edge = round(2 * sfreq)  # the fit's margin: what it keeps lies inside
    got = _harmonic_band(x, sfreq, 50.0)
    np.testing.assert_allclose(got[:, edge:-edge], expected[:, edge:-edge], atol=1e-3)


@pytest.mark.parametrize("sfreq", [256.0, 1000.0])
def test_mains_band_of_a_chunk_with_real_margins_needs_no_padding(sfreq, rng):
    """Inside a recording the fit's 2 s margins are signal: unpadded, the chunk's core gets
    the band-passes of the whole recording."""
    from scipy.signal import butter, sosfiltfilt

    from neurolint.correct.line_noise import _harmonic_band

    t = np.arange(round(12 * sfreq)) / sfreq
    x = rng.standard_normal((4, len(t))) + 3 * np.sin(2 * np.pi * 50 * t)
    expected = sum(
        sosfiltfilt(butter(2, [h - 1, h + 1], "bandpass", fs=sfreq, output="sos"), x)
        for h in np.arange(50.0, 0.5 * sfreq - 1.0, 50.0)
    )
    s = round(sfreq)  # samples per second
    got = _harmonic_band(x[:, 3 * s : 9 * s], sfreq, 50.0, pad=(False, False))
    np.testing.assert_allclose(got[:, 2 * s : 4 * s], expected[:, 5 * s : 7 * s], atol=1e-3)
    # At the recording's start the reflection pad stands in for the missing margin.
    first = _harmonic_band(x[:, : 6 * s], sfreq, 50.0, pad=(True, False))
    np.testing.assert_allclose(first[:, 2 * s : 4 * s], expected[:, 2 * s : 4 * s], atol=1e-3)


def test_a_wide_fast_probe_is_fitted_on_a_budget_and_applied_with_a_short_margin(monkeypatch, rng):
    from neurolint.correct import line_noise

    sfreq, n_ch = 5000.0, 48
    t = np.arange(round(20 * sfreq)) / sfreq
    hum = np.outer(rng.standard_normal(n_ch), np.sin(2 * np.pi * 50 * t))
    x = (rng.standard_normal((n_ch, len(t))) + 5 * hum).astype(np.float32)
    ts = TimeSeries(x, sfreq)
    monkeypatch.setattr(line_noise, "_FIT_WORK", n_ch * n_ch * sfreq * 6)  # about 6 s
    step = LineNoiseRemover(line_freq=50.0, chunk_duration=2.0).fit(ts)
    assert step.method_ == "zapline" and step.n_remove_ >= 1
    assert 4.0 <= step.fit_seconds_ <= 6.0 and step.log().parameters["fit_seconds"] > 0
    # The boxcar's period, the comb's 8 periods, the fractional shift's taps: not 2 s.
    assert step.margin_ == 917
    out = corrected_series(ts, [step]).get_data()
    assert np.abs(out - x + 5 * hum).std() < 0.2 * np.abs(5 * hum).std()


def test_a_probe_assessment_gives_its_mains_frequency_to_the_fix(monkeypatch):
    import neurolint as nl
    from neurolint.correct import line_noise
    from neurolint.simulate import simulate_ephys

    sim = simulate_ephys("linear32", 4.0, artifacts=["line_noise"], seed=3)
    qc = nl.check(sim.data)
    assert [e.extras["line_freq"] for e in qc.events_of("line_noise")]

    def no_spectrum(ts):
        raise AssertionError("the assessment's frequency should have been used")

    monkeypatch.setattr(line_noise, "detect_line_freq", no_spectrum)
    step = LineNoiseRemover().fit(sim.data, qc)
    assert step.line_freq_ == sim.truth.events_of("line_noise")[0].extras["frequency"]


def test_an_artifact_the_budgeted_fit_did_not_see_is_not_spread(monkeypatch, rng):
    """A wide probe's fit sees part of the recording. Removing the components' whole
    residual (``comb_periods=0``, the original ZapLine) carries an artifact outside the
    fitted chunks onto every channel; removing only what repeats every period carries a
    fraction of it (its power by about 1/17), and still removes the hum."""
    from neurolint.correct import line_noise

    sfreq, n_ch = 5000.0, 48
    t = np.arange(round(20 * sfreq)) / sfreq
    hum = 5 * np.outer(rng.standard_normal(n_ch), np.sin(2 * np.pi * 50 * t))
    x = rng.standard_normal((n_ch, len(t))) + hum
    burst = slice(round(14.5 * sfreq), round(15.5 * sfreq))  # between the fitted chunks
    x[:6, burst] += 40 * rng.standard_normal((6, burst.stop - burst.start))
    ts = TimeSeries(x.astype(np.float32), sfreq)
    monkeypatch.setattr(line_noise, "_FIT_WORK", n_ch * n_ch * sfreq * 6)
    spread, left = {}, {}
    for periods in (0, 8):
        step = LineNoiseRemover(line_freq=50.0, chunk_duration=2.0, comb_periods=periods)
        assert step.fit(ts).fit_seconds_ <= 6.0
        out = corrected_series(ts, [step]).get_data()
        # On the channels without the burst: what was removed besides the hum, during it.
        spread[periods] = np.sqrt(np.mean((x - out - hum)[6:, burst] ** 2))
        left[periods] = np.sqrt(np.mean((out - x + hum)[6:] ** 2) / np.mean(hum[6:] ** 2))
    assert spread[0] > 0.5  # half the channels' own noise (1): the burst, spread
    assert spread[8] < 0.35 * spread[0]
    assert left[8] < 0.05 and left[8] < left[0]
    assert step.log().parameters["comb_periods"] == 8


@pytest.mark.parametrize("sfreq", [256.0, 250.0, 30000.0])
def test_the_comb_passes_the_harmonics_and_averages_the_rest_away(sfreq, rng):
    from neurolint.correct.line_noise import _comb

    period = sfreq / 50.0  # 5.12 samples at 256 Hz: read between samples
    t = np.arange(round(4 * sfreq)) / sfreq
    inner = slice(round(0.5 * sfreq), -round(0.5 * sfreq))
    for h in (1, 2):
        hum = np.sin(2 * np.pi * 50 * h * t)[None]
        np.testing.assert_allclose(_comb(hum, period, 8)[:, inner], hum[:, inner], atol=1e-3)
    noise = rng.standard_normal((2, len(t)))
    kept = np.mean(_comb(noise, period, 8)[:, inner] ** 2) / np.mean(noise**2)
    assert 0.7 / 17 < kept < 1.4 / 17
    assert np.abs(_comb(np.sin(2 * np.pi * 20 * t)[None], period, 8)[:, inner]).max() < 0.1


@pytest.mark.parametrize("method", ["zapline", "notch"])
def test_saturated_samples_of_an_integer_recording_keep_their_rail(method, tmp_path, rng):
    """Hum goes from an int16 recording, around clipped stretches too, but samples on its
    rails (clipped: their true value is unknown) stay as recorded, so the written file
    keeps the input's gain and every integer the step did not touch; ``keep_rails=False``
    moves them past the rail."""
    import neurolint as nl

    sfreq, n_ch = 1000.0, 8
    t = np.arange(round(20 * sfreq)) / sfreq
    hum = 300 * np.outer(rng.uniform(0.5, 1.5, n_ch), np.sin(2 * np.pi * 50 * t))
    counts = rng.normal(0, 400, (n_ch, len(t))) + hum
    counts[:4, 9000:9500] = 32767  # clipped high on half the channels
    counts[4:, 12000:12300] = -32768
    ints = np.clip(np.rint(counts), -32768, 32767).astype(np.int16)
    gain = 0.195
    ts = TimeSeries(ints, sfreq, gain=gain)
    rails = np.isin(ints, (-32768, 32767))
    step = LineNoiseRemover(method=method, line_freq=50.0).fit(ts)
    assert step.active and step.log().parameters["keep_rails"] is True
    if method == "zapline":  # the clipped stretches and 2 s around each left out of the fit
        assert step.fit_seconds_ == pytest.approx(20.0 - (14.3 - 7.0), abs=0.002)
    fixed = corrected_series(ts, [step])
    out = fixed.get_data()
    np.testing.assert_array_equal(out[rails], ts.get_data()[rails])
    clean = ~rails.any(axis=0)
    clean[:2000] = clean[-2000:] = False  # away from the notches' settling at the ends
    left = np.mean((out - ts.get_data() + gain * hum)[:, clean] ** 2)
    # As much as without the clipped stretches (about 2%): they stay out of the fit, and
    # read as 0 in the projection, where their steps would carry into their neighbours.
    assert left < 0.05 * np.mean((gain * hum[:, clean]) ** 2)

    path = nl.write(fixed, tmp_path / "fixed.raw")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["gain"] == [gain] * n_ch  # no channel rescaled
    written = np.fromfile(path, np.int16).reshape(-1, n_ch).T
    np.testing.assert_array_equal(written[rails], ints[rails])

    moved = LineNoiseRemover(method=method, line_freq=50.0, keep_rails=False).fit(ts)
    past = corrected_series(ts, [moved]).get_data()[rails] / gain
    assert (np.abs(past) > 32768 + 1).any()
