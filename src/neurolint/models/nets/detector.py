"""A small fully convolutional 1D CNN that labels 0.25 s segments of one channel.

Input ``(batch, n_inputs, n_samples)``: the target channel, its ``k`` nearest neighbours
(context) and two missing-sample masks, at the model rate (256 Hz). Output
``(batch, n_kinds, n_samples // segment)``: multi-label logits for each segment of
``segment`` samples. Each segment's prediction sees ~1 s around it (and a 3 s summary for
slow, rhythmic kinds such as ECG), so the net runs once over a whole chunk instead of once
per overlapping window.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["build_detector"]


def build_detector(
    n_inputs: int = 7,
    n_kinds: int = 10,
    widths: tuple[int, ...] | list[int] = (16, 32, 48, 64),
    hidden: int = 64,
    **_: Any,
) -> Any:
    """Build the detector network (torch ``nn.Module``).

    Parameters
    ----------
    n_inputs : int
        Input rows (target + neighbours + masks). default: 7.
    n_kinds : int
        Output labels (artifact kinds plus ``clean``). default: 10.
    widths : sequence of 4 int
        Feature maps of the four convolution layers. default: ``(16, 32, 48, 64)``.
    hidden : int
        Width of the per-segment head. default: 64.

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, n_inputs, n)`` (``n`` a multiple of 64) to ``(batch, n_kinds, n // 64)``.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    w1, w2, w3, w4 = (int(w) for w in widths)

    def block(c_in: int, c_out: int, k: int, s: int, p: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv1d(c_in, c_out, k, stride=s, padding=p, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
        )

    class DetectorNet(nn.Module):
        segment = 64  # input samples per output segment (0.25 s at 256 Hz)

        def __init__(self) -> None:
            super().__init__()
            # Total stride 16: a trunk step every 1/16 s, four per segment.
            self.trunk = nn.Sequential(
                block(n_inputs, w1, 8, 4, 2),
                block(w1, w2, 5, 2, 2),
                block(w2, w3, 5, 2, 2),
                block(w3, w4, 3, 1, 1),
            )
            self.head = nn.Sequential(
                nn.Conv1d(5 * w4, hidden, 1),
                nn.ReLU(inplace=True),
                nn.Conv1d(hidden, n_kinds, 1),
            )

        fast_pools = False  # set on the inference copy from fused()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.trunk(x)
            if self.fast_pools and h.shape[-1] % 4 == 0:
                return self.head(torch.cat(_pools_by_quads(h), dim=1))
            # Centre (the segment itself), ~1 s window around it, and a 3 s summary.
            centre_mean = F.avg_pool1d(h, 4, 4)
            centre_max = F.max_pool1d(h, 4, 4)
            win_max = F.max_pool1d(h, 16, 4, padding=6)
            win_mean = F.avg_pool1d(h, 16, 4, padding=6, count_include_pad=False)
            wide_max = F.max_pool1d(h, 48, 4, padding=22)
            feats = torch.cat([centre_mean, centre_max, win_max, win_mean, wide_max], dim=1)
            return self.head(feats)

        def fused(self) -> nn.Module:
            """A copy for inference with each batch norm folded into its convolution.

            Same outputs (to float rounding); on a CPU the trunk runs about twice as fast,
            since the convolution then carries the affine step, and the pooled features
            come from shared four-step maxima and sums (:func:`_pools_by_quads`) about a
            third faster than five pooling passes. Not for training.
            """
            from torch.nn.utils.fusion import fuse_conv_bn_eval

            net = copy.deepcopy(self).eval()
            net.trunk = nn.Sequential(
                *(
                    nn.Sequential(fuse_conv_bn_eval(b[0], b[1]), nn.ReLU(inplace=True))
                    for b in net.trunk
                )
            )
            net.fast_pools = True
            return net

    return DetectorNet()


def _quads(x: Any, op: Any) -> Any:
    """``op`` over each run of four steps of ``x`` (last axis a multiple of 4)."""
    return op(op(x[..., 0::4], x[..., 1::4]), op(x[..., 2::4], x[..., 3::4]))


def _pools_by_quads(h: Any) -> tuple[Any, ...]:
    """The five pooled features of the forward pass, from shared four-step maxima and sums.

    Equal to ``avg_pool1d(h, 4, 4)``, ``max_pool1d(h, 4, 4)``, ``max_pool1d(h, 16, 4, 6)``,
    ``avg_pool1d(h, 16, 4, 6, count_include_pad=False)`` and ``max_pool1d(h, 48, 4, 22)``
    for ``h.shape[-1]`` a multiple of 4. The 16- and 48-step windows start two steps before
    a segment, so they are unions of 4 and 12 quads offset by two steps.
    """
    import torch
    from torch.nn import functional as F

    t = h.shape[-1]
    n = t // 4
    centre_mean = _quads(h, torch.add) * 0.25
    centre_max = _quads(h, torch.maximum)
    # r[u], s[u]: max and sum of h[4u-2 : 4u+2] (u = 0..n), padding outside.
    r = _quads(F.pad(h, (2, 2), value=float("-inf")), torch.maximum)
    s = _quads(F.pad(h, (2, 2)), torch.add)
    # Window j of 16 steps is h[4j-6 : 4j+10] = quads j-1 .. j+2.
    rp, sp = F.pad(r, (1, 2), value=float("-inf")), F.pad(s, (1, 2))
    win_max = torch.maximum(
        torch.maximum(rp[..., 0:n], rp[..., 1 : n + 1]),
        torch.maximum(rp[..., 2 : n + 2], rp[..., 3 : n + 3]),
    )
    j = torch.arange(n, device=h.device)
    count = (torch.clamp(4 * j + 10, max=t) - torch.clamp(4 * j - 6, min=0)).to(h.dtype)
    win_mean = (sp[..., 0:n] + sp[..., 1 : n + 1] + sp[..., 2 : n + 2] + sp[..., 3 : n + 3]) / count
    # Window j of 48 steps is h[4j-22 : 4j+26] = quads j-5 .. j+6: maxima of 2, 4, 8, 12.
    rw = F.pad(r, (5, 6), value=float("-inf"))
    m2 = torch.maximum(rw[..., :-1], rw[..., 1:])
    m4 = torch.maximum(m2[..., :-2], m2[..., 2:])
    m8 = torch.maximum(m4[..., :-4], m4[..., 4:])
    wide_max = torch.maximum(m8[..., :n], m4[..., 8 : 8 + n])
    return centre_mean, centre_max, win_max, win_mean, wide_max
