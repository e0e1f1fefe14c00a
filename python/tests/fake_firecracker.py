"""A fake Firecracker API on a Unix socket, built from the standard library.

It replies as a fresh Firecracker process does: ``GET /`` returns the
instance info with 200, PUT and PATCH return 204 without a body, and other
requests return 400 with a ``fault_message``. Tests script other replies
per method and path. Each connection is served by its own thread with
HTTP/1.1 keep-alive, as Firecracker's API server keeps connections open.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socketserver
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTANCE_INFO = {
    "id": "anonymous-instance",
    "state": "Not started",
    "vmm_version": "1.7.0",
    "app_name": "Firecracker",
}


@dataclass(frozen=True)
class Reply:
    """One scripted reply. ``body`` is sent as JSON, or as it is when bytes, or not at all when None."""

    status: int
    body: Any = None
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the server received. ``body`` is the raw body, b"" for none."""

    method: str
    path: str
    body: bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.fake.record(Request(self.command, self.path, body))
        if reply.delay:
            time.sleep(reply.delay)

        if reply.body is None:
            data = b""
        elif isinstance(reply.body, bytes):
            data = reply.body
        else:
            data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client stopped waiting, as a wait_for_socket that timed
            # out during a slow reply does.
            self.close_connection = True

    do_GET = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr, and needs a client
        # address, which a Unix socket does not have.
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, fake: FakeFirecracker) -> None:
        self.fake = fake
        super().__init__(path, _Handler)


class FakeFirecracker:
    """A fake Firecracker API on ``socket`` in a temp dir, stopped and removed when the test ends.

    With ``start=False`` the socket does not exist until :meth:`start`, as
    before Firecracker has created it.
    """

    def __init__(self, test: unittest.TestCase, start: bool = True) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="smolvm-py-fc-"))
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.socket = self.dir / "firecracker.sock"
        self._lock = threading.Lock()
        self._replies: dict[tuple[str, str], Reply] = {}
        self._requests: list[Request] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        test.addCleanup(self.stop)
        if start:
            self.start()

    def start(self) -> None:
        """Create the socket and start serving."""
        self._server = _Server(str(self.socket), self)
        # A short poll interval makes stop() return quickly.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting connections and remove the socket. Calling it again does nothing."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None
        self.socket.unlink(missing_ok=True)

    def set_reply(self, method: str, path: str, reply: Reply) -> None:
        """Send ``reply`` to every later request for ``method`` and ``path``."""
        with self._lock:
            self._replies[(method, path)] = reply

    def requests(self) -> list[Request]:
        """Return the requests received so far, in order."""
        with self._lock:
            return list(self._requests)

    def record(self, request: Request) -> Reply:
        """Store ``request`` and return the reply to send."""
        with self._lock:
            self._requests.append(request)
            scripted = self._replies.get((request.method, request.path))
        if scripted is not None:
            return scripted
        if (request.method, request.path) == ("GET", "/"):
            return Reply(200, INSTANCE_INFO)
        if request.method in ("PUT", "PATCH"):
            return Reply(204)
        return Reply(400, {"fault_message": f"Invalid request method and/or path: {request.method} {request.path}."})
