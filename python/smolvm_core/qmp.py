"""QEMU control over QMP, the JSON protocol of QEMU's monitor socket.

:class:`QMPClient` wraps the Go package ``qmp``: one session on a Unix
socket, read by one Go goroutine that routes replies by id, so one client
may be used from several Python threads at once. ctypes releases the GIL
while a call waits for QEMU.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _native
from .errors import QMPError


@dataclass(frozen=True)
class QMPJob:
    """One QEMU job, as query-jobs lists it.

    The progress values are in units chosen by the job type, bytes for
    block jobs. ``error`` is QEMU's error text for a job that failed.
    """

    job_id: str
    job_type: str
    status: str
    current_progress: int
    total_progress: int
    error: str | None = None


def available() -> bool:
    """Return True when QMP control is available, which needs only the library."""
    return _native.has_component("qmp")


def _timeout(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class QMPClient:
    """Synchronous QMP client for one QEMU monitor socket.

    Use it as a context manager, or call :meth:`close`. Methods called
    before :meth:`connect` connect with its default timeouts. All methods
    may be called from several threads at once.
    """

    def __init__(self, socket_path: Path) -> None:
        if socket_path is None:
            raise ValueError("socket_path must not be None")
        if not available():
            raise _native.unavailable_error("qmp")
        self.socket_path = socket_path
        self._path = _native.encode(os.fspath(socket_path), "socket_path")
        self._lock = threading.Lock()
        self._handle: int | None = None
        # Jobs that wait_for_job dismissed, so that a dismiss_job after it,
        # as code written for the original module does, is not an error.
        self._dismissed: set[str] = set()

    def __enter__(self) -> QMPClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def connect(self, timeout: float = 5.0, read_timeout: float = 30.0) -> None:
        """Connect to the socket and negotiate capabilities.

        While the socket is missing or refuses connections, the client
        retries until ``timeout`` seconds have passed. That limit also
        covers the greeting and the negotiation. ``read_timeout`` is the
        limit in seconds on each later reply. Connecting an open client does
        nothing.
        """
        timeout = _timeout("timeout", timeout)
        read_timeout = _timeout("read_timeout", read_timeout)
        with self._lock:
            if self._handle is not None:
                return
            self._handle = int(self._raw_call("smolvm_qmp_open", self._path, timeout, read_timeout))

    def _session(self) -> int:
        with self._lock:
            handle = self._handle
        if handle is None:
            self.connect()
            with self._lock:
                handle = self._handle
            if handle is None:
                raise QMPError("QMP client was closed while connecting", {"socket_path": str(self.socket_path)})
        return handle

    def _raw_call(self, function: str, *args: object) -> Any:
        try:
            return _native.call("qmp", function, *args)
        except QMPError as exc:
            exc.details.setdefault("socket_path", str(self.socket_path))
            raise

    def _call(self, function: str, *args: object) -> Any:
        return self._raw_call(function, self._session(), *args)

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run a QMP command and return its "return" value, decoded from JSON."""
        encoded = json.dumps(arguments).encode("utf-8") if arguments else None
        return self._call("smolvm_qmp_execute", _native.encode(command, "command"), encoded)

    def query_status(self) -> dict[str, Any]:
        """Return the VM's run state (query-status), such as ``{"status": "running", "running": True}``."""
        return self._call("smolvm_qmp_query_status")

    def query_version(self) -> dict[str, Any]:
        """Return QEMU's version (query-version), with keys "qemu" and "package"."""
        return self._call("smolvm_qmp_query_version")

    def stop_vm(self) -> None:
        """Pause the guest CPUs (stop)."""
        self._call("smolvm_qmp_stop")

    def cont(self) -> None:
        """Resume the guest CPUs (cont)."""
        self._call("smolvm_qmp_cont")

    def snapshot_save(self, job_id: str, tag: str, vmstate: str, devices: list[str]) -> None:
        """Start a snapshot-save job that saves the VM state and the devices under ``tag``.

        ``vmstate`` is the node name of the device that receives the VM
        state. The call returns once QEMU has started the job; wait for it
        with :meth:`wait_for_job`.
        """
        self.execute("snapshot-save", {"job-id": job_id, "tag": tag, "vmstate": vmstate, "devices": list(devices)})

    def snapshot_load(self, job_id: str, tag: str, vmstate: str, devices: list[str]) -> None:
        """Start a snapshot-load job that restores the snapshot ``tag``. Wait for it with :meth:`wait_for_job`."""
        self.execute("snapshot-load", {"job-id": job_id, "tag": tag, "vmstate": vmstate, "devices": list(devices)})

    def snapshot_delete(self, job_id: str, tag: str, devices: list[str]) -> None:
        """Start a snapshot-delete job that removes ``tag`` from the devices. Wait for it with :meth:`wait_for_job`."""
        self.execute("snapshot-delete", {"job-id": job_id, "tag": tag, "devices": list(devices)})

    def blockdev_snapshot_internal_sync(self, device: str, name: str) -> None:
        """Create the internal qcow2 snapshot ``name`` of ``device`` without VM state.

        ``device`` is a node name or drive id. The call returns when the
        snapshot is written, without a job.
        """
        self._call(
            "smolvm_qmp_blockdev_snapshot_internal_sync",
            _native.encode(device, "device"),
            _native.encode(name, "name"),
        )

    def blockdev_snapshot_delete_internal_sync(self, device: str, name: str) -> None:
        """Delete the internal qcow2 snapshot ``name`` of ``device``."""
        self._call(
            "smolvm_qmp_blockdev_snapshot_delete_internal_sync",
            _native.encode(device, "device"),
            _native.encode(name, "name"),
        )

    def query_jobs(self) -> list[QMPJob]:
        """Return every job that QEMU lists (query-jobs)."""
        return [QMPJob(**job) for job in self._call("smolvm_qmp_query_jobs")]

    def dismiss_job(self, job_id: str) -> None:
        """Remove a concluded job (job-dismiss).

        A job that :meth:`wait_for_job` of this client already dismissed is
        skipped without an error, since code written for the original module
        dismisses each job after waiting for it.
        """
        with self._lock:
            if job_id in self._dismissed:
                self._dismissed.discard(job_id)
                return
        self._call("smolvm_qmp_dismiss_job", _native.encode(job_id, "job_id"))

    def wait_for_job(self, job_id: str, timeout: float = 60.0, poll_interval: float = 0.1) -> QMPJob:
        """Wait until the job concludes, dismiss it, and return its final state.

        The wait follows QEMU's JOB_STATUS_CHANGE events and polls
        query-jobs every 0.1 s in case an event was missed.
        ``poll_interval`` is checked and otherwise ignored, because the
        Go client fixes its polling interval when it connects.

        A job that concluded with an error is dismissed too and raises
        QMPError with ``job_id``, ``job_type``, ``status`` and ``error`` in
        its details. A job that QEMU does not list raises at once. A job
        that does not conclude within ``timeout`` seconds raises after it.
        Both errors have ``job_id`` and ``last_status`` in the details.
        """
        timeout = _timeout("timeout", timeout)
        _timeout("poll_interval", poll_interval)
        try:
            job = self._call("smolvm_qmp_wait_job", _native.encode(job_id, "job_id"), timeout)
        except QMPError as e:
            if e.details.get("status") == "concluded":
                self._mark_dismissed(job_id)
            raise
        self._mark_dismissed(job_id)
        return QMPJob(**job)

    def _mark_dismissed(self, job_id: str) -> None:
        with self._lock:
            self._dismissed.add(job_id)

    def close(self) -> None:
        """Close the session. Calling it again does nothing, and a later call connects again."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._raw_call("smolvm_qmp_close", handle)


__all__ = [
    "QMPClient",
    "QMPJob",
    "available",
]
