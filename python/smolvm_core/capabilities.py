"""Availability checks of the parts of smolvm_core on this host."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from . import _native


@dataclass(frozen=True)
class CoreCapabilities:
    """Availability of each part of smolvm_core on this host."""

    networking: bool
    disk_io: bool
    qmp: bool
    firecracker_api: bool

    def as_dict(self) -> dict[str, bool]:
        """Return the four flags as a dict keyed by field name."""
        return asdict(self)


def available() -> bool:
    """Return True when the native library was loaded."""
    return _native.loaded()


def detect() -> CoreCapabilities:
    """Run the Go library's capability checks and return the four flags.

    ``networking`` is True when the network functions take the native path
    of direct kernel calls, which needs Linux, /dev/net/tun and
    CAP_NET_ADMIN. ``disk_io`` is True when the disk functions and their
    zstd decoder are built in; reflinks are not needed, because without
    them clones are sparse copies. ``qmp`` and ``firecracker_api`` are True
    when the clients are built in. Without the library every flag is False.
    """
    if not _native.loaded():
        return CoreCapabilities(networking=False, disk_io=False, qmp=False, firecracker_api=False)
    flags = _native.call(None, "smolvm_detect")
    return CoreCapabilities(
        networking=bool(flags["networking"]),
        disk_io=bool(flags["disk_io"]),
        qmp=bool(flags["qmp"]),
        firecracker_api=bool(flags["firecracker_api"]),
    )


def report(disk_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return the Go library's full capability report, with a reason for each check that fails.

    It is the report of ``smolvm-core caps --json``. Its disk.reflink check
    reports whether the filesystem of ``disk_dir``, where a runtime keeps
    its images, can share blocks. None checks the current directory.
    """
    encoded = None if disk_dir is None else _native.encode_path(disk_dir, "disk_dir")
    return _native.call(None, "smolvm_capabilities", encoded)


__all__ = [
    "CoreCapabilities",
    "available",
    "detect",
    "report",
]
