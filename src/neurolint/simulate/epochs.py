"""The semisynthetic epoch dataset: train/test splits of clean, artifact and noisy epochs.

:class:`EpochDataset` holds the output of :func:`~neurolint.simulate.simulate_semisynthetic`
(EEGdenoiseNet protocol); :meth:`EpochDataset.save` and :meth:`EpochDataset.load` write and
read it as HDF5 (h5py is imported only there), and :func:`achieved_snr` measures the SNR
back from the stored arrays.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import CorruptFileError, InputNotFoundError
from ..core.validate import check_option

__all__ = ["EpochDataset", "EpochSplit", "achieved_snr"]

PROTOCOL = "EEGdenoiseNet (Zhang et al., J. Neural Eng. 2021)"
SNR_DEFINITION = "snr_db = 10*log10(RMS(clean) / RMS(artifact)), artifact = lambda * n"
FORMAT_VERSION = "1.0"
SPLITS = ("train", "test")
ARTIFACT_KINDS = ("eog", "emg")

# Per-row arrays of a split, in file order, and the columns of its two epoch catalogues.
_ROW_FIELDS = (
    "clean",
    "artifact",
    "noisy",
    "snr_db",
    "kind",
    "clean_index",
    "artifact_index",
    "artifact_scale",
    "noisy_std",
)
_CLEAN_COLUMNS = ("source", "channel", "onset")
_ARTIFACT_COLUMNS = ("kind", "source", "channel", "onset")
_STRING_COLUMNS = {"kind", "channel"}


@dataclass(eq=False)
class EpochSplit:
    """The epochs of one split (``train`` or ``test``), one row per mixture.

    Attributes
    ----------
    clean : numpy.ndarray of float32, shape (n, n_samples)
        Clean EEG ``x`` in volts (the target).
    artifact : numpy.ndarray of float32, shape (n, n_samples)
        The scaled artifact ``lambda * n`` in volts.
    noisy : numpy.ndarray of float32, shape (n, n_samples)
        ``clean + artifact``, exactly (the float32 sum).
    snr_db : numpy.ndarray of float64, shape (n,)
        Requested SNR, ``10 * log10(RMS(clean) / RMS(artifact))``.
    kind : numpy.ndarray of str, shape (n,)
        ``"eog"`` or ``"emg"``.
    clean_index : numpy.ndarray of int64, shape (n,)
        Row of :attr:`clean_epochs` the clean epoch came from.
    artifact_index : numpy.ndarray of int64, shape (n,)
        Row of :attr:`artifact_epochs` the artifact waveform came from.
    artifact_scale : numpy.ndarray of float64, shape (n,)
        ``lambda``: ``artifact / artifact_scale`` gives back the unscaled waveform ``n``
        (volts for EOG, arbitrary units for simulated EMG).
    noisy_std : numpy.ndarray of float64, shape (n,)
        Standard deviation of each noisy row. EEGdenoiseNet feeds networks ``noisy / std``
        and ``clean / std`` with this same per-row factor; the arrays stay in volts.
    clean_epochs : dict of str to numpy.ndarray
        Catalogue of the clean epochs: ``source`` (index into the sources), ``channel``,
        ``onset`` (seconds from the start of the source recording).
    artifact_epochs : dict of str to numpy.ndarray
        Catalogue of the artifact waveforms: ``kind``, ``source`` (-1 for simulated EMG),
        ``channel`` (``""`` for EMG), ``onset`` (seconds in the source; NaN for EMG).
    """

    clean: np.ndarray
    artifact: np.ndarray
    noisy: np.ndarray
    snr_db: np.ndarray
    kind: np.ndarray
    clean_index: np.ndarray
    artifact_index: np.ndarray
    artifact_scale: np.ndarray
    noisy_std: np.ndarray
    clean_epochs: dict[str, np.ndarray] = field(default_factory=dict)
    artifact_epochs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.snr_db)

    def rows(self, kind: str) -> np.ndarray:
        """Indices of the rows of one artifact kind (``"eog"`` or ``"emg"``)."""
        check_option("kind", kind, ARTIFACT_KINDS)
        return np.flatnonzero(self.kind == kind)


@dataclass(eq=False)
class EpochDataset:
    """A train/test set of clean, artifact and noisy epochs (EEGdenoiseNet protocol).

    Amplitudes are raw volts; each split keeps ``noisy_std`` so that the paper's
    standardisation (divide noisy and clean by the noisy epoch's standard deviation) can be
    applied, and inverted, by the user.

    Attributes
    ----------
    train, test : EpochSplit
        The two splits, cut from disjoint time segments of the source recordings.
    sampling_rate : float
        Hz of every epoch. default: 256.
    attrs : dict
        JSON-able description: protocol, SNR definition, sources, time ranges, parameters.
    """

    train: EpochSplit
    test: EpochSplit
    sampling_rate: float = 256.0
    attrs: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> EpochSplit:
        """Return the ``"train"`` or ``"test"`` split."""
        check_option("name", name, SPLITS)
        return getattr(self, name)

    @property
    def n_samples(self) -> int:
        """Samples per epoch."""
        return int(self.train.clean.shape[1])

    def __repr__(self) -> str:
        return (
            f"<EpochDataset | train {len(self.train)}, test {len(self.test)} epochs of "
            f"{self.n_samples} samples at {self.sampling_rate:g} Hz>"
        )

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the dataset to an HDF5 file, atomically.

        Layout: groups ``/train`` and ``/test`` holding the per-row datasets (``clean``,
        ``artifact``, ``noisy``, ``snr_db``, ``kind``, ``clean_index``, ``artifact_index``,
        ``artifact_scale``, ``noisy_std``) and the subgroups ``clean_epochs`` and
        ``artifact_epochs``; root attributes ``sampling_rate``, ``protocol``,
        ``snr_definition``, ``units`` (``"V"``), ``format_version`` and ``metadata`` (JSON).

        Parameters
        ----------
        path : str | path-like
            The ``.h5`` file to write.
        overwrite : bool
            Replace an existing file. default: ``False``.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        import h5py

        from ..io._atomic import atomic_path

        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["sampling_rate"] = float(self.sampling_rate)
            h5.attrs["protocol"] = PROTOCOL
            h5.attrs["snr_definition"] = SNR_DEFINITION
            h5.attrs["units"] = "V"
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["metadata"] = json.dumps(_jsonable(self.attrs), allow_nan=False)
            for name in SPLITS:
                part = self.split(name)
                group = h5.create_group(name)
                for key in _ROW_FIELDS:
                    group.create_dataset(key, data=_to_h5(getattr(part, key)))
                for table, columns in (
                    ("clean_epochs", _CLEAN_COLUMNS),
                    ("artifact_epochs", _ARTIFACT_COLUMNS),
                ):
                    sub = group.create_group(table)
                    for key in columns:
                        sub.create_dataset(key, data=_to_h5(getattr(part, table)[key]))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EpochDataset:
        """Read a dataset written by :meth:`save`.

        Parameters
        ----------
        path : str | path-like
            The ``.h5`` file.

        Returns
        -------
        EpochDataset
        """
        import h5py

        path = Path(path)
        if not path.is_file():
            raise InputNotFoundError(f"{path} does not exist; check the path.")
        try:
            with h5py.File(path, "r") as h5:
                rate = float(h5.attrs["sampling_rate"])
                attrs = json.loads(h5.attrs.get("metadata", "{}"))
                splits = {}
                for name in SPLITS:
                    group = h5[name]
                    rows = {key: _from_h5(group[key], key) for key in _ROW_FIELDS}
                    tables = {
                        table: {key: _from_h5(group[table][key], key) for key in columns}
                        for table, columns in (
                            ("clean_epochs", _CLEAN_COLUMNS),
                            ("artifact_epochs", _ARTIFACT_COLUMNS),
                        )
                    }
                    splits[name] = EpochSplit(**rows, **tables)
        except (OSError, KeyError, ValueError) as exc:
            raise CorruptFileError(
                f"Could not read {path} as a semisynthetic epoch dataset ({exc}); write it "
                "with EpochDataset.save or simulate it again."
            ) from None
        return cls(splits["train"], splits["test"], rate, attrs)


def _to_h5(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "U":
        # Fixed-length UTF-8 bytes: portable, and empty arrays need no special case.
        return np.char.encode(values, "utf-8")
    return values


def _from_h5(dataset: Any, key: str) -> np.ndarray:
    values = dataset[()]
    if key in _STRING_COLUMNS:
        return np.char.decode(np.asarray(values, dtype="S"), "utf-8")
    return np.asarray(values)


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1))


def achieved_snr(split: EpochSplit) -> np.ndarray:
    """SNR measured back from the stored float32 arrays, ``10 log10(RMS(x) / RMS(artifact))``."""
    return 10.0 * np.log10(_rms(split.clean) / _rms(split.artifact))


def _jsonable(value: Any) -> Any:
    from ._truth import _jsonable as convert

    return convert(value)
