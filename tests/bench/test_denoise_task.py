"""Task denoise: the EEGdenoiseNet re-implementations, band choice, and a quick run."""

from pathlib import Path

import numpy as np
import pytest

from neurolint.bench.baselines.eegdenoisenet import NETWORKS, build

SOURCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "eeg" / "eeglab_data.set"


@pytest.mark.parametrize("name", list(NETWORKS))
def test_each_network_maps_an_epoch_to_an_epoch(name):
    import torch

    net = build(name).eval()
    with torch.inference_mode():
        out = net(torch.randn(3, 1, 512))
    assert out.shape == (3, 1, 512)


def test_filters_and_wavelet_clipping_keep_the_shape():
    from neurolint.bench.tasks.denoise import _filter, _wavelet

    x = np.random.default_rng(0).standard_normal((4, 512)).astype(np.float32)
    assert _filter(x, 1.0, None).shape == x.shape
    assert _filter(x, None, 30.0).shape == x.shape
    pytest.importorskip("pywt")
    y = _wavelet(x, 1.0)
    assert y.shape == x.shape and np.std(y) < np.std(x)


@pytest.mark.skipif(not SOURCE.is_file(), reason="needs ../shared/data/eeg/eeglab_data.set")
def test_quick_run_scores_ours_and_every_baseline():
    from neurolint.bench.registry import run_task

    result = run_task("denoise", quick=True)
    names = {r.method for r in result.rows}
    for kind in ("eog", "emg"):
        assert f"neurolint remover [{kind}]" in names
        assert all(f"{n} [{kind}]" in names for n in NETWORKS)
    ours = {r.metrics["artifact"]: r for r in result.rows if r.kind == "ours"}
    noisy = {r.metrics["artifact"]: r for r in result.rows if r.method.startswith("no corr")}
    for kind in ("eog", "emg"):
        assert ours[kind].metrics["cc"] > noisy[kind].metrics["cc"]


@pytest.mark.skipif(not SOURCE.is_file(), reason="needs ../shared/data/eeg/eeglab_data.set")
def test_multichannel_quick_run_has_ica_asr_and_ours():
    from neurolint.bench.registry import run_task

    result = run_task("denoise_multichannel", quick=True)
    rows = {r.method: r for r in result.rows}
    assert {"mne.ICA + find_bads_eog", "neurolint remover (everywhere)"} <= set(rows)
    assert any(name.startswith("meegkit ASR") for name in rows)
    ours = rows["neurolint remover (everywhere)"].metrics
    assert ours["cc"] > rows["no correction"].metrics["cc"]
    assert ours["rrmse_t"] < rows["no correction"].metrics["rrmse_t"]


def test_multichannel_case_mixes_eog_at_the_asked_snr():
    pytest.importorskip("mne")
    if not SOURCE.is_file():
        pytest.skip("needs ../shared/data/eeg/eeglab_data.set")
    from neurolint.bench.tasks.denoise_multichannel import _case

    case = _case(10_000, -2.0, quick=True)
    ts, clean = case["ts"], case["clean"]
    assert ts.ch_names[-1] == "EOG" and ts.channels.types[-1] == "eog"
    front = case["front"][0]
    artifact = ts.get_data()[front].astype(np.float64) - clean[front]
    snr = 10 * np.log10(np.sqrt(np.mean(clean[front] ** 2)) / np.sqrt(np.mean(artifact**2)))
    assert abs(snr - (-2.0)) < 0.05
