"""A summary of a recording: what ``neurolint info`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.imaging import Movie, VolumeSeries
from ..core.timeseries import TimeSeries

__all__ = ["describe", "format_description"]


def _size_on_disk(path: str | None) -> int | None:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    if not p.exists():
        return None
    size = p.stat().st_size
    # Count companion files that hold the data (BrainVision .eeg, EEGLAB .fdt, sidecars).
    for ext in (".fdt", ".eeg", ".dat", ".vmrk", ".json", ".meta"):
        comp = p.with_suffix(ext)
        if comp != p and comp.is_file():
            size += comp.stat().st_size
    return size


def describe(obj: TimeSeries | Movie | VolumeSeries) -> dict[str, Any]:
    """Return modality, shape, rate, duration, channels, dtype and size on disk; for a time
    series also the bad channels the file marks and its annotations (count by text)."""
    out: dict[str, Any] = {
        "path": obj.source,
        "format": obj.meta.get("format"),
        "modality": obj.modality,
        "shape": list(obj.shape),
        "sampling_rate": obj.sampling_rate,
        "duration": obj.duration,
        "dtype": str(obj.stored_dtype),
        "size_on_disk": _size_on_disk(obj.source),
    }
    if isinstance(obj, TimeSeries):
        out["n_channels"] = obj.n_channels
        out["n_samples"] = obj.n_samples
        out["channels"] = [
            {"name": n, "type": t, "unit": u}
            for n, t, u in zip(obj.ch_names, obj.channels.types, obj.channels.units, strict=True)
        ]
        out["has_positions"] = obj.channels.positions is not None
        out["bads"] = list(obj.meta.get("bads") or [])
        kinds: dict[str, int] = {}
        for ann in obj.meta.get("annotations") or []:
            kinds[ann["description"]] = kinds.get(ann["description"], 0) + 1
        out["annotations"] = kinds  # description -> count
    elif isinstance(obj, Movie):
        out["n_frames"] = obj.n_frames
        out["pixel_size_um"] = None if obj.pixel_size is None else list(obj.pixel_size)
    elif isinstance(obj, VolumeSeries):
        out["n_volumes"] = obj.n_volumes
        out["tr"] = obj.tr
        out["voxel_size_mm"] = None if obj.voxel_size is None else list(obj.voxel_size)
    return out


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def format_description(desc: dict[str, Any], max_channels: int = 64) -> str:
    """Plain-text rendering of :func:`describe`."""
    lines = [
        f"path:          {desc['path'] or '(in memory)'}",
        f"format:        {desc.get('format') or 'unknown'}",
        f"modality:      {desc['modality']}",
        f"shape:         {' x '.join(str(s) for s in desc['shape'])}",
        f"sampling rate: {desc['sampling_rate']:g} Hz",
        f"duration:      {desc['duration']:.3f} s",
        f"dtype:         {desc['dtype']} (read as float32)",
        f"size on disk:  {_human_bytes(desc['size_on_disk'])}",
    ]
    if "channels" in desc:
        chans = desc["channels"]
        counts: dict[str, int] = {}
        for c in chans:
            counts[c["type"]] = counts.get(c["type"], 0) + 1
        lines.append(
            f"channels:      {len(chans)} ("
            + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            + ")"
        )
        shown = chans[:max_channels]
        lines.extend(f"  {c['name']:<16} {c['type']:<6} {c['unit']}" for c in shown)
        if len(chans) > len(shown):
            lines.append(f"  ... and {len(chans) - len(shown)} more")
        if desc.get("bads"):
            lines.append(f"bad channels:  {', '.join(desc['bads'])} (as marked in the file)")
        kinds = desc.get("annotations") or {}
        if kinds:
            top = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
            listed = ", ".join(f"{k} ({v})" for k, v in top[:8])
            more = f", ... {len(top) - 8} more kinds" if len(top) > 8 else ""
            lines.append(f"annotations:   {sum(kinds.values())}: {listed}{more}")
    for key, label in (
        ("tr", "TR"),
        ("pixel_size_um", "pixel size"),
        ("voxel_size_mm", "voxel size"),
    ):
        if key in desc:
            value = "unknown" if desc[key] is None else desc[key]
            lines.append(f"{label + ':':<15}{value}")
    return "\n".join(lines)
