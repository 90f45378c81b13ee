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

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.cat(_pools(self.trunk(x)), dim=1))

        def fused(self) -> nn.Module:
            """A copy for inference: same outputs (to float rounding), about 2x faster on a CPU.

            Each batch norm is folded into its convolution; the trunk runs as 2D
            convolutions in channels-last memory (oneDNN's fast path for these shapes);
            the pooled features come from shared pair maxima and sums along time
            (:func:`_pools_time_major`) and the head is a matrix product. Not for training.
            """
            return _inference_copy(self)

    return DetectorNet()


def _pools(h: Any) -> tuple[Any, ...]:
    """Per segment of 4 trunk steps: the centre's mean and max, ~1 s max and mean, 3 s max."""
    from torch.nn import functional as F

    return (
        F.avg_pool1d(h, 4, 4),
        F.max_pool1d(h, 4, 4),
        F.max_pool1d(h, 16, 4, padding=6),
        F.avg_pool1d(h, 16, 4, padding=6, count_include_pad=False),
        F.max_pool1d(h, 48, 4, padding=22),
    )


def _inference_copy(net: Any) -> Any:
    """The inference module of :meth:`DetectorNet.fused` (a fresh copy of ``net``)."""
    import torch
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net = copy.deepcopy(net).eval()

    def conv2d(block: Any) -> nn.Conv2d:
        c = fuse_conv_bn_eval(block[0], block[1])
        out = nn.Conv2d(
            c.in_channels,
            c.out_channels,
            (1, c.kernel_size[0]),
            stride=(1, c.stride[0]),
            padding=(0, c.padding[0]),
        )
        out.weight.data = c.weight.data.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        out.bias.data = c.bias.data.clone()
        return out

    def linear(c: Any) -> nn.Linear:
        out = nn.Linear(c.in_channels, c.out_channels)
        out.weight.data = c.weight.data[:, :, 0].clone()
        out.bias.data = c.bias.data.clone()
        return out

    class InferenceNet(nn.Module):
        segment = net.segment

        def __init__(self) -> None:
            super().__init__()
            self.trunk = nn.ModuleList(conv2d(b) for b in net.trunk)
            self.hidden = linear(net.head[0])
            self.out = linear(net.head[2])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            for conv in self.trunk:
                h = torch.relu_(conv(h))
            h = h.squeeze(2)
            if h.shape[-1] % 4:  # inputs not a multiple of 64 samples: the plain pooling
                feats = torch.cat(_pools(h), dim=1).transpose(1, 2)
            else:  # (batch, time, features) is channels-last memory as is: no copy
                feats = torch.cat(_pools_time_major(h.permute(0, 2, 1)), dim=2)
            return self.out(torch.relu_(self.hidden(feats))).transpose(1, 2)

    return InferenceNet().eval()


def _pools_time_major(h: Any) -> tuple[Any, ...]:
    """The five pooled features of the forward pass, for ``h`` laid out (batch, time, features).

    Equal to ``avg_pool1d(h, 4, 4)``, ``max_pool1d(h, 4, 4)``, ``max_pool1d(h, 16, 4, 6)``,
    ``avg_pool1d(h, 16, 4, 6, count_include_pad=False)`` and ``max_pool1d(h, 48, 4, 22)``
    over time, for a length that is a multiple of 4, from shared pair maxima and sums. The
    16- and 48-step windows start two steps before a segment, so they are unions of the
    4-step spans ``r[u] = h[4u-2 : 4u+2]`` (u = 0..n).
    """
    import torch

    b, t, c = h.shape
    n = t // 4
    pairs = h.view(b, 2 * n, 2, c)
    pm, ps = pairs.amax(2), pairs.sum(2)
    centre_max = pm.view(b, n, 2, c).amax(2)
    centre_mean = ps.view(b, n, 2, c).sum(2) * 0.25
    # big[k] = max of span k-5 (-inf outside 0..n); sums[k] = sum of span k-1 (0 outside).
    big = h.new_full((b, n + 12, c), float("-inf"))
    big[:, 5], big[:, 5 + n] = pm[:, 0], pm[:, 2 * n - 1]
    torch.maximum(pm[:, 1 : 2 * n - 1 : 2], pm[:, 2 : 2 * n : 2], out=big[:, 6 : 5 + n])
    sums = h.new_zeros((b, n + 3, c))
    sums[:, 1], sums[:, 1 + n] = ps[:, 0], ps[:, 2 * n - 1]
    torch.add(ps[:, 1 : 2 * n - 1 : 2], ps[:, 2 : 2 * n : 2], out=sums[:, 2 : 1 + n])
    # Window j of 16 steps is h[4j-6 : 4j+10] = spans j-1 .. j+2.
    rp = big[:, 4:]
    win_max = torch.maximum(rp[:, 0:n], rp[:, 1 : n + 1])
    torch.maximum(win_max, rp[:, 2 : n + 2], out=win_max)
    torch.maximum(win_max, rp[:, 3 : n + 3], out=win_max)
    j = torch.arange(n, device=h.device)
    count = (torch.clamp(4 * j + 10, max=t) - torch.clamp(4 * j - 6, min=0)).to(h.dtype)
    win_mean = sums[:, 0:n] + sums[:, 1 : n + 1]
    win_mean += sums[:, 2 : n + 2]
    win_mean += sums[:, 3 : n + 3]
    win_mean /= count[:, None]
    # Window j of 48 steps is h[4j-22 : 4j+26] = spans j-5 .. j+6: maxima of 2, 4, 8, 12.
    m2 = torch.maximum(big[:, :-1], big[:, 1:])
    m4 = torch.maximum(m2[:, :-2], m2[:, 2:])
    m8 = torch.maximum(m4[:, :-4], m4[:, 4:])
    wide_max = torch.maximum(m8[:, :n], m4[:, 8 : 8 + n])
    return centre_mean, centre_max, win_max, win_mean, wide_max
