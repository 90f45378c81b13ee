"""The learned artifact remover (ocular, muscle, cardiac), applied to 2 s single-channel epochs.

``denoise_epochs`` scales each epoch by its standard deviation, runs the shipped
``eeg-remover`` U-Net (or a given module) and scales back. The network was trained on
EEGdenoiseNet-style semi-synthetic mixtures (see :mod:`neurolint.correct.training`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import zero_nonfinite
from ..core.errors import ShapeError
from ..core.provenance import CorrectionStep
from ..core.timeseries import TimeSeries
from .base import Step

__all__ = [
    "COVERED",
    "DEFAULT_KINDS",
    "EPOCH_SAMPLES",
    "MODEL_RATE",
    "ArtifactRemover",
    "denoise_epochs",
]

MODEL_RATE = 256.0
EPOCH_SAMPLES = 512

_CACHE: dict[str, Any] = {}


def _module(name: str) -> Any:
    if name not in _CACHE:
        from ..models.registry import load_model

        _CACHE[name] = load_model(name)[0]
    return _CACHE[name]


def _in_channels(net: Any) -> int:
    return int(net.down1[0].in_channels) if hasattr(net, "down1") else 1


def denoise_epochs(
    noisy: np.ndarray,
    *,
    context: np.ndarray | None = None,
    module: Any = None,
    model: str = "eeg-remover",
    batch_size: int = 32,
) -> np.ndarray:
    """Clean estimates of single-channel epochs at 256 Hz.

    Parameters
    ----------
    noisy : ndarray ``(n_epochs, n_samples)``
        Epochs in any unit; ``n_samples`` a multiple of 8 (the model saw 512).
    context : ndarray ``(n_epochs, n_samples)`` | None
        The mean of each epoch's neighbouring channels over the same time, same unit. A
        model trained with context uses it (and copes without: ``None`` gives zeros); a
        model without ignores it. default: ``None``.
    module : torch.nn.Module | None
        A remover network to use instead of the registered ``model``. default: ``None``.
    model : str
        Registered model name or ``.safetensors`` path. default: ``"eeg-remover"``.
    batch_size : int
        Epochs per forward pass (small batches stay in cache: 32 ran about 30% faster than 64
        on two cores). default: 32.

    Returns
    -------
    ndarray ``(n_epochs, n_samples)``, float32, in the input's unit.
    """
    import torch

    x = np.asarray(noisy, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] % 8:
        raise ShapeError(
            f"Epochs must be (n_epochs, n_samples) with n_samples a multiple of 8; got "
            f"{x.shape}. Cut 2 s epochs at 256 Hz (512 samples)."
        )
    net = module if module is not None else _module(model)
    std = x.std(axis=1, keepdims=True) + 1e-30
    # One (n_epochs, n_inputs, n_samples) array, so that each batch is a view, not a copy.
    inputs = np.zeros((x.shape[0], _in_channels(net), x.shape[1]), dtype=np.float32)
    np.divide(x, std, out=inputs[:, 0])
    if inputs.shape[1] == 2 and context is not None:
        from .training import CONTEXT_CLIP

        ctx = np.asarray(context, np.float32)
        if ctx.shape != x.shape:
            raise ShapeError(f"context has shape {ctx.shape}; expected {x.shape}, like noisy.")
        inputs[:, 1] = np.clip(np.nan_to_num(ctx / std), -CONTEXT_CLIP, CONTEXT_CLIP)
    dev = next(net.parameters()).device
    out = np.empty(x.shape, dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(inputs[i : i + batch_size]).to(dev)
            out[i : i + batch_size] = net(xb)[:, 0].float().cpu().numpy()
    return out * std


# EOG channels record the eyes on purpose: they are a reference, not something to clean.
_EEG_LIKE = ("eeg", "ecog", "seeg")
#: Finding kinds the shipped remover cleans. It was trained on ocular, muscle and heartbeat
#: mixtures; movement deflections, slow waves much like eye movements, it also takes out
#: (after the ``movement`` step it leaves 11% of their energy instead of 13% on validation
#: seeds; ``neurolint bench movement``).
COVERED = ("blink", "saccade", "muscle", "ecg", "movement")
#: Kinds cleaned unless asked otherwise. Heartbeats are left out: at their usual size in
#: EEG the remover changes the EEG under them by more than the heartbeat's own energy
#: (``neurolint bench cardiac``); it helps only where they are as large as the EEG.
DEFAULT_KINDS = ("blink", "saccade", "muscle", "movement")


class ArtifactRemover(Step):
    """Remove ocular, muscle, movement (and cardiac) artifacts with the learned remover.

    Each finding of a covered kind gets 2 s windows (one per second of its length) on its
    channels (every EEG channel when it names none). Each window is resampled to 256 Hz,
    cleaned by the network, and what the network removed is resampled back and subtracted
    under a raised-cosine weight, so corrections fade in and out over ``fade`` seconds and
    overlapping windows average instead of adding up.

    Parameters
    ----------
    kinds : sequence of str
        Finding kinds to act on (of :data:`COVERED`). default: :data:`DEFAULT_KINDS`
        (ocular, muscle and movement; add ``"ecg"`` for heartbeats as large as the EEG).
    where : {"findings", "everywhere"}
        Only around the assessment's findings (needs ``qc``), or over every channel and
        second of the recording. default: ``"findings"``. Seen one window at a time, slow
        potentials look like small blinks: "everywhere" cut a simulated P300's peak at Pz
        from 8.6 to 7.4 µV in our tests, so keep it for data without such components.
    model : str
        Registered remover or ``.safetensors`` path. default: ``"eeg-remover"``.
    fade : float
        Seconds of cross-fade at each window edge. default: 0.25.

    Attributes
    ----------
    windows_ : ndarray ``(n, 3)``
        ``(channel, start, stop)`` samples of every window cleaned.
    ignored_ : dict
        Finding kinds present in ``qc`` that this step did not act on, with counts.
    """

    name = "artifacts"

    def __init__(
        self,
        kinds: tuple[str, ...] | list[str] = DEFAULT_KINDS,
        where: str = "findings",
        model: str = "eeg-remover",
        fade: float = 0.25,
    ) -> None:
        self.kinds = kinds
        self.where = where
        self.model = model
        self.fade = fade

    def fit(self, ts: TimeSeries, qc: Any = None) -> ArtifactRemover:
        """Choose the windows to clean and load the network."""
        from ..core.errors import ParameterError
        from ..core.validate import check_option

        check_option("where", self.where, ("findings", "everywhere"))
        unknown = sorted(set(self.kinds) - set(COVERED))
        if unknown:
            raise ParameterError(
                f"The remover is not trained for {', '.join(unknown)}; choose from "
                f"{', '.join(COVERED)}."
            )
        self.skipped_ = None
        self.ignored_ = {}
        sfreq = ts.sampling_rate
        self.sfreq_ = sfreq
        self.names_ = list(ts.ch_names)
        self.length_ = round(EPOCH_SAMPLES / MODEL_RATE * sfreq)
        self.margin_ = self.length_
        eeg = [i for i, t in enumerate(ts.channels.types) if t in _EEG_LIKE]
        if not eeg:
            eeg = list(range(ts.n_channels)) if set(ts.channels.types) <= {"misc"} else []
        bad = set(getattr(qc, "bad_channels", []) or [])
        eeg = [i for i in eeg if ts.ch_names[i] not in bad]
        windows: list[tuple[int, int, int]] = []
        if sfreq < 100.0:
            self.skipped_ = f"{sfreq:g} Hz is below the remover's minimum of 100 Hz"
        elif ts.n_samples < self.length_:
            self.skipped_ = "the recording is shorter than one 2 s window"
        elif not eeg:
            self.skipped_ = "no EEG channels to clean"
        elif self.where == "everywhere":
            for start in self._starts(0, ts.n_samples, ts.n_samples):
                windows += [(ch, start, start + self.length_) for ch in eeg]
        elif qc is None:
            self.skipped_ = "no assessment given: pass qc (from check) or where='everywhere'"
        else:
            lookup = {n: i for i, n in enumerate(ts.ch_names)}
            for event in qc.events:
                if event.kind not in self.kinds:
                    if event.kind != "anomaly":
                        self.ignored_[event.kind] = self.ignored_.get(event.kind, 0) + 1
                    continue
                chans = [lookup[c] for c in event.channels if c in lookup] or eeg
                chans = [c for c in chans if c in eeg]
                a, z = round(event.onset * sfreq), round(event.offset * sfreq)
                for start in self._starts(a, z, ts.n_samples):
                    windows += [(ch, start, start + self.length_) for ch in chans]
            if not windows:
                self.skipped_ = f"no findings of kind {', '.join(self.kinds)} to clean"
        rows = sorted(set(windows), key=lambda w: (w[1], w[0]))
        self.windows_ = np.array(rows, dtype=np.int64).reshape(-1, 3)
        self.context_ = False
        if self.skipped_ is None:
            # A missing or corrupt model fails here, not mid-write.
            self.context_ = _in_channels(_module(self.model)) == 2
            if self.context_:
                from ._context import eeg_neighbours

                self.neighbours_ = eeg_neighbours(ts.channels, eeg)
        return self

    def _starts(self, a: int, z: int, n: int) -> list[int]:
        """Window starts covering ``[a, z)`` (centred on short findings), one per second."""
        length = self.length_
        hop = max(1, length // 2)
        centre = (a + z) // 2
        if z - a <= hop:
            starts = [centre - length // 2]
        else:
            starts = list(range(a - length // 4, z - length + length // 4 + hop, hop))
        return sorted({min(max(0, s), n - length) for s in starts})

    def _weight(self) -> np.ndarray:
        n = self.length_
        ramp = max(1, min(n // 2, round(self.fade * self.sfreq_)))
        w = np.ones(n)
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        w[:ramp], w[-ramp:] = edge, edge[::-1]
        return w

    def changes(self, lo: int, hi: int) -> bool:
        """Whether a window to clean overlaps ``[lo, hi)`` (windows are sorted by start)."""
        starts = self.windows_[:, 1]
        first = int(np.searchsorted(starts, lo - self.length_ + 1))
        return bool(first < len(starts) and starts[first] < hi)

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        """The block with the windows that lie in it cleaned."""
        from scipy.signal import resample_poly

        stop = start + block.shape[1]
        inside = (self.windows_[:, 1] >= start) & (self.windows_[:, 2] <= stop)
        if not inside.any():
            return block
        wins = self.windows_[inside]
        x = np.stack([block[ch, a - start : b - start] for ch, a, b in wins]).astype(np.float64)
        x = zero_nonfinite(x)  # a stacked copy
        up, down = _ratio(self.sfreq_)

        def to_model(arr: np.ndarray) -> np.ndarray:
            arr = resample_poly(arr, up, down, axis=1) if up != down else arr
            return _fit_length(arr, EPOCH_SAMPLES)

        model_x = to_model(x)
        ctx = None
        if self.context_:
            ctx = to_model(self._contexts(block, start, wins)).astype(np.float32)
        module = _module(self.model)
        removed = model_x - denoise_epochs(model_x.astype(np.float32), context=ctx, module=module)
        if up != down:
            removed = resample_poly(removed, down, up, axis=1)
        removed = _fit_length(removed, self.length_)
        weight = self._weight()
        acc = np.zeros(block.shape, dtype=np.float64)
        total = np.zeros(block.shape, dtype=np.float64)
        for (ch, a, b), r in zip(wins, removed, strict=True):
            acc[ch, a - start : b - start] += weight * r
            total[ch, a - start : b - start] += weight
        out = block.astype(np.float64) - acc / np.maximum(total, 1.0)
        out = out.astype(np.float32)
        gaps = ~np.isfinite(block)
        out[gaps] = block[gaps]  # gaps stay gaps: NaN and inf as recorded
        return out

    def _contexts(self, block: np.ndarray, start: int, wins: np.ndarray) -> np.ndarray:
        """Each window's neighbour mean (zeros for a channel without neighbours)."""
        out = np.zeros((len(wins), self.length_))
        for i, (ch, a, b) in enumerate(wins):
            nb = self.neighbours_.get(int(ch), [])
            if nb:
                out[i] = zero_nonfinite(block[nb, a - start : b - start]).mean(axis=0)
        return out

    def log(self) -> CorrectionStep:
        from ..core.provenance import Region

        sfreq = getattr(self, "sfreq_", 1.0)
        names = getattr(self, "names_", [])
        regions = [
            Region(float(a / sfreq), float((b - a) / sfreq), (names[ch],))
            for ch, a, b in getattr(self, "windows_", np.zeros((0, 3), int))
        ]
        return CorrectionStep(
            name=self.name,
            method=f"{self.model} (1D U-Net"
            + (", neighbours as context)" if getattr(self, "context_", False) else ")"),
            parameters={
                "kinds": list(self.kinds),
                "where": self.where,
                "fade": self.fade,
                "n_windows": len(regions),
                "not_covered": dict(getattr(self, "ignored_", {})),
            },
            regions=regions,
            skipped=self.skipped_,
        )


def _ratio(sfreq: float) -> tuple[int, int]:
    from fractions import Fraction

    frac = Fraction(MODEL_RATE / sfreq).limit_denominator(1000)
    return frac.numerator, frac.denominator


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return x[:, :n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])), mode="edge")
