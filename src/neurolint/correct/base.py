"""What every correction step shares, and the lazy series that applies them block by block.

A step follows the scikit-learn contract: ``__init__`` stores parameters, ``fit(ts, qc)``
learns what it needs from the (already partly corrected) recording and returns ``self``,
``apply(block, start)`` returns a corrected copy of a block that starts at sample ``start``
and carries ``margin_`` samples of context on each side (or the block itself where it changes
nothing there; a step never writes into the block it is given), and ``log()`` says what it
did. Only the block less ``margin_`` on each side (less where the block meets the
recording's ends) is read afterwards. A step that acts only in places (gaps, findings) says
so through ``changes(lo, hi)``: a block whose samples it would leave as they are then skips
it and its margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.arrays import column_tiles
from ..core.chunks import CHUNK_BYTES, chunk_samples
from ..core.provenance import CorrectionStep
from ..core.timeseries import TimeSeries

__all__ = ["CorrectedArray", "EnergyTally", "Float32Rows", "Step", "corrected_series"]


class Step:
    """Base class of correction steps (see the module docstring)."""

    name = "step"
    margin_: int = 0
    skipped_: str | None = None

    def fit(self, ts: TimeSeries, qc: Any = None) -> Step:
        raise NotImplementedError

    def apply(self, block: np.ndarray, start: int) -> np.ndarray:
        raise NotImplementedError

    def changes(self, lo: int, hi: int) -> bool:
        """Whether ``apply`` can change any sample in ``[lo, hi)``; steps that act in places
        say no where they do not, and blocks there then skip them and their margins.
        default: ``True`` (a step that acts everywhere)."""
        return True

    @property
    def active(self) -> bool:
        """Whether the step changes anything (fitted, not skipped)."""
        return self.skipped_ is None

    def log(self) -> CorrectionStep:
        raise NotImplementedError


def _squares(x: np.ndarray) -> np.ndarray:
    """Each row's sum of squares, accumulated in float64."""
    return np.einsum("ij,ij->i", x, x, dtype=np.float64)


class EnergyTally:
    """Per step and channel: energy each step removed and was given, over the samples
    computed so far in one forward stream (``until`` marks how far it has counted)."""

    def __init__(self, names: list[str], n_channels: int) -> None:
        self.removed = {n: np.zeros(n_channels) for n in names}
        self.total = {n: np.zeros(n_channels) for n in names}
        self.until = 0
        self.complete_at: int | None = None

    def add(self, name: str, before: np.ndarray, after: np.ndarray | None) -> None:
        """Count samples finite both before and after (a gap a step fills is not energy);
        ``after=None``: the step left ``before`` as it was."""
        # A tile at a time, in the blocks' own precision with sums in float64: float64
        # copies of every tile cost a probe's write more than the sums themselves.
        # A sum of float32 squares in float64 cannot overflow, so a finite sum means every
        # sample was finite: the usual tile needs no mask (a pass and a copy less).
        for t in column_tiles(before):
            a = before[:, t]
            if after is None:
                given = _squares(a)
                if not np.isfinite(given).all():
                    given = _squares(np.where(np.isfinite(a), a, 0))
            else:
                with np.errstate(invalid="ignore"):  # inf - inf: NaN, as wanted
                    d = a - after[:, t]  # finite exactly where both are
                removed = _squares(d)
                if np.isfinite(removed).all():
                    given = _squares(a)
                else:
                    ok = np.isfinite(d)
                    removed = _squares(np.where(ok, d, 0))
                    given = _squares(np.where(ok, a, 0))
                self.removed[name] += removed
            self.total[name] += given

    def fractions(self, ch_names: list[str]) -> dict[str, dict[str, float]]:
        """Removed over given energy, capped at 1 (rebuilding a flat channel "removes" more
        than it held); 0 for a channel given nothing and left so."""
        return {
            name: {
                ch: float(min(1.0, self.removed[name][i] / total[i]))
                if total[i] > 0
                else float(self.removed[name][i] > 0)
                for i, ch in enumerate(ch_names)
            }
            for name, total in self.total.items()
        }


class Float32Rows:
    """What ``TimeSeries`` needs of a computed backing store: 2-D float32, read by
    ``[rows, start:stop]``; subclasses give ``shape`` and ``__getitem__``."""

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 2

    @staticmethod
    def _span(cols: slice, n: int) -> tuple[int, int]:
        start, stop, step = cols.indices(n)
        if step != 1:
            raise IndexError("Computed series read contiguous sample ranges only.")
        return start, stop


BLOCK_SECONDS = 30.0  #: shortest default block of a corrected series
#: A cached block spans at least this many times the steps' margins (one side): with 8, the
#: margins add at most 25% to the work (at 30 s blocks EEG's 15 s a side doubled it) ...
MARGIN_SHARE = 8
#: No default block takes more than this many bytes per copy (float32, all channels): a
#: 384-channel 30 kHz probe gets 1.5 s blocks, not 30 s of 1.4 GB.
BLOCK_BYTES = CHUNK_BYTES


@dataclass
class CorrectedArray(Float32Rows):
    """A read-only array-like ``(n_channels, n_samples)``: ``source`` after ``steps``.

    Each read takes the requested samples of every channel plus the steps' margins from
    ``source``, applies the steps in order and trims, so concatenated reads equal one
    whole-array correction and memory is bounded by the block read. Short reads of a
    stream are served from one cached block (all channels), so a writer that streams
    second by second does not pay the margins again for every second; a read that neither
    starts the recording nor continues the cached block is computed for its own span only.
    The block is ``block_seconds`` long if given; by default the longer of
    :data:`BLOCK_SECONDS` and :data:`MARGIN_SHARE` times the steps' margins, so the margins,
    computed and thrown away with every block, stay a small share of the work; but never
    more than :data:`BLOCK_BYTES` per copy.
    """

    source: TimeSeries
    steps: list[Step]
    block_seconds: float | None = None
    tally: EnergyTally | None = None

    def __post_init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._cached: tuple[int, int, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "steps": self.steps,
            "block_seconds": self.block_seconds,
            "tally": None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def shape(self) -> tuple[int, int]:
        return (self.source.n_channels, self.source.n_samples)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key
        start, stop = self._span(cols, self.shape[1])
        with self._lock:
            cached = self._cached
            if cached is None or not (cached[0] <= start and stop <= cached[1]):
                # A stream (a read from the start, or one that goes on from the cached
                # block) gets a whole block ahead: its next reads land in it. A read
                # elsewhere (a fit sampling short blocks over the file) gets what it asked
                # for: 40 scattered 68 ms reads of a probe had computed 40 blocks of 1.5 s.
                streaming = start == 0 or (cached is not None and cached[0] <= start <= cached[1])
                # A stream's blocks are whole multiples of its reads, so that no read
                # straddles two blocks and recomputes the tail of the last one.
                n_read = max(1, stop - start)
                reads = max(1, self._block_samples() // n_read) if streaming else 1
                ahead = start + reads * n_read
                hi = min(self.shape[1], ahead)
                cached = (start, hi, self._compute(start, hi))
                self._cached = cached
        a, _, data = cached
        return np.ascontiguousarray(data[:, start - a : stop - a][rows], dtype=np.float32)

    def _block_samples(self) -> int:
        if self.block_seconds is not None:
            return round(self.block_seconds * self.source.sampling_rate)
        rate = self.source.sampling_rate
        wanted = max(BLOCK_SECONDS, MARGIN_SHARE * self._margin() / rate)
        return chunk_samples(wanted, rate, self.shape[0], max_bytes=BLOCK_BYTES)

    def _margin(self) -> int:
        """Samples each side that the active steps need around what they correct."""
        return sum(s.margin_ for s in self.steps if s.active)

    def _compute(self, start: int, stop: int) -> np.ndarray:
        n = self.shape[1]
        # From the last step back: the span each step's output must cover, and whether the
        # step changes anything there. One that does not is skipped with its margin: a
        # probe's gap fill wants 1.6 s a side of 1.5 s blocks, almost none of them with a gap.
        plan: list[tuple[Step, bool]] = []
        rest = 0
        for s in reversed([s for s in self.steps if s.active]):
            changes = getattr(s, "changes", None)  # steps not derived from Step act everywhere
            needed = changes is None or changes(max(0, start - rest), min(n, stop + rest))
            plan.append((s, needed))
            rest += s.margin_ if needed else 0
        plan.reverse()
        lo = max(0, start - rest)
        block = self.source.get_data(lo, min(n, stop + rest))
        tally = self.tally
        # Count each sample once, in a forward stream; a jump ahead leaves a hole.
        count_from = None if tally is None or start > tally.until else max(start, tally.until)
        counting = count_from is not None and count_from < stop
        for s, needed in plan:
            if not needed:
                if counting:
                    tally.add(s.name, block[:, count_from - lo : stop - lo], None)
                continue
            out = s.apply(block, lo)
            if counting:
                core = slice(count_from - lo, stop - lo)
                tally.add(s.name, block[:, core], None if out is block else out[:, core])
            # The steps after this one need only their own margins: the rest of the block
            # was context for this step.
            rest -= s.margin_
            new_lo = max(0, start - rest)
            block = out[:, new_lo - lo : min(n, stop + rest) - lo]
            lo = new_lo
        if count_from is not None:
            tally.until = max(tally.until, stop)
        return block[:, start - lo : stop - lo]


def corrected_series(
    source: TimeSeries, steps: list[Step], tally: EnergyTally | None = None
) -> TimeSeries:
    """A lazy :class:`TimeSeries` with ``source``'s metadata whose samples are corrected
    (and, with a ``tally``, accounted as they are computed)."""
    return TimeSeries(
        CorrectedArray(source, list(steps), tally=tally),
        source.sampling_rate,
        source.channels,
        # Integer writers then store unchanged samples as the integers they were read from.
        integer_storage=source.integer_storage,
        modality=source.modality,
        source=None if source.source is None else str(source.source),
        meta={**dict(source.meta or {}), "corrected": [s.name for s in steps if s.active]},
    )
