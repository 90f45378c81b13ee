"""The detector network's inference copy computes what the trained network computes."""

from __future__ import annotations

import pytest

from neurolint.models.registry import load_model

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [64, 200, 448, 4096])
def test_fused_copy_gives_the_same_logits(n):
    module, _ = load_model("eeg-detector")
    fused = module.fused()
    x = torch.randn(3, 7, n, generator=torch.Generator().manual_seed(n))
    with torch.inference_mode():
        a, b = module(x), fused(x)
    assert a.shape == b.shape == (3, 10, (n // 16) // 4)
    assert torch.allclose(a, b, atol=1e-4)
    # The original keeps its batch norms (it is what fine-tuning trains).
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())


@pytest.mark.parametrize("steps", [4, 8, 40, 252])
def test_time_major_pooling_equals_the_pooling_layers(steps):
    from torch.nn import functional as F

    from neurolint.models.nets.detector import _pools_time_major

    h = torch.randn(2, 5, steps, generator=torch.Generator().manual_seed(steps))
    expected = (
        F.avg_pool1d(h, 4, 4),
        F.max_pool1d(h, 4, 4),
        F.max_pool1d(h, 16, 4, padding=6),
        F.avg_pool1d(h, 16, 4, padding=6, count_include_pad=False),
        F.max_pool1d(h, 48, 4, padding=22),
    )
    got = _pools_time_major(h.transpose(1, 2).contiguous())
    for g, want in zip(got, expected, strict=True):
        assert torch.allclose(g.transpose(1, 2), want, atol=1e-6)
