"""Disk image copies: reflink clones, sparse copies and sparse zstd unpacking.

The Go package ``disk`` does the work. Both functions write to a temporary
file beside the target, named ``.smolvm-tmp-NAME-NUMBER``, and rename it
over the target only when it is complete and synced. A failure removes
the temporary file and leaves an existing target as it was. The target
gets the source's permission bits.

As the original module did, both functions create the target's missing
parent directories (mode 0o777 less the umask, as ``mkdir -p`` does) and
replace an existing target file. A target that is a directory is never
replaced. The directories are created only once the source is known to be
a regular file, so a call with a missing source creates nothing.

Failures raise OSError with the Go error as its text, which names the
operation and both paths. The errno is set where there is one, such as
ENOENT (FileNotFoundError) for a missing source, ENOSPC for a full disk
and EINVAL for a source that is not a regular file. Data that is not zstd
raises OSError without errno.
"""

from __future__ import annotations

import os
from typing import Any, Union

from . import _native

#: Default read size in bytes of :func:`decompress_zstd_sparse`.
DEFAULT_CHUNK_SIZE = 1024 * 1024

#: Largest ``chunk_size`` in bytes: the Go package allocates a buffer of the
#: chunk size for each call.
MAX_CHUNK_SIZE = 256 * 1024 * 1024

_Path = Union[str, bytes, "os.PathLike[Any]"]


def available() -> bool:
    """Return True when the library includes the disk functions, which need nothing else."""
    return _native.has_component("disk")


def clone_or_sparse_copy(source: _Path, target: _Path) -> str:
    """Copy ``source`` to ``target`` and return the method used, "reflink" or "sparse".

    A reflink clone (the FICLONE ioctl, as ``cp --reflink=always``) shares
    blocks with the source until either file is written. It needs Btrfs,
    or XFS made with reflink=1. Elsewhere the sparse copy writes only the
    source's data extents, found with SEEK_DATA and SEEK_HOLE, so holes
    stay holes.
    """
    result = _native.call(
        "disk",
        "smolvm_disk_clone",
        _native.encode_path(source, "source"),
        _native.encode_path(target, "target"),
    )
    return str(result["method"])


def decompress_zstd_sparse(source: _Path, target: _Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """Unpack the zstd file ``source`` into ``target``, leaving all-zero blocks as holes.

    Returns "sparse". ``chunk_size`` is the read size in bytes, from 1 to
    :data:`MAX_CHUNK_SIZE`. Concatenated zstd frames are unpacked one after
    the other, as the ``zstd`` command does.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError(f"chunk_size must be int, not {type(chunk_size).__name__}")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be from 1 to {MAX_CHUNK_SIZE} bytes, got {chunk_size}")
    result = _native.call(
        "disk",
        "smolvm_disk_decompress",
        _native.encode_path(source, "source"),
        _native.encode_path(target, "target"),
        chunk_size,
    )
    return str(result["method"])


__all__ = [
    "available",
    "clone_or_sparse_copy",
    "decompress_zstd_sparse",
]
