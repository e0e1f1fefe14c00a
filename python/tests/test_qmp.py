"""QMPClient against a real QEMU, including a snapshot job and a failing job."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

from smolvm_core.errors import QMPError
from smolvm_core.qmp import QMPClient, QMPJob
from support import QEMU, require_library, wait_until


def snapshot_names(client: QMPClient, node: str = "disk0") -> list[str]:
    """Return the internal snapshot names of a qcow2 node."""
    for block in client.execute("query-named-block-nodes"):
        if block["node-name"] == node:
            return [s["name"] for s in block["image"].get("snapshots", [])]
    raise AssertionError(f"QEMU lists no node {node}")


def start_pending_backup(client: QMPClient, job_id: str) -> None:
    """Start a blockdev-backup job and wait until it stops in "pending", where it stays until job-finalize."""
    client.execute("blockdev-add", {"driver": "null-co", "node-name": "target-" + job_id, "size": 64 << 20})
    client.execute(
        "blockdev-backup",
        {
            "job-id": job_id,
            "device": "disk0",
            "target": "target-" + job_id,
            "sync": "full",
            "auto-finalize": False,
            "auto-dismiss": False,
        },
    )
    # The copy runs first, and under load it can take a while.
    pending = wait_until(lambda: [(j.job_id, j.status) for j in client.query_jobs()] == [(job_id, "pending")])
    if not pending:
        raise AssertionError(f"backup job {job_id} did not reach pending: {client.query_jobs()}")


class QMPClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.qemu = QEMU(self)
        self.client = self.qemu.client(self)

    def test_status_version_stop_cont(self) -> None:
        self.assertEqual(self.client.query_status()["status"], "running")

        self.client.stop_vm()
        status = self.client.query_status()
        self.assertEqual(status["status"], "paused")
        self.assertFalse(status["running"])

        self.client.cont()
        self.assertTrue(self.client.query_status()["running"])

        version = self.client.query_version()
        self.assertIsInstance(version["qemu"]["major"], int)
        self.assertIn("package", version)

    def test_execute(self) -> None:
        commands = {c["name"] for c in self.client.execute("query-commands")}
        self.assertIn("snapshot-save", commands)

        self.assertEqual(self.client.execute("query-jobs", {}), [])
        nodes = self.client.execute("query-named-block-nodes", {"flat": True})
        self.assertIn("disk0", {n["node-name"] for n in nodes})

    def test_command_error(self) -> None:
        with self.assertRaises(QMPError) as caught:
            self.client.execute("no-such-command")

        details = caught.exception.details
        self.assertEqual(details["socket_path"], str(self.qemu.socket))
        self.assertEqual(details["command"], "no-such-command")
        self.assertEqual(details["class"], "CommandNotFound")
        self.assertIn("no-such-command", details["desc"])
        self.assertIn(details["desc"], str(caught.exception))

    def test_argument_error(self) -> None:
        with self.assertRaises(QMPError) as caught:
            self.client.execute("blockdev-del", {"node-name": "nope"})

        self.assertEqual(caught.exception.details["class"], "GenericError")
        self.assertEqual(caught.exception.details["command"], "blockdev-del")

    def test_snapshot_jobs(self) -> None:
        self.client.snapshot_save("save-1", "snap1", "disk0", ["disk0"])
        job = self.client.wait_for_job("save-1")

        self.assertEqual(job, QMPJob("save-1", "snapshot-save", "concluded", job.current_progress, job.total_progress, None))
        self.assertEqual(snapshot_names(self.client), ["snap1"])
        self.assertEqual(self.client.query_jobs(), [], "wait_for_job dismisses the job")

        self.client.snapshot_load("load-1", "snap1", "disk0", ["disk0"])
        self.assertEqual(self.client.wait_for_job("load-1", timeout=60.0).status, "concluded")

        self.client.snapshot_delete("delete-1", "snap1", ["disk0"])
        self.assertEqual(self.client.wait_for_job("delete-1").job_type, "snapshot-delete")
        self.assertEqual(snapshot_names(self.client), [])

    def test_failing_job(self) -> None:
        self.client.snapshot_save("bad-1", "snap1", "disk0", ["no-such-node"])

        with self.assertRaises(QMPError) as caught:
            self.client.wait_for_job("bad-1")

        details = caught.exception.details
        self.assertEqual(details["job_id"], "bad-1")
        self.assertEqual(details["job_type"], "snapshot-save")
        self.assertEqual(details["status"], "concluded")
        self.assertIn("no-such-node", details["error"])
        self.assertEqual(details["socket_path"], str(self.qemu.socket))
        self.assertEqual(self.client.query_jobs(), [], "a failed job is dismissed too")

    def test_wait_for_unknown_job(self) -> None:
        with self.assertRaises(QMPError) as caught:
            self.client.wait_for_job("never-started")

        self.assertEqual(caught.exception.details["job_id"], "never-started")
        self.assertIsNone(caught.exception.details["last_status"])

    def test_wait_for_job_timeout(self) -> None:
        start_pending_backup(self.client, "backup-1")

        with self.assertRaises(QMPError) as caught:
            self.client.wait_for_job("backup-1", timeout=0.5)

        self.assertEqual(caught.exception.details["job_id"], "backup-1")
        self.assertEqual(caught.exception.details["last_status"], "pending")
        jobs = self.client.query_jobs()
        self.assertEqual([(j.job_id, j.job_type, j.status) for j in jobs], [("backup-1", "backup", "pending")])

        self.client.execute("job-finalize", {"id": "backup-1"})
        self.assertEqual(self.client.wait_for_job("backup-1").status, "concluded")

    def test_dismiss_job(self) -> None:
        self.client.execute(
            "snapshot-save", {"job-id": "manual-1", "tag": "s", "vmstate": "disk0", "devices": ["disk0"]}
        )
        self.assertTrue(self.wait_for_status("manual-1", "concluded"))

        self.client.dismiss_job("manual-1")
        self.assertEqual(self.client.query_jobs(), [])

        with self.assertRaises(QMPError) as caught:
            self.client.dismiss_job("manual-1")
        self.assertEqual(caught.exception.details["class"], "GenericError")

    def test_dismiss_after_wait_for_job(self) -> None:
        # Code written for the original module dismisses each job after
        # waiting for it; wait_for_job has dismissed it already.
        self.client.snapshot_save("waited-1", "s", "disk0", ["disk0"])
        self.assertEqual(self.client.wait_for_job("waited-1").status, "concluded")

        self.client.dismiss_job("waited-1")
        with self.assertRaises(QMPError):
            self.client.dismiss_job("waited-1")

    def wait_for_status(self, job_id: str, status: str) -> bool:
        return wait_until(lambda: any(j.job_id == job_id and j.status == status for j in self.client.query_jobs()))

    def test_internal_snapshots(self) -> None:
        self.client.blockdev_snapshot_internal_sync("disk0", "a")
        self.client.blockdev_snapshot_internal_sync("disk0", "b")
        self.assertEqual(snapshot_names(self.client), ["a", "b"])

        self.client.blockdev_snapshot_delete_internal_sync("disk0", "a")
        self.assertEqual(snapshot_names(self.client), ["b"])

        with self.assertRaises(QMPError) as caught:
            self.client.blockdev_snapshot_internal_sync("disk0", "b")
        self.assertEqual(caught.exception.details["command"], "blockdev-snapshot-internal-sync")

    def test_close_and_reconnect(self) -> None:
        self.client.close()
        self.client.close()

        self.assertEqual(self.client.query_status()["status"], "running")


class QMPClientLifecycleTest(unittest.TestCase):
    def setUp(self) -> None:
        require_library(self)

    def test_none_socket_path(self) -> None:
        with self.assertRaises(ValueError):
            QMPClient(None)

    def test_context_manager_closes(self) -> None:
        qemu = QEMU(self)
        with QMPClient(qemu.socket) as client:
            client.connect(timeout=30.0)
            self.assertIn("status", client.query_status())

        # QEMU serves one client per monitor, so a second one can only
        # connect once the first has closed.
        second = qemu.client(self)
        self.assertIn("status", second.query_status())

    def test_connect_times_out_on_missing_socket(self) -> None:
        missing = Path(tempfile.mkdtemp(prefix="smolvm-py-")) / "missing.sock"
        self.addCleanup(os.rmdir, missing.parent)
        client = QMPClient(missing)

        with self.assertRaises(QMPError) as caught:
            client.connect(timeout=0.2)

        self.assertEqual(caught.exception.details["socket_path"], str(missing))
        self.assertIn("timed out", str(caught.exception))

    def test_invalid_timeouts(self) -> None:
        client = QMPClient("/nonexistent/qmp.sock")
        for timeout in (0, -1.0, float("nan"), float("inf")):
            with self.subTest(timeout=timeout), self.assertRaises(ValueError):
                client.connect(timeout=timeout)
        with self.assertRaises(TypeError):
            client.connect(timeout="5")


if __name__ == "__main__":
    unittest.main()
