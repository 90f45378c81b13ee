"""The report's plots, drawn with matplotlib and embedded as PNG data URIs.

PNG rather than SVG: an hour of 64 channels as vector paths runs to megabytes, a raster of
the same plot to tens of kilobytes, and the report must stay small enough to email. Figures
are built with ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend); labels from
a file go through :func:`_label`, so a channel named ``$x$`` is drawn as written rather than
as mathtext.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.findings import FINDING_KINDS

__all__ = [
    "KIND_COLOURS",
    "image_map",
    "kind_colour",
    "quality_heatmap",
    "segment_figure",
    "sensor_map",
    "spectra_figure",
    "trace_figure",
]

_DPI = 96
# Colour-blind-safe (Okabe-Ito, then Tol) colours, one per finding kind, stable across reports.
_PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#882255", "#AA4499",
)  # fmt: skip
KIND_COLOURS = dict(zip(FINDING_KINDS, _PALETTE, strict=True))


def kind_colour(kind: str) -> str:
    """The colour of a finding kind (grey for kinds this palette does not know)."""
    return KIND_COLOURS.get(kind, "#777777")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _encode(fig: Any) -> str:
    """The figure as a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _rc() -> Any:
    import matplotlib

    return matplotlib.rc_context({"font.size": 8})


def _label(text: Any) -> str:
    """A string from a file, made literal for matplotlib (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _pool_columns(q: np.ndarray, max_columns: int) -> np.ndarray:
    """Worst quality per group of windows, so a long recording fits the page and a short
    bad stretch still shows."""
    n = q.shape[0]
    if n <= max_columns:
        return q
    edges = np.linspace(0, n, max_columns + 1).astype(int)
    return np.minimum.reduceat(q, edges[:-1], axis=0)


def quality_heatmap(
    quality: np.ndarray,
    window_duration: float,
    ch_names: Sequence[str],
    bad: Sequence[str],
    events: Sequence[Any],
    duration: float,
) -> str:
    """Channel x time quality (red bad, green good) with events as bars above, by kind."""
    with _rc():
        q = _pool_columns(np.asarray(quality, dtype=np.float32), 1600)
        n_ch = len(ch_names)
        kinds = sorted({e.kind for e in events})
        height = 1.2 + 0.16 * min(n_ch, 64) + 0.18 * len(kinds)
        fig = _figure(10.5, height)
        ratios = [max(len(kinds), 1) * 0.18, 0.16 * min(n_ch, 64) + 0.4]
        ax_ev, ax = fig.subplots(2, 1, sharex=True, height_ratios=ratios)
        end = q.shape[0] * window_duration if len(q) else duration
        span = max(duration, end)
        ax.imshow(
            q.T,
            aspect="auto",
            cmap="RdYlGn",
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(0, span, n_ch - 0.5, -0.5),
        )
        step = max(1, int(np.ceil(n_ch / 40)))
        ticks = list(range(0, n_ch, step))
        ax.set_yticks(ticks, [_label(ch_names[i]) for i in ticks], fontsize=6)
        shown_bad = {_label(b) for b in bad}
        for label in ax.get_yticklabels():
            if label.get_text() in shown_bad:
                label.set_color("#B00020")
                label.set_fontweight("bold")
        ax.set_xlabel("time (s)")
        _outline_events(ax, events, ch_names, span)
        for row, kind in enumerate(kinds):
            spans = [(e.onset, max(e.duration, span / 2000)) for e in events if e.kind == kind]
            ax_ev.broken_barh(spans, (row - 0.4, 0.8), color=kind_colour(kind))
        ax_ev.set_yticks(range(len(kinds)), kinds, fontsize=7)
        ax_ev.set_ylim(len(kinds) - 0.5 if kinds else 0.5, -0.5)
        ax_ev.set_xlim(0, span)
        ax_ev.tick_params(bottom=False)
        ax_ev.set_title("events by kind (top); window quality per channel, 1 = clean", loc="left")
        return _encode(fig)


def _outline_events(ax: Any, events: Sequence[Any], ch_names: Sequence[str], span: float) -> None:
    """Each transient finding outlined on the heatmap over the channels it names, in its
    kind's colour (whole-head and hour-long episodes only show in the strip above)."""
    from matplotlib.patches import Rectangle

    row = {name: i for i, name in enumerate(ch_names)}
    shown = 0
    for e in events:
        rows = sorted(row[c] for c in e.channels if c in row)
        if not rows or len(rows) == len(ch_names) or e.duration > span / 10 or shown >= 400:
            continue
        shown += 1
        width = max(e.duration, span / 1500)
        # Runs of adjacent rows become one box each.
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            ax.add_patch(
                Rectangle(
                    (e.onset, start - 0.5),
                    width,
                    prev - start + 1,
                    fill=False,
                    edgecolor=kind_colour(e.kind),
                    lw=1.1,
                )
            )
            if r is not None:
                start = prev = r


def sensor_map(positions: np.ndarray, names: Sequence[str], bad: Sequence[str]) -> str:
    """Sensors seen from above (azimuthal projection), bad ones red and named."""
    with _rc():
        pos = np.asarray(positions, dtype=np.float64)
        centre = pos.mean(axis=0)
        v = pos - centre
        r = np.linalg.norm(v, axis=1)
        # Azimuthal equidistant projection about the top of the head, as MNE's topomaps.
        theta = np.arccos(np.clip(v[:, 2] / np.maximum(r, 1e-12), -1, 1))
        phi = np.arctan2(v[:, 1], v[:, 0])
        x, y = theta * np.cos(phi), theta * np.sin(phi)
        fig = _figure(3.6, 3.6)
        ax = fig.subplots()
        is_bad = np.array([n in set(bad) for n in names])
        ax.add_patch(_circle(np.pi / 2))
        ax.scatter(x[~is_bad], y[~is_bad], s=14, c="#4a7", edgecolors="none")
        ax.scatter(x[is_bad], y[is_bad], s=40, c="#B00020", marker="X")
        for i in np.flatnonzero(is_bad):
            ax.annotate(
                _label(names[i]),
                (x[i], y[i]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
                color="#B00020",
            )
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{int(is_bad.sum())} bad of {len(names)}", fontsize=8)
        return _encode(fig)


def _circle(radius: float) -> Any:
    from matplotlib.patches import Circle

    return Circle((0, 0), radius, fill=False, color="#999", lw=0.8)


def spectra_figure(freqs: np.ndarray, curves: dict[str, np.ndarray], unit: str) -> str:
    """Median power spectra over channels, one line per state (before, after)."""
    with _rc():
        fig = _figure(6.5, 2.8)
        ax = fig.subplots()
        styles = {"before": ("#999999", 1.4), "after": ("#0072B2", 1.0)}
        for label, psd in curves.items():
            colour, width = styles.get(label, ("#333333", 1.0))
            ax.semilogy(freqs[1:], psd[1:], color=colour, lw=width, label=label)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel(f"power ({unit}²/Hz)")
        ax.set_xlim(freqs[1], freqs[-1])
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.legend(frameon=False)
        return _encode(fig)


def segment_figure(
    times: np.ndarray,
    names: Sequence[str],
    before: np.ndarray,
    after: np.ndarray | None,
    event: tuple[float, float, str],
    attribution: np.ndarray | None = None,
) -> str:
    """A few channels around one finding: before (grey), after (blue), removed (red);
    a learned finding's attribution as a shaded band under its channel."""
    with _rc():
        n = len(names)
        fig = _figure(6.5, 0.9 + 0.8 * n)
        ax = fig.subplots()
        onset, duration, kind = event
        ax.axvspan(onset, onset + duration, color=kind_colour(kind), alpha=0.18, lw=0)
        scale = float(np.nanpercentile(np.abs(before), 99)) or 1.0
        for i in range(n):
            off = -i * 2.5 * scale
            ax.plot(times, before[i] + off, color="#999999", lw=0.9)
            if after is not None:
                ax.plot(times, after[i] + off, color="#0072B2", lw=0.8)
                ax.plot(times, before[i] - after[i] + off - 1.1 * scale, color="#D55E00", lw=0.7)
            if attribution is not None and i == 0:
                a = np.abs(attribution)
                a = a / (a.max() or 1.0)
                ax.fill_between(
                    times,
                    off - 1.2 * scale,
                    off - 1.2 * scale + a * scale,
                    color="#CC79A7",
                    alpha=0.5,
                    lw=0,
                )
        ax.set_yticks([-i * 2.5 * scale for i in range(n)], [_label(s) for s in names])
        ax.set_xlim(times[0], times[-1])
        ax.set_xlabel("time (s)")
        return _encode(fig)


def trace_figure(
    x: np.ndarray, lines: dict[str, np.ndarray], ylabel: str, marks: Sequence[float] = ()
) -> str:
    """One or more traces over frames or volumes, findings marked."""
    with _rc():
        fig = _figure(6.5, 2.2)
        ax = fig.subplots()
        for (label, y), colour in zip(lines.items(), _PALETTE, strict=False):
            ax.plot(x, y, lw=0.9, label=label, color=colour)
        for m in marks:
            ax.axvline(m, color="#B00020", lw=0.6, alpha=0.5)
        ax.set_ylabel(ylabel)
        ax.set_xlim(x[0], x[-1] if len(x) > 1 else x[0] + 1)
        ax.grid(alpha=0.3, lw=0.4)
        if len(lines) > 1:
            ax.legend(frameon=False)
        return _encode(fig)


def image_map(image: np.ndarray, title: str) -> str:
    """A 2-D map (a 3-D volume shows up to six evenly spaced slices of its last axis)."""
    with _rc():
        arr = np.asarray(image, dtype=np.float32)
        if arr.ndim == 3:
            picks = np.unique(np.linspace(0, arr.shape[2] - 1, min(6, arr.shape[2])).astype(int))
            arr = np.concatenate([arr[:, :, k].T[::-1] for k in picks], axis=1)
        finite = arr[np.isfinite(arr)]
        hi = float(np.percentile(finite, 99)) if finite.size else 1.0
        fig = _figure(6.5 if arr.shape[1] > 1.5 * arr.shape[0] else 3.6, 3.2)
        ax = fig.subplots()
        im = ax.imshow(arr, cmap="viridis", vmin=0, vmax=hi or 1.0, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.axis("off")
        ax.set_title(title)
        return _encode(fig)
