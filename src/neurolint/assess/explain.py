"""Why the learned detector made a finding: integrated gradients over its input window."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.findings import Finding
from .learned import (
    KINDS,
    N_NEIGHBOURS,
    SEGMENT,
    _grid,
    contexts,
    neighbours,
    prepare,
    robust_scale,
)

__all__ = ["explain_finding", "integrated_gradients"]

_HALF_WINDOW_S = 2.5  # seconds read on each side of the finding's centre


def _select(out: Any, target: int | tuple[int, ...]) -> Any:
    """Per-sample scalar: ``out[:, target...]`` (an int picks a class of ``(B, K, ...)``)."""
    index = (target,) if isinstance(target, int) else tuple(target)
    sel = out[(slice(None), *index)]
    return sel.reshape(sel.shape[0], -1).sum(dim=1)


def integrated_gradients(
    model: Any,
    x: Any,
    target: int | tuple[int, ...],
    baseline: Any = None,
    steps: int = 32,
) -> Any:
    """Integrated gradients (Sundararajan et al. 2017) of one output of ``model`` at ``x``.

    ``attribution = (x - baseline) * mean over the straight path of d f / d x`` (trapezoidal
    rule over ``steps`` intervals), so that ``attribution.sum() ≈ f(x) - f(baseline)``
    (completeness).

    Parameters
    ----------
    model : torch.nn.Module
        Called on a batch ``(B, *x.shape)``; put it in eval mode first.
    x : torch.Tensor | numpy.ndarray
        One input, without batch axis.
    target : int | tuple of int
        Output index after the batch axis: a class (``(B, K)`` outputs) or
        ``(class, position)`` (``(B, K, S)`` outputs, e.g. kind and segment); outputs
        beyond the index are summed.
    baseline : torch.Tensor | numpy.ndarray | None
        Reference input. default: ``None`` (zeros: no signal, nothing missing).
    steps : int
        Integration intervals. default: 32.

    Returns
    -------
    torch.Tensor
        Same shape as ``x``.
    """
    import torch

    if int(steps) < 1:
        raise ParameterError(f"steps={steps} must be at least 1.")
    dev = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).float().to(dev)
    base = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline).float().to(dev)
    if base.shape != x.shape:
        raise ParameterError(f"baseline shape {tuple(base.shape)} differs from x {tuple(x.shape)}.")
    alphas = torch.linspace(0, 1, int(steps) + 1, device=dev)
    weights = torch.full_like(alphas, 1.0 / steps)
    weights[0] = weights[-1] = 0.5 / steps  # trapezoidal rule
    grads = torch.zeros_like(x)
    chunk = 16
    for i in range(0, len(alphas), chunk):
        a = alphas[i : i + chunk].view(-1, *([1] * x.dim()))
        path = (base + a * (x - base)).detach().requires_grad_(True)
        out = _select(model(path), target)
        (g,) = torch.autograd.grad(out.sum(), path)
        grads += (g * weights[i : i + chunk].view(-1, *([1] * x.dim()))).sum(dim=0)
    return (x - base) * grads


def explain_finding(
    ts: Any, finding: Finding, model: str = "eeg-detector", *, steps: int = 32
) -> dict[str, Any]:
    """Attribute a learned finding to the samples of its channel and neighbours.

    The window is ±2.5 s around the finding's centre at the model rate (256 Hz), in the
    model's input units; the attribution explains the logit of ``finding.kind`` for the
    0.25 s segment at the centre, for the finding's first channel (or the most probable
    channel when the finding lists none), against an all-zero baseline.

    Parameters
    ----------
    ts : TimeSeries
    finding : Finding
        An event of a kind the model knows.
    model : str
        Registered model or ``.safetensors`` path. default: ``"eeg-detector"``.
    steps : int
        Integration intervals. default: 32.

    Returns
    -------
    dict
        ``attribution`` ``(n_context_channels, n_samples)`` (target first, then neighbours),
        ``channels`` (names), ``times`` (s from the recording start), ``kind``,
        ``probability`` (the model's, at the centre segment).
    """
    import torch

    from ..models.registry import load_model

    if finding.kind not in KINDS or finding.kind == "clean":
        raise ParameterError(
            f"The learned model knows {', '.join(KINDS[:-1])}; cannot explain {finding.kind!r}."
        )
    module, config = load_model(model)
    grid = _grid(float(ts.sampling_rate))
    k = int(config.get("n_neighbours", N_NEIGHBOURS))
    nbrs = neighbours(ts.channels, k)
    unit = grid.unit
    centre = finding.onset + finding.duration / 2
    c_in = round(centre * grid.sfreq)
    half = -(-round(_HALF_WINDOW_S * grid.sfreq) // unit) * unit
    r0 = max(0, (c_in // unit) * unit - half)
    r1 = min(ts.n_samples, (c_in // unit) * unit + half)
    x, miss = prepare(ts.get_data(r0, r1), grid, robust_scale(ts))
    extra = -x.shape[1] % SEGMENT
    if extra:
        x = np.pad(x, [(0, 0), (0, extra)], mode="edge")
        miss = np.pad(miss, [(0, 0), (0, extra)], mode="edge")
    ctx = contexts(x, miss, nbrs)
    kind = KINDS.index(finding.kind)
    m0 = r0 * grid.up // grid.down
    seg = int(
        np.clip(
            round(centre * grid.sfreq * grid.up / grid.down - m0) // SEGMENT,
            0,
            ctx.shape[2] // SEGMENT - 1,
        )
    )
    names = list(ts.ch_names)
    if finding.channels and finding.channels[0] in names:
        ch = names.index(finding.channels[0])
    else:
        with torch.inference_mode():
            dev = next(module.parameters()).device
            logits = module(torch.from_numpy(ctx).to(dev))[:, kind, seg]
        ch = int(torch.argmax(logits).item())
    with torch.inference_mode():
        dev = next(module.parameters()).device
        logit = module(torch.from_numpy(ctx[ch : ch + 1]).to(dev))[0, kind, seg]
        prob = float(torch.sigmoid(logit).item())
    attr = integrated_gradients(module, ctx[ch], (kind, seg), steps=steps)
    attr = attr.detach().cpu().numpy()[: 1 + k]
    rate = grid.sfreq * grid.up / grid.down
    times = (m0 + np.arange(ctx.shape[2])) / rate
    return {
        "attribution": attr,
        "channels": [names[ch]] + [names[i] for i in nbrs[ch]],
        "times": times,
        "kind": finding.kind,
        "probability": prob,
        "channel": names[ch],
        "model": str(model),
    }
