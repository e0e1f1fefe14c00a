"""Child process of the kernel tests: runs test code inside a network namespace.

Usage: ``ip netns exec NAME python3 netns_child.py CODE``. CODE is Python
that runs with ``smolvm_core``, :func:`call` and :func:`hold_tap` in scope.
It stores what the test checks in ``result``, which the child prints as
JSON on its last line of output.

Before anything else, the child exits with status 3 when it is still in
the network namespace of the test process, whose inode number the test
passes in SMOLVM_TEST_HOST_NETNS. So a broken ``ip netns exec`` can never
let a test change the host's network.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import sys
from typing import Any

# From linux/if_tun.h.
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def ensure_own_namespace() -> None:
    host = os.environ.get("SMOLVM_TEST_HOST_NETNS")
    if not host or os.stat("/proc/self/ns/net").st_ino == int(host):
        sys.stderr.write("netns_child: still in the network namespace of the test process, so exiting before any change\n")
        sys.exit(3)


def describe(exc: BaseException) -> dict[str, Any]:
    """Return what the tests check about an exception."""
    return {
        "type": type(exc).__name__,
        "bases": [cls.__name__ for cls in type(exc).__mro__],
        "errno": getattr(exc, "errno", None),
        "str": str(exc),
        "detail": getattr(exc, "detail", None),
    }


def call(name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call smolvm_core.NAME and return {"result": value} or {"error": describe(exc)}."""
    import smolvm_core

    try:
        return {"result": getattr(smolvm_core, name)(*args, **kwargs)}
    except Exception as exc:
        return {"error": describe(exc)}


_open_taps: list[Any] = []


def hold_tap(name: str) -> None:
    """Attach this process to the TAP ``name``, as a VMM does, until it exits."""
    tun = open("/dev/net/tun", "r+b", buffering=0)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
    _open_taps.append(tun)


def main() -> None:
    ensure_own_namespace()
    import smolvm_core

    scope: dict[str, Any] = {"smolvm_core": smolvm_core, "call": call, "hold_tap": hold_tap, "describe": describe}
    exec(sys.argv[1], scope)
    print(json.dumps(scope.get("result")))


if __name__ == "__main__":
    main()
