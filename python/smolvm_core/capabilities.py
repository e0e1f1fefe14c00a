"""Availability checks of the parts of smolvm_core on this host."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import _native, disk, firecracker, network, qmp


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
    """Check each part of smolvm_core and return the result.

    ``networking`` needs Linux, /dev/net/tun and CAP_NET_ADMIN. The other
    flags need only the part to be built into the library.
    """
    return CoreCapabilities(
        networking=network.available(),
        disk_io=disk.available(),
        qmp=qmp.available(),
        firecracker_api=firecracker.available(),
    )


def report() -> dict[str, Any]:
    """Return the Go library's full capability report, with a reason for each check that fails.

    It is the report of ``smolvm-core caps --json``.
    """
    return _native.call(None, "smolvm_capabilities")


__all__ = [
    "CoreCapabilities",
    "available",
    "detect",
    "report",
]
