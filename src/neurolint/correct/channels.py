"""Channel repair: bad EEG channels rebuilt from the good ones by spherical splines (MNE).

MNE's ``interpolate_bads`` is linear: each bad channel becomes a fixed weighted sum of the
good ones. Running it once on an identity "recording" (good channel *j* is 1 at sample *j*)
therefore yields the weight matrix itself, through MNE's public API, and the repair is then
one matrix product per block, whatever the recording's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.provenance import CorrectionStep, Region
from ..core.timeseries import TimeSeries
from .base import Step

__all__ = ["ChannelRepair"]

_EEG = ("eeg",)


def _interpolation_matrix(ts: TimeSeries, bad: list[int], good: list[int]) -> np.ndarray:
    """``(n_bad, n_good)`` spherical-spline weights from MNE."""
    import mne

    sub = ts.pick(good + bad)
    identity = np.zeros((len(good) + len(bad), len(good)))
    identity[: len(good)] = np.eye(len(good))
    # Names, types and the digitised montage, from a one-second view (not the recording).
    info = sub.time_slice(0, min(1.0, sub.duration)).to_mne().info
    raw = mne.io.RawArray(identity, info, verbose="error")
    raw.info["bads"] = [ts.ch_names[i] for i in bad]
    raw.interpolate_bads(reset_bads=True, verbose="error")
    return raw.get_data()[len(good) :]


class ChannelRepair(Step):
    """Replace bad channels by spherical-spline interpolation of the good EEG channels.

    Parameters
    ----------
    bads : sequence of str | None
        Channels to repair. default: ``None`` (the bad channels of the ``qc`` given to
        :meth:`fit`).

    Attributes
    ----------
    bads_ : list of str
        Channels repaired.
    matrix_ : ndarray ``(n_bad, n_good)``
        Interpolation weights.
    """

    name = "channels"

    def __init__(self, bads: list[str] | None = None) -> None:
        self.bads = bads

    def fit(self, ts: TimeSeries, qc: Any = None) -> ChannelRepair:
        """Work out the interpolation weights (skipped with a reason when impossible)."""
        self.skipped_ = None
        self.bads_ = []
        names = list(ts.ch_names)
        wanted = list(self.bads) if self.bads is not None else list(getattr(qc, "bad_channels", []))
        unknown = [b for b in wanted if b not in names]
        if unknown:
            from ..core.errors import ParameterError

            raise ParameterError(
                f"bad channel(s) {', '.join(unknown)} are not in the recording; check the names."
            )
        types = ts.channels.types
        bad = [names.index(b) for b in wanted if types[names.index(b)] in _EEG]
        not_eeg = [b for b in wanted if types[names.index(b)] not in _EEG]
        good = [i for i, t in enumerate(types) if t in _EEG and i not in bad]
        self.not_repaired_ = not_eeg
        if not bad:
            self.skipped_ = (
                "no bad channels"
                if not wanted
                else f"only non-EEG bad channels ({', '.join(not_eeg)}): nothing to interpolate"
            )
            return self
        pos = ts.channels.positions
        if pos is None or not np.isfinite(pos[bad + good]).all():
            self.skipped_ = (
                "channel positions are missing: spherical-spline repair needs a montage "
                "(set one, or read a file that has electrode positions)"
            )
            return self
        if len(good) < 4:
            self.skipped_ = f"only {len(good)} good EEG channels: too few to interpolate from"
            return self
        self.matrix_ = _interpolation_matrix(ts, bad, good).astype(np.float32)
        self.bad_idx_, self.good_idx_ = np.array(bad), np.array(good)
        self.bads_ = [names[i] for i in bad]
        self.duration_ = ts.duration
        self.margin_ = 0
        return self

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with the bad channels rebuilt from the good ones."""
        out = block.astype(np.float32, copy=True)
        out[self.bad_idx_] = self.matrix_ @ np.nan_to_num(out[self.good_idx_])
        return out

    def log(self) -> CorrectionStep:
        params: dict[str, Any] = {"bads": list(self.bads_)}
        if getattr(self, "not_repaired_", None):
            params["not_repaired"] = list(self.not_repaired_)
        regions = [Region(0.0, float(self.duration_), tuple(self.bads_))] if self.bads_ else []
        return CorrectionStep(
            name=self.name,
            method="spherical_spline (mne.interpolate_bads)",
            parameters=params,
            regions=regions,
            skipped=self.skipped_,
        )
