"""A small fully convolutional 1D CNN that labels 0.25 s segments of one channel.

Input ``(batch, n_inputs, n_samples)``: the target channel, its ``k`` nearest neighbours
(context) and two missing-sample masks, at the model rate (256 Hz). Output
``(batch, n_kinds, n_samples // segment)``: multi-label logits for each segment of
``segment`` samples. Each segment's prediction sees ~1 s around it (and a 3 s summary for
slow, rhythmic kinds such as ECG), so the net runs once over a whole chunk instead of once
per overlapping window.
"""

from __future__ import annotations

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

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.trunk(x)
            # Centre (the segment itself), ~1 s window around it, and a 3 s summary.
            centre_mean = F.avg_pool1d(h, 4, 4)
            centre_max = F.max_pool1d(h, 4, 4)
            win_max = F.max_pool1d(h, 16, 4, padding=6)
            win_mean = F.avg_pool1d(h, 16, 4, padding=6, count_include_pad=False)
            wide_max = F.max_pool1d(h, 48, 4, padding=22)
            feats = torch.cat([centre_mean, centre_max, win_max, win_mean, wide_max], dim=1)
            return self.head(feats)

    return DetectorNet()
