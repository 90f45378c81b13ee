"""A compact 1D U-Net that refines the classical fill of a gap from its context.

Input ``(batch, in_channels, n)`` (``n`` a multiple of 8), as
:func:`neurolint.correct._inpaint.prepare` builds it at 256 Hz: the channel with the gap
zeroed, the missing mask, the classical (ridge or autoregressive) fill, the neighbouring
channels' ridge prediction of the channel and whether it exists. Output ``(batch, 1, n)``:
the classical fill plus the network's correction (only the gap's samples are used). Three
levels of two convolutions each, stride-2 pooling down and linear upsampling back, with skip
connections, so every output sample sees about 0.7 s on each side at 256 Hz.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_inpainter"]


def build_inpainter(
    widths: tuple[int, ...] | list[int] = (16, 24, 32, 48),
    kernel: int = 7,
    in_channels: int = 5,
    base_channel: int = 2,
    **_: Any,
) -> Any:
    """Build the gap inpainting network (torch ``nn.Module``).

    Parameters
    ----------
    widths : sequence of 4 int
        Feature maps per level, the last being the bottleneck. default: ``(16, 24, 32, 48)``.
    kernel : int
        Convolution width (odd). default: 7.
    in_channels : int
        Input channels. default: 5.
    base_channel : int
        The input channel holding the classical fill the network corrects. default: 2.

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, in_channels, n)`` to ``(batch, 1, n)``; ``n`` a multiple of 8.
    """
    from ._unet import residual_unet

    return residual_unet(widths, kernel, int(in_channels), int(base_channel), 1.0)
