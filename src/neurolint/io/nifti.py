"""NIfTI-1/2 volume series (``.nii``, ``.nii.gz``), read lazily through nibabel.

nibabel's ``ArrayProxy`` reads only the voxels asked for (a gzip file is decompressed from
its start up to them, which is slow for late volumes but correct). The series pickles as the
file path: each process reloads the header and builds its own proxy.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..core.arrays import LazyArray
from ..core.errors import CorruptFileError, ParameterError, ShapeError
from ..core.imaging import VolumeSeries
from ..core.validate import check_positive
from ._atomic import atomic_path

__all__ = ["read_nifti", "write_nifti"]

# NIfTI ``xyzt_units`` names (as nibabel spells them) → seconds / millimetres.
_TIME_S = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6, "unknown": 1.0}
_SPACE_MM = {"mm": 1.0, "meter": 1e3, "micron": 1e-3, "unknown": 1.0}


class WithTimeAxis:
    """A 3-D array-like seen as 4-D with a trailing time axis of length 1 (one volume).

    Parameters
    ----------
    array : array-like, 3-D
        E.g. a nibabel ``ArrayProxy``; only the voxels asked for are read from it.
    """

    ndim = 4

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = (*tuple(int(s) for s in array.shape), 1)
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            key = key[:i] + (slice(None),) * (4 - len(key) + 1) + key[i + 1 :]
        key = key + (slice(None),) * (4 - len(key))
        spatial, time = key[:3], key[3]
        # Index the time axis on the read result so that ints, slices and arrays all work.
        return np.asarray(self.array[spatial])[..., np.newaxis][..., time]

    def __repr__(self) -> str:
        return f"WithTimeAxis({self.array!r})"


def _open_nifti(path: str, add_time_axis: bool) -> Any:
    """Reload the image and return its data proxy (module-level so that it pickles)."""
    import nibabel as nib

    proxy = nib.load(path).dataobj
    return WithTimeAxis(proxy) if add_time_axis else proxy


def _proxy_dtype(proxy: Any, disk: np.dtype) -> np.dtype:
    """The dtype slicing the proxy returns: the stored one, or a float when scaled."""
    from nibabel.volumeutils import apply_read_scaling

    slope = getattr(proxy, "slope", 1.0)
    inter = getattr(proxy, "inter", 0.0)
    return np.dtype(apply_read_scaling(np.zeros(1, dtype=disk), slope, inter).dtype)


def read_nifti(path: Path, *, tr: float | None = None) -> VolumeSeries:
    """Read a NIfTI image lazily as a :class:`~neurolint.core.imaging.VolumeSeries`.

    Parameters
    ----------
    path : Path
        A ``.nii`` or ``.nii.gz`` file. A 3-D image is a series of one volume.
    tr : float | None
        Repetition time in seconds. default: ``None`` (the header's fourth zoom, converted
        from its ``xyzt_units`` time unit; an unknown unit is taken as seconds).

    Returns
    -------
    VolumeSeries
        Time on the last axis of the backing proxy (``time_axis=-1``); voxel size in mm from
        the header zooms and the image affine.

    Raises
    ------
    ParameterError
        If the header gives no usable TR and ``tr`` is not given.
    ShapeError
        If the image is not 3-D or 4-D.
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    path = Path(path)
    try:
        img = nib.load(str(path))
    except ImageFileError as exc:
        raise CorruptFileError(f"{path} is not a readable NIfTI image ({exc}).") from None
    header = img.header
    shape = tuple(int(s) for s in img.shape)
    # Trailing axes of length 1 beyond time (dim 5+) carry nothing: drop them.
    while len(shape) > 4 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) not in (3, 4) or len(shape) != len(img.shape):
        raise ShapeError(
            f"{path.name} has shape {tuple(img.shape)}; neurolint reads 3-D or 4-D (x, y, z, "
            "time) NIfTI images."
        )
    zooms = tuple(float(z) for z in header.get_zooms())
    space_unit, time_unit = header.get_xyzt_units()
    scale = _SPACE_MM.get(space_unit, 1.0)
    voxel_size = tuple(z * scale for z in zooms[:3]) if all(z > 0 for z in zooms[:3]) else None
    if tr is not None:
        rep = check_positive("tr", tr)
    else:
        rep = zooms[3] * _TIME_S[time_unit] if len(zooms) > 3 and time_unit in _TIME_S else 0.0
        if not rep > 0:
            raise ParameterError(
                f"{path.name} does not record its repetition time (TR); pass tr= in seconds "
                "(CLI: --option tr=2.5)."
            )
    add_time = len(shape) == 3
    proxy = img.dataobj
    disk = np.dtype(img.get_data_dtype())
    dtype = _proxy_dtype(proxy, disk)
    full_shape = (*shape, 1) if add_time else shape
    store = LazyArray(partial(_open_nifti, str(path), add_time), full_shape, dtype)
    return VolumeSeries(
        store,
        rep,
        voxel_size=voxel_size,  # type: ignore[arg-type]
        affine=np.asarray(img.affine, dtype=float),
        time_axis=-1,
        source=str(path),
        meta={"format": "nifti", "stored_dtype": str(disk), "xyzt_units": [space_unit, time_unit]},
    )


def write_nifti(
    vs: VolumeSeries, path: Path, *, overwrite: bool = False, **job_kwargs: Any
) -> None:
    """Write a volume series as a float32 NIfTI-1 image, volume chunk by chunk, atomically.

    The image is ``(x, y, z, t)``; the zooms hold the voxel size (mm) and the TR (s), with
    ``xyzt_units`` set to millimetres and seconds, and the affine is kept as the sform.
    A ``.nii.gz`` path is gzip-compressed.

    Parameters
    ----------
    vs : VolumeSeries
        The series to write.
    path : Path
        Output ``.nii`` or ``.nii.gz`` file.
    overwrite : bool
        Replace an existing file. default: ``False``.
    **job_kwargs
        Chunking options (``chunk_duration``...), see :mod:`neurolint.core.chunks`.
    """
    import nibabel as nib
    from nibabel.openers import ImageOpener
    from nibabel.volumeutils import seek_tell

    n, *xyz = vs.shape
    # Let nibabel fill the header from the affine as it does for a new image (sform code
    # "aligned"), then describe the real data without ever holding them all in memory.
    img = nib.Nifti1Image(np.zeros((1, 1, 1, 1), dtype=np.float32), vs.affine)
    img.update_header()
    header = img.header
    header.set_data_dtype(np.float32)
    header.set_data_shape((*xyz, n))
    # NIfTI has no "unknown" voxel size; 1 mm is its conventional placeholder.
    voxel = vs.voxel_size or (1.0, 1.0, 1.0)
    header.set_zooms((*(float(v) for v in voxel), float(vs.tr)))
    header.set_xyzt_units("mm", "sec")
    header.set_slope_inter(1.0, 0.0)
    with atomic_path(path, overwrite) as tmp, ImageOpener(str(tmp), "wb") as fh:
        header.write_to(fh)
        seek_tell(fh, header.get_data_offset(), write0=True)
        for _, block in vs.iter_chunks(**job_kwargs):
            # NIfTI stores x fastest, then y, z, time: C order of (t, z, y, x).
            data = np.ascontiguousarray(block.transpose(0, 3, 2, 1), dtype=np.float32)
            fh.write(memoryview(data).cast("B"))
