"""The compact residual 1D U-Net shared by the artifact remover and the gap inpainter."""

from __future__ import annotations

from typing import Any


def residual_unet(
    widths: tuple[int, ...] | list[int],
    kernel: int,
    in_channels: int,
    base_channel: int,
    sign: float,
) -> Any:
    """A U-Net whose output is input channel ``base_channel`` plus ``sign`` x its estimate.

    Three levels of two convolutions each (GELU), stride-2 average pooling down and linear
    upsampling back, with skip connections. Maps ``(batch, in_channels, n)`` to
    ``(batch, 1, n)``, ``n`` a multiple of 8. The remover subtracts the artifact it estimates
    (``sign=-1``); the inpainter adds a correction to the classical fill (``sign=+1``).
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    w1, w2, w3, w4 = (int(w) for w in widths)
    pad = kernel // 2
    base = int(base_channel)

    def double(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel, padding=pad),
            nn.GELU(),
            nn.Conv1d(c_out, c_out, kernel, padding=pad),
            nn.GELU(),
        )

    class ResidualUNet(nn.Module):
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
            return x[:, base : base + 1] + sign * self.out(h)

    return ResidualUNet()
