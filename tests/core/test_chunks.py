"""Chunk iteration with margins: chunk-by-chunk processing equals whole-array processing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, signal

from neurolint.core import Movie, TimeSeries
from neurolint.core.chunks import (
    chunk_bounds,
    get_global_job_options,
    job_options,
    set_global_job_options,
)
from neurolint.core.errors import ParameterError


def _fir(kernel):
    def apply(data, chunk):
        return ndimage.convolve1d(data, kernel, axis=-1, mode="constant")

    return apply


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(1, 600),
    chunk_size=st.integers(1, 250),
    half_width=st.integers(0, 12),
    extra_margin=st.integers(0, 20),
    seed=st.integers(0, 2**16),
)
def test_fir_filter_by_chunks_equals_whole_array(
    n_samples, chunk_size, half_width, extra_margin, seed
):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((3, n_samples)).astype(np.float32)
    kernel = rng.standard_normal(2 * half_width + 1).astype(np.float32)
    ts = TimeSeries(data, 100.0)
    whole = _fir(kernel)(data, None)
    chunked = ts.map_chunks(_fir(kernel), margin=half_width + extra_margin, chunk_size=chunk_size)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(n_frames=st.integers(1, 80), chunk_size=st.integers(1, 30), size=st.integers(0, 3))
def test_temporal_median_of_movie_by_chunks_equals_whole(n_frames, chunk_size, size):
    rng = np.random.default_rng(n_frames)
    frames = rng.standard_normal((n_frames, 4, 5)).astype(np.float32)
    width = 2 * size + 1

    def med(data, chunk):
        return ndimage.median_filter(data, size=(width, 1, 1), mode="constant")

    whole = med(frames, None)
    chunked = Movie(frames, 10.0).map_chunks(med, margin=size, chunk_size=chunk_size)
    np.testing.assert_array_equal(chunked, whole)


def test_too_small_a_margin_is_visible_at_chunk_edges(rng):
    data = rng.standard_normal((1, 400)).astype(np.float32)
    kernel = np.ones(21, dtype=np.float32)
    whole = _fir(kernel)(data, None)
    chunked = TimeSeries(data, 100.0).map_chunks(_fir(kernel), margin=3, chunk_size=50)
    assert not np.allclose(chunked, whole), "the margin test must be able to fail"


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_parallel_workers_give_the_same_result_in_order(pool, rng):
    data = rng.standard_normal((4, 5000)).astype(np.float32)
    sos = signal.butter(2, 0.1, output="sos")
    ts = TimeSeries(data, 1000.0)
    serial = ts.map_chunks(_fir(np.hanning(31).astype(np.float32)), margin=15, chunk_duration=0.3)
    parallel = ts.map_chunks(
        _fir(np.hanning(31).astype(np.float32)), margin=15, chunk_duration=0.3, n_jobs=2, pool=pool
    )
    np.testing.assert_array_equal(serial, parallel)
    per_chunk = ts.map_chunks(
        lambda d, c: signal.sosfilt(sos, d).std(), trim=False, chunk_duration="1s"
    )
    assert len(per_chunk) == 5


def test_chunk_bounds_cover_the_recording_once():
    chunks = chunk_bounds(1000, 300, margin=40)
    assert [(c.start, c.stop) for c in chunks] == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    assert chunks[0].read_start == 0 and chunks[0].before == 0
    assert chunks[1].read_start == 260 and chunks[1].read_stop == 640
    assert chunks[-1].read_stop == 1000 and chunks[-1].after == 0


def test_iter_chunks_reads_padded_ranges(rng):
    data = rng.standard_normal((2, 250)).astype(np.float32)
    got = [(c, d) for c, d in TimeSeries(data, 100.0).iter_chunks(margin=5, chunk_duration=1.0)]
    assert [c.start for c, _ in got] == [0, 100, 200]
    for chunk, block in got:
        np.testing.assert_array_equal(block, data[:, chunk.read_start : chunk.read_stop])
        np.testing.assert_array_equal(chunk.trim(block), data[:, chunk.start : chunk.stop])


def test_job_options_validate_and_global_defaults_apply():
    assert job_options(chunk_duration="500ms").chunk_duration == 0.5
    assert job_options(chunk_duration="2min").chunk_duration == 120.0
    with pytest.raises(ParameterError, match="n_jobs"):
        job_options(n_jobs=0)
    with pytest.raises(ParameterError, match="chunk_duration"):
        job_options(chunk_duration="fast")
    with pytest.raises(ParameterError, match="Unknown job option"):
        job_options(n_job=2)
    before = get_global_job_options()
    try:
        set_global_job_options(n_jobs=2, chunk_duration=3)
        assert job_options().n_jobs == 2 and job_options().chunk_duration == 3.0
        assert job_options(n_jobs=1).n_jobs == 1
    finally:
        set_global_job_options(**before)
    assert job_options(n_jobs=-1).workers >= 1


def test_chunk_samples_keep_seconds_unless_a_copy_would_pass_the_byte_budget():
    from neurolint.core.chunks import CHUNK_BYTES, chunk_samples

    assert chunk_samples(30.0, 256.0, 64) == 7680  # EEG: 2 MB, as asked
    probe = chunk_samples(30.0, 30_000.0, 384)  # 1.4 GB as asked
    assert probe * 384 * 4 <= CHUNK_BYTES < (probe + 1) * 384 * 4
    assert chunk_samples(30.0, 30_000.0, 384, itemsize=8) == probe // 2
    assert chunk_samples(1e-9, 1.0, 1) == 1 and chunk_samples(1.0, 1.0, 10**12) == 1
