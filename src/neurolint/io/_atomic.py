"""Atomic, non-clobbering output files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import InputNotFoundError, OutputExistsError

__all__ = ["atomic_path", "check_writable"]


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse an existing output unless ``overwrite``; require an existing parent folder."""
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; choose another name or pass overwrite=True (--overwrite)."
        )
    if not path.parent.is_dir():
        raise InputNotFoundError(f"Folder {path.parent} does not exist; create it first.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    The temporary name keeps the extension(s) of ``path`` because some writers (MNE, nibabel)
    choose the format from it. Without ``overwrite`` the final move is a hard link, which
    fails rather than replace a file that appeared meanwhile.
    """
    path = Path(path)
    check_writable(path, overwrite)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".tmp" + suffix, dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers create the file themselves (some refuse an existing one)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"the writer did not create {tmp}")
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(
                    f"{path} appeared while writing; choose another name or pass overwrite=True."
                ) from None
            except OSError:
                # Filesystems without hard links: the existence check above has to do.
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
