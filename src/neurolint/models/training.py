"""One training loop shared by every learned model: AdamW, cosine LR, a masked loss
(multi-label BCE by default; any ``loss(output, target, weight)`` may be given)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

__all__ = ["seed_everything", "train_loop"]


def seed_everything(seed: int) -> None:
    """Seed torch (and ask for deterministic kernels where they exist)."""
    import torch

    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=True)


def train_loop(
    module: Any,
    batches: Callable[[int], tuple[Any, Any, Any]],
    steps: int,
    *,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    pos_weight: Any = None,
    progress: bool = False,
    label: str = "training",
    loss: Callable[[Any, Any, Any], Any] | None = None,
) -> dict[str, Any]:
    """Train ``module`` for ``steps`` minibatches with a masked loss (multi-label BCE).

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``x`` to logits shaped like ``y``.
    batches : callable
        ``batches(step) -> (x, y, weight)`` tensors; ``weight`` (same shape as ``y``) is 0
        where a label is ambiguous and must not count.
    steps : int
        Optimiser steps.
    lr, weight_decay : float
        AdamW settings; the learning rate follows a cosine decay. defaults: 3e-3, 1e-4.
    pos_weight : torch.Tensor | None
        Per-label weight of positives, broadcast over ``y``'s label axis (axis 1).
    progress : bool
        Print the running loss every ~10% of the steps. default: ``False``.
    label : str
        Prefix of the progress lines.
    loss : callable | None
        ``loss(output, y, weight) -> scalar tensor``. default: ``None`` (the weighted
        multi-label BCE, normalised by the weight sum, with ``pos_weight``).

    Returns
    -------
    dict
        ``{"steps", "final_loss", "seconds"}``.
    """
    import torch
    from torch.nn import functional as F

    module.train()
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    warm = max(1, steps // 20)
    # Linear warm-up, then cosine decay to zero.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda i: (
            min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, i / max(1, steps))))
        ),
    )
    dev = next(module.parameters()).device
    start = time.perf_counter()
    running = None
    for step in range(steps):
        x, y, w = (t.to(dev) for t in batches(step))
        logits = module(x)
        if loss is not None:
            batch_loss = loss(logits, y, w)
        else:
            pw = (
                None
                if pos_weight is None
                else pos_weight.to(dev).view(1, -1, *([1] * (y.ndim - 2)))
            )
            batch_loss = F.binary_cross_entropy_with_logits(
                logits, y, weight=w, pos_weight=pw, reduction="sum"
            ) / w.sum().clamp_min(1.0)
        opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        opt.step()
        sched.step()
        value = float(batch_loss.detach())
        running = value if running is None else 0.98 * running + 0.02 * value
        if progress and (step + 1) % max(1, steps // 10) == 0:
            print(
                f"{label}: step {step + 1}/{steps} loss {running:.4f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    module.eval()
    return {
        "steps": int(steps),
        "final_loss": float(running or 0.0),
        "seconds": time.perf_counter() - start,
    }
