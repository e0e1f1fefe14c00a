"""Disk image copies: reflink clones, sparse copies and sparse zstd unpacking.

The Go package behind this module is not part of smolvm-core yet, so
:func:`available` is False and both functions raise CoreUnavailableError.
Nothing is emulated in Python.
"""

from __future__ import annotations

from . import _native

#: Default read size in bytes of :func:`decompress_zstd_sparse`.
DEFAULT_CHUNK_SIZE = 1024 * 1024


def available() -> bool:
    """Return True when the library includes the disk functions."""
    return _native.has_component("disk")


# TODO: call the library's disk functions once the Go package disk exists
# and cmd/libsmolvmcore exports them.


def clone_or_sparse_copy(source: str, target: str) -> str:
    """Copy ``source`` to ``target`` and return the method used, "reflink" or "sparse".

    A reflink clone shares blocks with the source. Where the file system
    cannot clone, a sparse copy keeps the holes of the source.
    """
    raise _native.unavailable_error("disk")


def decompress_zstd_sparse(source: str, target: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """Unpack the zstd file ``source`` into ``target``, leaving runs of zeros as holes.

    Returns "sparse". ``chunk_size`` is the read size in bytes.
    """
    raise _native.unavailable_error("disk")


__all__ = [
    "available",
    "clone_or_sparse_copy",
    "decompress_zstd_sparse",
]
