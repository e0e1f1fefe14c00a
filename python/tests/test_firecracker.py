"""FirecrackerClient against a fake Firecracker API on a Unix socket."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import smolvm_core
from smolvm_core import firecracker
from smolvm_core.errors import FirecrackerAPIError, SmolVMCoreError
from fake_firecracker import INSTANCE_INFO, FakeFirecracker, Reply
from support import require_library


class FirecrackerTestCase(unittest.TestCase):
    def setUp(self) -> None:
        require_library(self)

    def client(self, path: Path | str) -> firecracker.FirecrackerClient:
        client = firecracker.FirecrackerClient(path)
        self.addCleanup(client.close)
        return client

    def missing_socket(self) -> Path:
        directory = tempfile.TemporaryDirectory(prefix="smolvm-py-fc-")
        self.addCleanup(directory.cleanup)
        return Path(directory.name) / "missing.sock"


class RequestTest(FirecrackerTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.fake = FakeFirecracker(self)
        self.fc = self.client(self.fake.socket)

    def test_available(self) -> None:
        self.assertTrue(firecracker.available())
        self.assertTrue(smolvm_core.has_native_firecracker_api())
        self.assertEqual(self.fc.socket_path, self.fake.socket)

    def test_get_with_body(self) -> None:
        status, payload = self.fc.request("GET", "/")

        self.assertEqual(status, 200)
        self.assertEqual(payload, INSTANCE_INFO)

    def test_put_without_reply_body(self) -> None:
        body = {"vcpu_count": 2, "mem_size_mib": 256}

        status, payload = self.fc.request("PUT", "/machine-config", body)

        self.assertEqual(status, 204)
        self.assertIsNone(payload)
        request = self.fake.requests()[-1]
        self.assertEqual((request.method, request.path), ("PUT", "/machine-config"))
        self.assertEqual(json.loads(request.body), body)

    def test_request_without_body_sends_none(self) -> None:
        self.fc.request("PUT", "/actions")

        self.assertEqual(self.fake.requests()[-1].body, b"")

    def test_method_is_sent_in_upper_case(self) -> None:
        status, _ = self.fc.request("patch", "/vm", {"state": "Paused"})

        self.assertEqual(status, 204)
        self.assertEqual(self.fake.requests()[-1].method, "PATCH")

    def test_2xx_with_json_body(self) -> None:
        self.fake.set_reply("PUT", "/mmds", Reply(200, ["a", 1, None]))

        self.assertEqual(self.fc.request("PUT", "/mmds", {"k": "v"}), (200, ["a", 1, None]))

    def test_fault_message_raises_api_error(self) -> None:
        fault = "The requested operation is not supported before starting the microVM."
        self.fake.set_reply("PUT", "/actions", Reply(400, {"fault_message": fault}))

        with self.assertRaises(FirecrackerAPIError) as caught:
            self.fc.request("PUT", "/actions", {"action_type": "SendCtrlAltDel"})

        error = caught.exception
        self.assertIsInstance(error, SmolVMCoreError)
        self.assertEqual(error.status_code, 400)
        self.assertIn(fault, str(error))
        self.assertIn("PUT /actions", str(error))
        self.assertEqual(
            error.details,
            {
                "socket_path": str(self.fake.socket),
                "method": "PUT",
                "path": "/actions",
                "status_code": 400,
                "fault_message": fault,
            },
        )

    def test_error_without_fault_message(self) -> None:
        self.fake.set_reply("GET", "/machine-config", Reply(500, b"internal failure"))

        with self.assertRaises(FirecrackerAPIError) as caught:
            self.fc.request("GET", "/machine-config")

        self.assertEqual(caught.exception.status_code, 500)
        self.assertIsNone(caught.exception.details["fault_message"])
        self.assertEqual(caught.exception.details["body"], "internal failure")
        self.assertIn("internal failure", str(caught.exception))

    def test_3xx_raises_api_error(self) -> None:
        self.fake.set_reply("GET", "/version", Reply(301, None))

        with self.assertRaises(FirecrackerAPIError) as caught:
            self.fc.request("GET", "/version")

        self.assertEqual(caught.exception.status_code, 301)

    def test_2xx_body_that_is_not_json(self) -> None:
        self.fake.set_reply("GET", "/version", Reply(200, b"<html>"))

        with self.assertRaises(OSError) as caught:
            self.fc.request("GET", "/version")

        self.assertIsNone(caught.exception.errno)
        self.assertIn("not JSON", str(caught.exception))

    def test_bad_input_sends_nothing(self) -> None:
        cases = [
            ("GET", "machine-config", None, ValueError),
            ("GET", "/?x=1", None, ValueError),
            ("G T", "/", None, ValueError),
            ("PUT", "/mmds", {"x": float("nan")}, ValueError),
            ("PUT", "/mmds", {"x": object()}, TypeError),
            (None, "/", None, TypeError),
            ("GET", b"/", None, TypeError),
        ]
        for method, path, body, error in cases:
            with self.subTest(method=method, path=path):
                with self.assertRaises(error):
                    self.fc.request(method, path, body)
        self.assertEqual(self.fake.requests(), [])

    def test_close_and_reopen(self) -> None:
        with firecracker.FirecrackerClient(self.fake.socket) as fc:
            self.assertEqual(fc.request("GET", "/")[0], 200)
        fc.close()

        self.assertEqual(fc.request("GET", "/")[0], 200)
        fc.close()

    def test_slow_reply(self) -> None:
        self.fake.set_reply("GET", "/", Reply(200, INSTANCE_INFO, delay=0.3))

        self.assertEqual(self.fc.request("GET", "/"), (200, INSTANCE_INFO))


class ConnectionErrorTest(FirecrackerTestCase):
    def test_missing_socket(self) -> None:
        path = self.missing_socket()
        fc = self.client(path)

        with self.assertRaises(FileNotFoundError) as caught:
            fc.request("GET", "/")

        self.assertEqual(caught.exception.errno, errno.ENOENT)
        self.assertIn(str(path), str(caught.exception))

    def test_nothing_listening(self) -> None:
        path = self.missing_socket()
        # A bound socket that does not listen refuses connections.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind(str(path))

        with self.assertRaises(ConnectionRefusedError) as caught:
            self.client(path).request("GET", "/")

        self.assertEqual(caught.exception.errno, errno.ECONNREFUSED)

    def test_none_socket_path(self) -> None:
        with self.assertRaises(ValueError):
            firecracker.FirecrackerClient(None)


class WaitForSocketTest(FirecrackerTestCase):
    def test_socket_that_appears_later(self) -> None:
        fake = FakeFirecracker(self, start=False)
        fc = self.client(fake.socket)
        timer = threading.Timer(0.2, fake.start)
        self.addCleanup(timer.join)
        timer.start()

        fc.wait_for_socket(timeout=30.0)

        self.assertTrue(fake.socket.exists())
        self.assertEqual(fake.requests()[-1].path, "/")

    def test_ready_socket(self) -> None:
        fake = FakeFirecracker(self)

        self.client(fake.socket).wait_for_socket()

        self.assertEqual([(r.method, r.path) for r in fake.requests()], [("GET", "/")])

    def test_timeout(self) -> None:
        path = self.missing_socket()
        started = time.monotonic()

        with self.assertRaises(TimeoutError) as caught:
            self.client(path).wait_for_socket(timeout=0.3)

        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(caught.exception.errno, errno.ETIMEDOUT)
        self.assertIn("timed out", str(caught.exception))
        self.assertIn("no such file or directory", str(caught.exception))

    def test_timeout_names_the_last_error_status(self) -> None:
        fake = FakeFirecracker(self)
        fake.set_reply("GET", "/", Reply(503, {"fault_message": "not ready"}))

        with self.assertRaises(TimeoutError) as caught:
            self.client(fake.socket).wait_for_socket(timeout=0.3)

        self.assertIn("503", str(caught.exception))
        self.assertIn("not ready", str(caught.exception))

    def test_process_exited(self) -> None:
        process = subprocess.Popen(["true"])
        process.wait()

        with self.assertRaises(ProcessLookupError) as caught:
            self.client(self.missing_socket()).wait_for_socket(timeout=30.0, pid=process.pid)

        self.assertIn(f"pid {process.pid}", str(caught.exception))

    def test_bad_arguments(self) -> None:
        fc = self.client(self.missing_socket())
        cases = [
            ({"timeout": 0}, ValueError),
            ({"timeout": -1.0}, ValueError),
            ({"timeout": float("inf")}, ValueError),
            ({"timeout": "1"}, TypeError),
            ({"timeout": 1.0, "pid": 0}, ValueError),
            ({"timeout": 1.0, "pid": 2**40}, ValueError),
            ({"timeout": 1.0, "pid": "1"}, TypeError),
        ]
        for arguments, error in cases:
            with self.subTest(arguments=arguments):
                with self.assertRaises(error):
                    fc.wait_for_socket(**arguments)


if __name__ == "__main__":
    unittest.main()
