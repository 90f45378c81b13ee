"""A compact 1D U-Net that maps a noisy EEG epoch to its clean estimate.

Input ``(batch, in_channels, n)`` (``n`` a multiple of 8): one channel's epoch divided by its
standard deviation and, with ``in_channels=2``, the mean of its neighbours on the same scale.
Output ``(batch, 1, n)``: the channel's clean signal on the same scale. Three levels of
two convolutions each, stride-2 pooling down and linear upsampling back, with skip
connections, so every output sample sees about half a second on each side at 256 Hz.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_remover"]


def build_remover(
    widths: tuple[int, ...] | list[int] = (16, 24, 32, 48),
    kernel: int = 7,
    in_channels: int = 1,
    **_: Any,
) -> Any:
    """Build the remover network (torch ``nn.Module``).

    Parameters
    ----------
    widths : sequence of 4 int
        Feature maps per level, the last being the bottleneck. default: ``(16, 24, 32, 48)``.
    kernel : int
        Convolution width (odd). default: 7.
    in_channels : int
        1 (the channel) or 2 (the channel and its neighbours' mean). default: 1.

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, in_channels, n)`` to ``(batch, 1, n)``; ``n`` a multiple of 8.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    w1, w2, w3, w4 = (int(w) for w in widths)
    pad = kernel // 2

    def double(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel, padding=pad),
            nn.GELU(),
            nn.Conv1d(c_out, c_out, kernel, padding=pad),
            nn.GELU(),
        )

    class RemoverNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down1 = double(int(in_channels), w1)
            self.down2, self.down3 = double(w1, w2), double(w2, w3)
            self.bottom = double(w3, w4)
            self.up3, self.up2, self.up1 = (
                double(w4 + w3, w3),
                double(w3 + w2, w2),
                double(w2 + w1, w1),
            )
            self.out = nn.Conv1d(w1, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d1 = self.down1(x)
            d2 = self.down2(F.avg_pool1d(d1, 2))
            d3 = self.down3(F.avg_pool1d(d2, 2))
            b = self.bottom(F.avg_pool1d(d3, 2))

            def up(h: torch.Tensor, skip: torch.Tensor, block: nn.Module) -> torch.Tensor:
                h = F.interpolate(h, size=skip.shape[-1], mode="linear", align_corners=False)
                return block(torch.cat([h, skip], dim=1))

            h = up(b, d3, self.up3)
            h = up(h, d2, self.up2)
            h = up(h, d1, self.up1)
            # Residual form: the network estimates the artifact and subtracts it.
            return x[:, :1] - self.out(h)

    return RemoverNet()
