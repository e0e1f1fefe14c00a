"""Firecracker API control over its Unix socket.

:class:`FirecrackerClient` wraps the Go package ``firecracker``: an HTTP
client on the socket given to ``firecracker --api-sock``, which keeps its
connections open between requests. One client may be used from several
Python threads at once, and ctypes releases the GIL while a request waits
for Firecracker.

An error reply (status 300 or more) raises errors.FirecrackerAPIError. A
request that gets no usable reply raises OSError. That is
FileNotFoundError when the socket does not exist, ConnectionRefusedError
when nothing listens on it and TimeoutError when it times out. A broken
connection, or a reply that is not JSON or is larger than 1 MiB, raises
OSError without errno. Input that cannot be sent, such as a path with a
query string, raises ValueError before anything is sent.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

from . import _native


def available() -> bool:
    """Return True when the library includes Firecracker API control, which needs nothing else."""
    return _native.has_component("firecracker")


class FirecrackerClient:
    """Client for Firecracker's HTTP API on the Unix socket ``socket_path``.

    Creating it does not connect, so it may be created before Firecracker
    has made the socket. Each request connects or reuses an open
    connection, and fails after 30 s without a reply, or after 10 min for
    paths under /snapshot/. Use it as a context manager, or call
    :meth:`close`.
    """

    def __init__(self, socket_path: Path | str) -> None:
        if socket_path is None:
            raise ValueError("socket_path must not be None")
        if not available():
            raise _native.unavailable_error("firecracker")
        self._path = _native.encode_path(socket_path, "socket_path")
        self.socket_path = Path(os.fsdecode(self._path))
        self._lock = threading.Lock()
        self._handle: int | None = None

    def __enter__(self) -> FirecrackerClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def _client(self) -> int:
        # Opening makes no connection, so it is cheap enough to hold the lock.
        with self._lock:
            if self._handle is None:
                self._handle = int(_native.call("firecracker", "smolvm_fc_open", self._path))
            return self._handle

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one API request and return the HTTP status and the decoded JSON payload.

        ``method`` is an HTTP method such as "GET", "PUT" or "PATCH", sent
        in upper case. ``path`` is the API path, such as
        "/machine-config". ``body`` is encoded as JSON, and None sends no
        body. The payload is None when the reply has no body, as
        Firecracker's 204 replies to PUT and PATCH.

        A status of 300 or more raises errors.FirecrackerAPIError with
        ``status_code`` and Firecracker's ``fault_message`` in ``details``.
        """
        encoded_method = _native.encode(method, "method").upper()
        encoded_path = _native.encode(path, "path")
        encoded_body = None
        if body is not None:
            encoded_body = json.dumps(body, allow_nan=False).encode("utf-8")
        reply = _native.call(
            "firecracker", "smolvm_fc_request", self._client(), encoded_method, encoded_path, encoded_body
        )
        return int(reply["status"]), reply["payload"]

    def wait_for_socket(self, timeout: float = 10.0, pid: int | None = None) -> None:
        """Wait until ``GET /`` returns 200, for at most ``timeout`` seconds.

        The first polls come 1 ms apart, doubling up to 10 ms, so the call
        returns soon after Firecracker is ready. A missing socket, a refused
        connection and an error status are retried. When ``pid`` names the
        Firecracker process, the wait stops with ProcessLookupError once
        that process has exited. A wait that times out raises TimeoutError
        naming the last failed attempt.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
            raise TypeError(f"pid must be int or None, not {type(pid).__name__}")
        if pid is not None and not 0 < pid < 2**31:
            raise ValueError(f"pid must be a positive process id, got {pid!r}")
        _native.call("firecracker", "smolvm_fc_wait", self._client(), float(timeout), pid or 0)

    def close(self) -> None:
        """Close the client's connections, which makes requests in flight raise OSError.

        Calling it again does nothing, and a later request opens the client again.
        """
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            _native.call("firecracker", "smolvm_fc_close", handle)


__all__ = [
    "FirecrackerClient",
    "available",
]
