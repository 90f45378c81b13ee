"""Channel repair: bad channels rebuilt from the good ones.

EEG channels with positions get spherical splines through MNE. MNE's ``interpolate_bads`` is
linear: each bad channel becomes a fixed weighted sum of the good ones. Running it once on an
identity "recording" (good channel *j* is 1 at sample *j*) therefore yields the weight matrix
itself, through MNE's public API.

Channels without positions (or of other data types: ECoG, sEEG, LFP, probes) get a ridge
regression on their most correlated good peers of the same type, learned from the recording
itself (see :mod:`._regression`). Either way the repair is one matrix product per block,
whatever the recording's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import zero_nonfinite
from ..core.provenance import CorrectionStep, Region
from ..core.timeseries import TimeSeries
from .base import Step

__all__ = ["ChannelRepair"]

_EEG = ("eeg",)
# Types whose channels record the same field as their peers, so peers can predict them.
_DATA = ("eeg", "meg", "seeg", "ecog", "ephys", "lfp")


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
    """Replace bad channels by spherical splines (EEG with positions) or a learned regression
    on their peers (everything else).

    Parameters
    ----------
    bads : sequence of str | None
        Channels to repair. default: ``None`` (the bad channels of the ``qc`` given to
        :meth:`fit`).
    method : {"auto", "spline", "regression"}
        ``"auto"`` uses splines for EEG channels with a position (interpolated from the
        good EEG channels that have one), and the regression otherwise. default: ``"auto"``.

    Attributes
    ----------
    bads_ : list of str
        Channels repaired.
    methods_ : dict of str to str
        How each repaired channel was rebuilt.
    not_repaired_ : dict of str to str
        Bad channels left as they are, with the reason.
    matrix_ : ndarray ``(n_repaired, n_sources)``
        Repair weights over the source channels ``source_idx_``; ``intercept_`` is added.
    """

    name = "channels"

    def __init__(self, bads: list[str] | None = None, method: str = "auto") -> None:
        self.bads = bads
        self.method = method

    def fit(self, ts: TimeSeries, qc: Any = None) -> ChannelRepair:
        """Work out the repair weights (skipped with a reason when impossible)."""
        from ..core.errors import ParameterError

        if self.method not in ("auto", "spline", "regression"):
            raise ParameterError(
                f"method={self.method!r} is not one of 'auto', 'spline', 'regression'."
            )
        self.skipped_ = None
        self.bads_, self.methods_, self.not_repaired_, self.heldout_r_ = [], {}, {}, {}
        names = list(ts.ch_names)
        wanted = list(self.bads) if self.bads is not None else list(getattr(qc, "bad_channels", []))
        unknown = [b for b in wanted if b not in names]
        if unknown:
            raise ParameterError(
                f"bad channel(s) {', '.join(unknown)} are not in the recording; check the names."
            )
        types = ts.channels.types
        bad_set = {names.index(b) for b in wanted}
        rows: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        samples: dict[str, tuple] = {}
        for b in wanted:
            if types[names.index(b)] not in _DATA:
                self.not_repaired_[b] = f"a {types[names.index(b)]} channel: not repaired"
        spline_bad, spline_good = self._spline_groups(ts, wanted, bad_set)
        if spline_bad:
            weights = _interpolation_matrix(ts, spline_bad, spline_good)
            for i, b in enumerate(spline_bad):
                rows[b] = (np.array(spline_good), weights[i], 0.0)
                self.methods_[names[b]] = "spherical_spline"
        for b in wanted:
            i = names.index(b)
            if i in rows or b in self.not_repaired_:
                continue
            peers = [j for j, t in enumerate(types) if t == types[i] and j not in bad_set]
            if self.method == "spline":
                self.not_repaired_[b] = "spline repair needs EEG channels with positions"
                continue
            if len(peers) < 3:
                self.not_repaired_[b] = f"only {len(peers)} good {types[i]} channels to learn from"
                continue
            from ._regression import fit_regression, sample_blocks

            if types[i] not in samples:
                # One read of the type's channels serves all its bad channels.
                same = [j for j, t in enumerate(types) if t == types[i]]
                samples[types[i]] = sample_blocks(ts, same)
            fit = fit_regression(ts, i, peers, sample=samples[types[i]])
            if fit.weights is None:
                self.not_repaired_[b] = str(fit.reason)
                continue
            rows[i] = (fit.peers, fit.weights, fit.intercept)
            self.methods_[b] = "regression"
            self.heldout_r_[b] = round(fit.heldout_r, 3)
        if not rows:
            self.skipped_ = (
                "no bad channels"
                if not wanted
                else "; ".join(f"{b}: {why}" for b, why in self.not_repaired_.items())
            )
            return self
        order = sorted(rows)
        sources = sorted({int(j) for b in order for j in rows[b][0]})
        where = {j: k for k, j in enumerate(sources)}
        self.matrix_ = np.zeros((len(order), len(sources)), dtype=np.float32)
        self.intercept_ = np.zeros((len(order), 1), dtype=np.float32)
        for r, b in enumerate(order):
            src, w, c = rows[b]
            self.matrix_[r, [where[int(j)] for j in src]] = w
            self.intercept_[r, 0] = c
        self.bad_idx_, self.source_idx_ = np.array(order), np.array(sources)
        self.bads_ = [names[i] for i in order]
        self.duration_ = ts.duration
        self.margin_ = 0
        return self

    def _spline_groups(
        self, ts: TimeSeries, wanted: list[str], bad_set: set[int]
    ) -> tuple[list[int], list[int]]:
        """Bad and good EEG indices for the spline, or empty lists when it cannot run."""
        if self.method == "regression":
            return [], []
        names, types = list(ts.ch_names), ts.channels.types
        pos = ts.channels.positions
        placed = np.zeros(len(names), bool) if pos is None else np.isfinite(pos).all(axis=1)
        bad = [names.index(b) for b in wanted if types[names.index(b)] in _EEG]
        # An unplaced good channel is left out of the spline's sources; an unplaced bad
        # one goes to the regression (below) instead of stopping the spline for all.
        peers = [i for i, t in enumerate(types) if t in _EEG and i not in bad_set]
        good = [i for i in peers if placed[i]]
        if self.method != "spline" and len(good) >= 4:
            bad = [i for i in bad if placed[i]]
        if not bad or pos is None or not placed[bad].all() or len(good) < 4:
            if bad and self.method == "spline":
                why = (
                    "channel positions are missing: spherical-spline repair needs a montage "
                    "(read the file with one: --option montage=standard_1020, or "
                    "nl.read(path, montage=...))"
                    if len(peers) >= 4
                    else f"only {len(peers)} good EEG channels: too few to interpolate from"
                )
                for i in bad:
                    self.not_repaired_[names[i]] = why
            return [], []
        return bad, good

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with the bad channels rebuilt from the good ones."""
        out = block.astype(np.float32, copy=True)
        # A source's missing samples (NaN or inf) read as 0, not as float32's largest value.
        source = zero_nonfinite(out[self.source_idx_])  # fancy indexing: a copy
        out[self.bad_idx_] = self.matrix_ @ source + self.intercept_
        return out

    def log(self) -> CorrectionStep:
        params: dict[str, Any] = {"bads": list(self.bads_), "methods": dict(self.methods_)}
        if self.heldout_r_:
            params["heldout_r"] = dict(self.heldout_r_)
        if self.not_repaired_:
            params["not_repaired"] = dict(self.not_repaired_)
        methods = sorted(set(self.methods_.values()))
        label = {
            "spherical_spline": "spherical_spline (mne.interpolate_bads)",
            "regression": "regression on peers (learned from the recording)",
        }
        regions = [Region(0.0, float(self.duration_), tuple(self.bads_))] if self.bads_ else []
        return CorrectionStep(
            name=self.name,
            method=" + ".join(label[m] for m in methods) if methods else "none",
            parameters=params,
            regions=regions,
            skipped=self.skipped_,
        )
