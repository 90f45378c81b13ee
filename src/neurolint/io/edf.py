"""EDF/BDF output through MNE's exporter (edfio underneath)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import DataValueError
from ..core.timeseries import TimeSeries
from ._atomic import atomic_path

__all__ = ["write_edf"]


def write_edf(ts: TimeSeries, path: Path, *, overwrite: bool = False, **_: Any) -> None:
    """Write EDF (16-bit) or BDF (24-bit), chosen by the extension.

    Labels carry the type as EDF+ recommends (``"EEG Fp1"``, ``"EOG EOG1"``), which
    :func:`neurolint.read` turns back into names and types. The physical range is set per
    channel, so quantisation error is at most range / 65535 (EDF) or range / 16777215 (BDF).
    Types EDF cannot name (``ephys``, ``lfp``) are stored as ``MISC``. Unlike the FIF, NWB
    and binary writers, this one holds the whole series in memory: MNE's exporter writes from
    a loaded ``Raw``, and the per-channel range needs every sample first.
    """
    from mne.export import export_raw

    from ..integrations.mne import to_mne

    raw = to_mne(ts)
    if not raw.preload:
        raw = raw.copy().load_data(verbose="error")
    if not np.isfinite(raw._data).all():
        raise DataValueError(
            f"{path.name}: EDF/BDF cannot store NaN or infinite samples (gaps); write FIF, "
            "NWB or binary instead, or fill the gaps first."
        )
    fmt = "bdf" if path.suffix.lower() == ".bdf" else "edf"
    with atomic_path(path, overwrite) as tmp, warnings.catch_warnings():
        # MNE warns that EDF stores dates and ranges with limited precision; that is the format.
        warnings.simplefilter("ignore")
        export_raw(
            tmp,
            raw,
            fmt=fmt,
            physical_range="channelwise",
            add_ch_type=True,
            overwrite=True,
            verbose="error",
        )
