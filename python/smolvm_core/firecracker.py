"""Firecracker API control over its Unix socket.

The library does not export the Go package ``firecracker`` yet, so
:func:`available` is False and :class:`FirecrackerClient` raises
CoreUnavailableError. Nothing is emulated in Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import _native


def available() -> bool:
    """Return True when the library includes Firecracker API control."""
    return _native.has_component("firecracker")


class FirecrackerClient:
    """Client for Firecracker's HTTP API on the Unix socket ``socket_path``."""

    def __init__(self, socket_path: Path | str) -> None:
        if socket_path is None:
            raise ValueError("socket_path must not be None")
        # TODO: call the library's Firecracker functions once
        # cmd/libsmolvmcore exports the Go package firecracker.
        _native.require("firecracker")
        self.socket_path = Path(socket_path)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send one API request and return the HTTP status and the decoded JSON payload.

        An error status raises errors.FirecrackerAPIError with ``status_code``.
        """
        raise _native.unavailable_error("firecracker")

    def wait_for_socket(self, timeout: float = 10.0) -> None:
        """Wait up to ``timeout`` seconds for the API socket to accept requests."""
        raise _native.unavailable_error("firecracker")


__all__ = [
    "FirecrackerClient",
    "available",
]
