"""Quality of imaging movies (two-photon, widefield): motion, blank frames, brightness spikes and
steps, saturation, bleaching and a per-pixel SNR map.

The movie is read once, in blocks of frames, so memory is bounded by the block. Per frame:

- **motion**: rigid shift against a reference image by phase correlation (whitened cross-power
  spectrum, Gaussian-smoothed, sub-pixel by a 3-point Gaussian fit of the peak; one FFT per
  frame, vectorised over the block). The reference (:meth:`MovieDetector.fit`) is the average
  of the early frames that correlate best with one another, registered to each other once.
- **gap**: blank or dropped frames: mostly NaN/inf, constant (all zero included), or an exact
  repeat of the frame before (a dropped frame filled by repetition).
- **saturation**: frames with a fraction of pixels at the movie's maximum (the clipping level:
  the dtype's maximum for saturated integer data).
- **intensity_spike**: outliers of the frame mean (one to a few frames) against a running
  median (robust z-score and a least relative change), and sudden sustained brightness steps
  (median of the frames after against the frames before); ``extras["feature"]`` is
  ``"frame_mean_change"`` or ``"brightness_step"``.
- **motion** events: frame-to-frame jumps larger than ``motion_threshold`` pixels, and frames
  displaced from the reference by more than ``max_displacement`` pixels, among the frames that
  match the reference better than chance (unstructured frames have no meaningful shift).
- **bleaching**: exponential fit of the frame mean (fraction lost over the movie); a severe loss
  is reported as an ``anomaly`` (the vocabulary has no bleaching kind).
- **SNR map**: temporal mean over the noise, the noise being the RMS frame-to-frame difference
  over sqrt(2) (insensitive to slow changes).
- **frame quality** in [0, 1]: the registration peak over the movie's median peak, 0 on gap
  frames and at most 0.5 on frames inside any event.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ShapeError
from ..core.imaging import Movie
from ..core.validate import check_positive
from ._frames import _check_fraction, _check_int, _check_workers
from .base import Detection
from .imaging_findings import _DETECTOR, _movie_detection
from .imaging_scan import _movie_reference, _scan_movie

__all__ = ["MovieDetector"]


class MovieDetector:
    """Find motion, blank frames, brightness spikes and steps, saturation and bleaching in a
    movie, with per-frame motion and quality traces and a per-pixel SNR map.

    Parameters
    ----------
    motion_threshold : float
        A jump of more than this many pixels between consecutive frames is a ``motion`` event.
        default: 1.0.
    max_displacement : float | None
        Frames displaced from the reference by more than this many pixels are a ``motion``
        event. default: ``None`` (a tenth of the smaller frame side).
    spike_threshold : float
        Robust z-score (MAD units) of the frame mean against its running median above which a
        frame is an ``intensity_spike``. default: 8.
    spike_min_change : float
        ... and the least relative change of the frame mean (both must hold). default: 0.05.
    spike_window : int
        Frames in the running median; spikes up to half of it long are found. default: 7.
    step_threshold : float
        Robust z-score of a brightness step (median of ``step_window`` frames after against
        before) above which it is reported. default: 8.
    step_min_change : float
        ... and the least relative size of the step. default: 0.1.
    step_window : int
        Frames on each side of a step. default: 15.
    saturation_fraction : float
        Fraction of a frame's pixels at the movie's maximum above which the frame is
        saturated; at least 3 pixels are needed. default: 0.001.
    gap_nan_fraction : float
        Fraction of NaN/inf pixels above which a frame counts as missing. default: 0.5.
    bleaching_threshold : float | None
        Fraction of brightness lost over the movie (exponential fit) above which an
        ``anomaly`` finding reports it; ``None`` never reports it. default: 0.5.
    n_reference : int
        Early frames examined to build the reference. default: 200.
    n_average : int
        Best-correlated frames averaged into the reference. default: 20.
    smooth_sigma : float
        Gaussian smoothing (pixels) of the phase correlation. default: 1.15.
    block_size : int | None
        Frames read and transformed at once (bounds memory). default: ``None`` (about 4
        million pixels per block).
    n_jobs : int
        Threads for the FFTs; -1 uses every core. default: 1.
    progress_bar : bool
        Show a progress bar while reading. default: ``False``.

    Attributes
    ----------
    reference_ : numpy.ndarray
        ``(H, W)`` reference image, set by :meth:`fit`.
    frame_shape_ : tuple of int
    """

    detector_name = _DETECTOR

    def __init__(
        self,
        *,
        motion_threshold: float = 1.0,
        max_displacement: float | None = None,
        spike_threshold: float = 8.0,
        spike_min_change: float = 0.05,
        spike_window: int = 7,
        step_threshold: float = 8.0,
        step_min_change: float = 0.1,
        step_window: int = 15,
        saturation_fraction: float = 0.001,
        gap_nan_fraction: float = 0.5,
        bleaching_threshold: float | None = 0.5,
        n_reference: int = 200,
        n_average: int = 20,
        smooth_sigma: float = 1.15,
        block_size: int | None = None,
        n_jobs: int = 1,
        progress_bar: bool = False,
    ) -> None:
        self.motion_threshold = motion_threshold
        self.max_displacement = max_displacement
        self.spike_threshold = spike_threshold
        self.spike_min_change = spike_min_change
        self.spike_window = spike_window
        self.step_threshold = step_threshold
        self.step_min_change = step_min_change
        self.step_window = step_window
        self.saturation_fraction = saturation_fraction
        self.gap_nan_fraction = gap_nan_fraction
        self.bleaching_threshold = bleaching_threshold
        self.n_reference = n_reference
        self.n_average = n_average
        self.smooth_sigma = smooth_sigma
        self.block_size = block_size
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar

    # -- parameters ------------------------------------------------------------------------
    def _validated(self) -> dict[str, Any]:
        p = {
            "motion_threshold": check_positive("motion_threshold", self.motion_threshold),
            "spike_threshold": check_positive("spike_threshold", self.spike_threshold),
            "spike_min_change": check_positive(
                "spike_min_change", self.spike_min_change, allow_zero=True
            ),
            "spike_window": _check_int("spike_window", self.spike_window, 3),
            "step_threshold": check_positive("step_threshold", self.step_threshold),
            "step_min_change": check_positive(
                "step_min_change", self.step_min_change, allow_zero=True
            ),
            "step_window": _check_int("step_window", self.step_window, 2),
            "saturation_fraction": _check_fraction("saturation_fraction", self.saturation_fraction),
            "gap_nan_fraction": _check_fraction("gap_nan_fraction", self.gap_nan_fraction),
            "n_reference": _check_int("n_reference", self.n_reference, 1),
            "n_average": _check_int("n_average", self.n_average, 1),
            "smooth_sigma": check_positive("smooth_sigma", self.smooth_sigma, allow_zero=True),
            "workers": _check_workers(self.n_jobs),
        }
        p["max_displacement"] = (
            None
            if self.max_displacement is None
            else check_positive("max_displacement", self.max_displacement)
        )
        p["bleaching_threshold"] = (
            None
            if self.bleaching_threshold is None
            else _check_fraction("bleaching_threshold", self.bleaching_threshold)
        )
        p["block_size"] = (
            None if self.block_size is None else _check_int("block_size", self.block_size, 1)
        )
        return p

    @staticmethod
    def _check_movie(movie: Any) -> Movie:
        if not isinstance(movie, Movie):
            from ..core.imaging import VolumeSeries

            if isinstance(movie, VolumeSeries):
                raise ShapeError(
                    "MovieDetector takes a Movie (frames of 2-D images); use FmriDetector for "
                    "a VolumeSeries."
                )
            raise ShapeError(
                f"MovieDetector takes a neurolint Movie, not {type(movie).__name__}; wrap a "
                "(frames, height, width) array with neurolint.Movie(data, frame_rate)."
            )
        return movie

    # -- reference -------------------------------------------------------------------------
    def fit(self, movie: Movie) -> MovieDetector:
        """Build the motion reference from the movie's early frames.

        Of the first ``n_reference`` usable frames, the one whose ``n_average`` best
        correlations with the others are highest is chosen with those partners; they are
        registered to their mean and averaged again.

        Parameters
        ----------
        movie : Movie

        Returns
        -------
        MovieDetector
            ``self``, with ``reference_`` and ``frame_shape_`` set.
        """
        p = self._validated()
        movie = self._check_movie(movie)
        self.reference_ = _movie_reference(movie, p)
        self.frame_shape_ = tuple(movie.shape[1:])
        return self

    # -- detection -------------------------------------------------------------------------
    def detect(self, movie: Movie) -> Detection:
        """Assess a movie.

        Without a prior :meth:`fit`, the reference is built from this movie (and not kept).

        Parameters
        ----------
        movie : Movie

        Returns
        -------
        Detection
            ``detector="imaging"``; events of kinds ``motion``, ``gap``, ``saturation``,
            ``intensity_spike`` and ``anomaly`` (severe bleaching), each with ``extras``
            ``{"feature", "value", "threshold", ...}``; ``traces``: ``motion`` (T, 2) shift in
            pixels (rows, columns) of each frame's content against the reference, NaN on gap
            frames and on frames that match the reference no better than chance (see
            ``registered``); ``frame_quality`` (T,) in [0, 1]; ``frame_mean`` (T,);
            ``snr_map`` (H, W); ``bleaching`` (fraction lost, float); also
            ``registration_peak`` (T,, 1 for a perfect match), ``registered`` (T,, bool),
            ``saturated_fraction`` (T,), ``frame_mean_change`` (T,, relative deviation from
            the running median) and ``reference`` (H, W).
        """
        p = self._validated()
        movie = self._check_movie(movie)
        shape = tuple(movie.shape[1:])
        reference = getattr(self, "reference_", None)
        if reference is None:
            reference = _movie_reference(movie, p)
        elif tuple(self.frame_shape_) != shape:
            raise ShapeError(
                f"The detector was fitted on {self.frame_shape_[0]} x {self.frame_shape_[1]} "
                f"frames but this movie has {shape[0]} x {shape[1]}; fit it on this movie."
            )
        stats = _scan_movie(movie, reference, p, self.progress_bar)
        return _movie_detection(movie, stats, reference, p)
