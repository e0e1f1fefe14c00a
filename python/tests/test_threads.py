"""Calls from several Python threads at once, and the GIL released during calls."""

from __future__ import annotations

import sys
import threading
import unittest

from smolvm_core.errors import QMPError
from smolvm_core.firecracker import FirecrackerClient
from fake_firecracker import FakeFirecracker, Reply
from support import QEMU, Netns, require_library, wait_until
from test_qmp import start_pending_backup

THREADS = 8
CALLS_PER_THREAD = 100


def run_threads(target, count: int = THREADS) -> list[BaseException]:
    """Run target(i) on count threads and return the exceptions they raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def in_native_call(thread: threading.Thread) -> bool:
    """Return True when thread is in smolvm_core._native.call, the frame that calls into Go."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "call" and frame.f_code.co_filename.endswith("_native.py"):
            return True
        frame = frame.f_back
    return False


class QMPThreadTest(unittest.TestCase):
    def setUp(self) -> None:
        self.qemu = QEMU(self)
        self.client = self.qemu.client(self)

    def test_one_client_from_many_threads(self) -> None:
        results: list[str] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            for n in range(CALLS_PER_THREAD):
                if n % 2:
                    status = self.client.query_status()["status"]
                else:
                    status = self.client.execute("query-status")["status"]
                with lock:
                    results.append(status)

        errors = run_threads(work)

        self.assertEqual(errors, [])
        self.assertEqual(results, ["running"] * THREADS * CALLS_PER_THREAD)

    def test_gil_released_while_waiting(self) -> None:
        # The waiter blocks inside Go until the job is finalized, and only
        # this thread finalizes it. If the call held the GIL, this thread
        # could not run and the waiter would time out instead.
        start_pending_backup(self.client, "backup-gil")
        outcome: dict[str, object] = {}

        def wait() -> None:
            try:
                outcome["job"] = self.client.wait_for_job("backup-gil", timeout=60.0)
            except QMPError as exc:
                outcome["error"] = exc

        waiter = threading.Thread(target=wait)
        waiter.start()
        self.assertTrue(wait_until(lambda: in_native_call(waiter)))
        statuses = [j.status for j in self.client.query_jobs()]
        self.client.execute("job-finalize", {"id": "backup-gil"})
        waiter.join()

        self.assertEqual(statuses, ["pending"])
        self.assertNotIn("error", outcome)
        self.assertEqual(outcome["job"].status, "concluded")

    def test_close_while_calls_run(self) -> None:
        started = threading.Barrier(THREADS + 1)

        def work(i: int) -> None:
            started.wait()
            for _ in range(CALLS_PER_THREAD):
                try:
                    self.client.query_status()
                except QMPError:
                    # A call in flight when close runs fails with QMPError,
                    # and later ones connect again.
                    pass

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        started.wait()
        self.client.close()
        for t in threads:
            t.join()

        self.assertEqual(self.client.query_status()["status"], "running")


class FirecrackerThreadTest(unittest.TestCase):
    def setUp(self) -> None:
        require_library(self)
        self.fake = FakeFirecracker(self)
        self.client = FirecrackerClient(self.fake.socket)
        self.addCleanup(self.client.close)

    def test_one_client_from_many_threads(self) -> None:
        replies: list[tuple[int, object]] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            for n in range(CALLS_PER_THREAD // 2):
                put = self.client.request("PUT", f"/drives/d{i}", {"drive_id": f"d{i}", "n": n})
                get = self.client.request("GET", "/")
                with lock:
                    replies.extend([put, get])

        errors = run_threads(work)

        self.assertEqual(errors, [])
        self.assertEqual(len(replies), THREADS * CALLS_PER_THREAD)
        self.assertEqual({status for status, _ in replies}, {200, 204})
        puts = [r for r in self.fake.requests() if r.method == "PUT"]
        for i in range(THREADS):
            bodies = [r.body for r in puts if r.path == f"/drives/d{i}"]
            self.assertEqual(len(bodies), CALLS_PER_THREAD // 2, f"thread {i}")

    def test_gil_released_while_waiting(self) -> None:
        # The request blocks inside Go until the fake replies, and the fake
        # runs on Python threads of this process. If the call held the
        # GIL, neither the fake nor this thread could run until the
        # request timed out.
        self.fake.set_reply("GET", "/version", Reply(200, {"firecracker_version": "1.7.0"}, delay=0.5))
        outcome: dict[str, object] = {}

        def request() -> None:
            outcome["reply"] = self.client.request("GET", "/version")

        requester = threading.Thread(target=request)
        requester.start()
        seen_in_call = wait_until(lambda: in_native_call(requester), timeout=5.0)
        requester.join()

        self.assertTrue(seen_in_call)
        self.assertEqual(outcome["reply"], (200, {"firecracker_version": "1.7.0"}))

    def test_close_while_requests_run(self) -> None:
        self.fake.set_reply("GET", "/version", Reply(200, {"firecracker_version": "1.7.0"}, delay=0.05))
        started = threading.Barrier(THREADS + 1)

        def work(i: int) -> None:
            started.wait()
            for _ in range(10):
                try:
                    self.client.request("GET", "/version")
                except OSError:
                    # A request in flight when close runs raises OSError,
                    # and later ones open the client again.
                    pass

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        started.wait()
        self.client.close()
        for t in threads:
            t.join()

        self.assertEqual(self.client.request("GET", "/")[0], 200)


class NetworkThreadTest(unittest.TestCase):
    def test_network_calls_from_many_threads(self) -> None:
        ns = Netns(self)
        code = f"""
import threading
outcomes = {{}}
def work(i):
    name = f"tap{{i}}"
    outcomes[i] = [
        call("prepare_tap", name, 0, f"172.16.{{i}}.1", 30),
        call("add_route", f"172.16.{{i}}.2", 32, name),
        call("set_link_up", name),
    ]
threads = [threading.Thread(target=work, args=(i,)) for i in range({THREADS})]
for t in threads: t.start()
for t in threads: t.join()
result = [outcomes[i] for i in range({THREADS})]
"""
        results = ns.run(code)

        for i, outcomes in enumerate(results):
            for outcome in outcomes:
                self.assertNotIn("error", outcome, f"thread {i}")
        routes = {r["dst"]: r["dev"] for r in ns.ip_json("route", "show")}
        for i in range(THREADS):
            self.assertEqual(ns.addresses(f"tap{i}"), [(f"172.16.{i}.1", 30)])
            self.assertEqual(routes[f"172.16.{i}.2"], f"tap{i}")


if __name__ == "__main__":
    unittest.main()
