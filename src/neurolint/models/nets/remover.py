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
    from ._unet import residual_unet

    return residual_unet(widths, kernel, int(in_channels), 0, -1.0)
