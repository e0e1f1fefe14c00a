"""smolvm_core: host-side work for microVM sandboxes, built from the Go smolvm-core library.

The flat functions (``create_tap``, ``has_native_networking`` and the rest)
keep the API of the original module. The submodules ``network``, ``qmp``,
``firecracker``, ``disk``, ``capabilities`` and ``errors`` hold the newer
module API. ``python -m smolvm_core`` prints a JSON capability report.

The package loads the shared library libsmolvmcore next to this file, or
the file named by the environment variable SMOLVM_CORE_LIBRARY. If it cannot
be loaded, the package still imports, every availability check returns
False, and calls raise errors.CoreUnavailableError.
"""

from __future__ import annotations

from . import capabilities, disk, errors, firecracker, network, qmp
from ._version import __version__
from .capabilities import CoreCapabilities, detect
from .network import (
    add_addr,
    add_route,
    configure_tap,
    create_tap,
    delete_tap,
    flush_addrs,
    get_default_interface,
    prepare_tap,
    set_link_up,
    write_sysctl,
)


def has_native_networking() -> bool:
    """Return True when the Linux network functions use direct kernel calls here.

    That needs the library, Linux, /dev/net/tun and CAP_NET_ADMIN. Without
    them the functions run ``ip`` and ``sysctl`` as subprocesses instead.
    """
    return network.available()


def has_native_qmp() -> bool:
    """Return True when QEMU control through qmp.QMPClient is available."""
    return qmp.available()


def has_native_disk_io() -> bool:
    """Return True when the disk functions are available."""
    return disk.available()


def has_native_firecracker_api() -> bool:
    """Return True when the Firecracker API client is available."""
    return firecracker.available()


def is_available() -> bool:
    """Return has_native_networking(), under the name that older releases of the original module used."""
    return has_native_networking()


__all__ = [
    "CoreCapabilities",
    "add_addr",
    "add_route",
    "capabilities",
    "configure_tap",
    "create_tap",
    "delete_tap",
    "detect",
    "disk",
    "errors",
    "firecracker",
    "flush_addrs",
    "get_default_interface",
    "has_native_disk_io",
    "has_native_firecracker_api",
    "has_native_networking",
    "has_native_qmp",
    "is_available",
    "network",
    "prepare_tap",
    "qmp",
    "set_link_up",
    "write_sysctl",
]
