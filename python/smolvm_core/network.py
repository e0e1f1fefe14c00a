"""Linux host networking for microVMs: TAP devices, addresses, routes, sysctls.

Each function is one call into the Go package ``network``, through one
manager kept for the life of the process. With root or CAP_NET_ADMIN the
manager makes direct kernel calls (TUN ioctls, rtnetlink, /proc/sys)
through one netlink handle: the native path, which :func:`available`
reports. Without that privilege, or with SMOLVM_DISABLE_NATIVE_NETWORKING=1,
it runs ``ip`` and ``sysctl`` as subprocesses, through ``sudo -n`` when not
root, and logs one warning to stderr. A native call that fails with EPERM
moves it to that path for good. The functions act on the network namespace
of the calling process; run the process under ``ip netns exec NAME`` to act
on another one.

Failures raise ``OSError`` with the text of the original module, which
callers match on: "File exists", "Device or resource busy", "Operation not
permitted", ``Cannot find device "NAME"``, "RTNETLINK answers: File exists"
(an existing route through another device), "Not available on this
platform" (not Linux), or, for invalid input, the function name and the
value. ``errno`` is set where there is one, and the ``detail`` attribute
contains the full error from Go.
"""

from __future__ import annotations

import errno

from . import _native
from .errors import kernel_error

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _invalid(op: str, field: str, value: object, reason: str) -> OSError:
    return kernel_error(errno.EINVAL, f"{op}: invalid {field} {value!r}: {reason}")


def _text(op: str, field: str, value: str) -> bytes:
    if isinstance(value, str) and "\x00" in value:
        raise _invalid(op, field, value, "must not contain NUL characters")
    return _native.encode(value, f"{op}() argument '{field}'")


def _integer(op: str, field: str, value: int) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{op}() argument '{field}' must be int, not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _invalid(op, field, value, "is out of range")
    return int(value)


def _call(function: str, *args: object) -> object:
    return _native.call("network", function, *args)


def available() -> bool:
    """Return True when the network functions take the native path of direct kernel calls.

    That needs the library, Linux, an openable /dev/net/tun and
    CAP_NET_ADMIN. It is False on the subprocess path, where the functions
    still work when ``sudo -n ip`` does.
    """
    if not _native.has_component("network"):
        return False
    return bool(_path()["native"])


def _path() -> dict[str, object]:
    """Return the path the functions take: {"native": bool, "backend": "native" or "command", "reason": str}."""
    return _call("smolvm_network_path")


def create_tap(name: str, owner_uid: int) -> None:
    """Create a TAP network device owned by ``owner_uid``, as ``ip tuntap add`` does.

    The device is persistent, has no packet information header, and can be
    opened by ``owner_uid`` without privilege; -1 leaves it without an owner.
    A TAP of that name that already exists in this form is left as it is.
    A different device of that name raises "File exists". A TAP that a
    process still has open raises "Device or resource busy" after 2 s of
    retries.
    """
    _call("smolvm_create_tap", _text("create_tap", "name", name), _integer("create_tap", "owner_uid", owner_uid))


def delete_tap(name: str) -> None:
    """Delete the TAP network device ``name``, as ``ip link del`` does.

    A missing device raises ``Cannot find device "NAME"``. A device that is
    not a TAP is left alone and raises OSError with errno EINVAL.
    """
    _call("smolvm_delete_tap", _text("delete_tap", "name", name))


def flush_addrs(name: str) -> None:
    """Remove every IPv4 and IPv6 address from the link ``name``, as ``ip addr flush`` does."""
    _call("smolvm_flush_addrs", _text("flush_addrs", "name", name))


def add_addr(name: str, ip: str, prefix_len: int) -> None:
    """Add the IPv4 address ``ip/prefix_len`` to the link ``name``, as ``ip addr add`` does.

    An identical address already on the link is success.
    """
    _call(
        "smolvm_add_addr",
        _text("add_addr", "name", name),
        _text("add_addr", "ip", ip),
        _integer("add_addr", "prefix_len", prefix_len),
    )


def set_link_up(name: str) -> None:
    """Set the link ``name`` administratively up, as ``ip link set NAME up`` does."""
    _call("smolvm_set_link_up", _text("set_link_up", "name", name))


def configure_tap(name: str, host_ip: str, prefix_len: int) -> None:
    """Assign an IPv4 address to the TAP ``name`` as its only one, and set it up.

    The new address is added before any other IPv4 address is removed, and
    an address that is already right stays, so repeating the call changes
    nothing and keeps the routes through the device. IPv6 addresses stay.
    """
    _call(
        "smolvm_configure_tap",
        _text("configure_tap", "name", name),
        _text("configure_tap", "host_ip", host_ip),
        _integer("configure_tap", "prefix_len", prefix_len),
    )


def prepare_tap(name: str, owner_uid: int, host_ip: str, prefix_len: int, route_localnet: bool = True) -> None:
    """Create and configure a TAP link for a VMM in one call.

    This is :func:`create_tap`, then :func:`configure_tap`, then, when
    ``route_localnet`` is true, ``net.ipv4.conf.NAME.route_localnet=1`` so
    that traffic DNATed to 127.0.0.1 can reach the guest. If a step fails,
    a TAP that this call created is deleted again.
    """
    _call(
        "smolvm_prepare_tap",
        _text("prepare_tap", "name", name),
        _integer("prepare_tap", "owner_uid", owner_uid),
        _text("prepare_tap", "host_ip", host_ip),
        _integer("prepare_tap", "prefix_len", prefix_len),
        1 if route_localnet else 0,
    )


def add_route(dest: str, prefix_len: int, dev: str) -> None:
    """Add a route for ``dest/prefix_len`` through ``dev``, as ``ip route add DEST dev DEV`` does.

    The route has scope link in the main table. The same route through
    ``dev`` already present is success. A route to that destination through
    another device raises "RTNETLINK answers: File exists".
    """
    _call(
        "smolvm_add_route",
        _text("add_route", "dest", dest),
        _integer("add_route", "prefix_len", prefix_len),
        _text("add_route", "dev", dev),
    )


def get_default_interface() -> str:
    """Return the name of the interface of the IPv4 default route.

    The kernel's route lookup for 8.8.8.8 decides, as ``ip route get``
    does, and no packet is sent. Without a default route it raises OSError
    with errno ENETUNREACH.
    """
    return str(_call("smolvm_get_default_interface"))


def write_sysctl(key: str, value: str) -> None:
    """Write a Linux sysctl key using dot notation, as ``sysctl -w KEY=VALUE`` does.

    Example: ``write_sysctl("net.ipv4.ip_forward", "1")``. The slash form
    ``net/ipv4/ip_forward`` works too. The file written is always under
    /proc/sys, and an unknown key raises FileNotFoundError.
    """
    _call("smolvm_write_sysctl", _text("write_sysctl", "key", key), _text("write_sysctl", "value", value))


__all__ = [
    "add_addr",
    "add_route",
    "available",
    "configure_tap",
    "create_tap",
    "delete_tap",
    "flush_addrs",
    "get_default_interface",
    "prepare_tap",
    "set_link_up",
    "write_sysctl",
]
