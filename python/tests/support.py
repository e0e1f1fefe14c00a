"""Helpers for the smolvm_core tests: requirements, namespaces, QEMU.

Kernel tests run the module in a child process under ``ip netns exec`` in a
namespace that the test creates and deletes, so they never touch the
host's interfaces, routes or sysctls. Like the Go tests, they skip without
root or QEMU and fail instead when the CI environment variable is set.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any

import smolvm_core
from smolvm_core import _native

#: The directory that contains the smolvm_core package.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).resolve().with_name("netns_child.py")
IN_CI = bool(os.environ.get("CI"))

# Generous limits for TCG on a loaded two-core machine. They only stop a
# hung test and are no speed goal.
CHILD_TIMEOUT = 300
QMP_CONNECT_TIMEOUT = 30.0


def require(test: unittest.TestCase, ok: bool, message: str) -> None:
    """Skip the test unless ok, or fail it when CI is set, so CI cannot pass by skipping."""
    if ok:
        return
    if IN_CI:
        test.fail(message + " (CI is set, so this is a failure rather than a skip)")
    test.skipTest(message)


def require_library(test: unittest.TestCase) -> None:
    require(test, _native.loaded(), f"the native library is missing ({_native.load_error}): run `make python`")


def require_root(test: unittest.TestCase) -> None:
    require_library(test)
    require(test, os.geteuid() == 0, "kernel tests need root to create network namespaces: run them with sudo")
    require(test, shutil.which("ip") is not None, "ip is not installed: apt-get install iproute2")


def child_env(**extra: str) -> dict[str, str]:
    """Return the environment for a child Python that imports this smolvm_core."""
    env = dict(os.environ)
    env["SMOLVM_TEST_HOST_NETNS"] = str(os.stat("/proc/self/ns/net").st_ino)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


class Netns:
    """A network namespace named smolvm-py-HEX, created and deleted by a test."""

    def __init__(self, test: unittest.TestCase) -> None:
        require_root(test)
        self.name = "smolvm-py-" + secrets.token_hex(4)
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        test.addCleanup(self.delete)

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=True)

    def ip(self, *args: str) -> str:
        """Run ``ip -n NAME ARGS`` and return its output."""
        done = subprocess.run(["ip", "-n", self.name, *args], check=True, capture_output=True, text=True)
        return done.stdout

    def ip_json(self, *args: str) -> Any:
        """Run ``ip -n NAME -json ARGS`` and return the decoded output."""
        return json.loads(self.ip("-json", *args) or "[]")

    def link(self, name: str) -> dict[str, Any] | None:
        """Return the link ``name`` with details, or None when it does not exist."""
        for link in self.ip_json("-details", "link", "show"):
            if link["ifname"] == name:
                return link
        return None

    def addresses(self, dev: str) -> list[tuple[str, int]]:
        """Return the IPv4 addresses of ``dev`` as (address, prefix length) pairs."""
        listing = self.ip_json("-4", "addr", "show", "dev", dev)
        return [(a["local"], a["prefixlen"]) for entry in listing for a in entry.get("addr_info", [])]

    def sysctl(self, path: str) -> str:
        """Read /proc/sys/PATH inside the namespace."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, "cat", "/proc/sys/" + path],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def run(self, code: str, drop_net_admin: bool = False, env: dict[str, str] | None = None) -> Any:
        """Run ``code`` in a child Python inside the namespace and return its ``result``.

        See netns_child.py for the helpers that ``code`` can use. With
        ``drop_net_admin`` the child runs without CAP_NET_ADMIN, as an
        unprivileged runtime would.
        """
        command = ["ip", "netns", "exec", self.name]
        if drop_net_admin:
            command += ["setpriv", "--inh-caps=-net_admin", "--ambient-caps=-net_admin", "--bounding-set=-net_admin"]
        command += [sys.executable, str(CHILD), code]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=child_env(**(env or {})),
            timeout=CHILD_TIMEOUT,
        )
        if done.returncode != 0:
            raise AssertionError(f"child exited with {done.returncode}:\n{done.stderr}")
        return json.loads(done.stdout.splitlines()[-1])


class QEMU:
    """A qemu-system-x86_64 started by a test with no machine, TCG and a QMP socket.

    A 64 MiB qcow2 disk is attached as node "disk0", so snapshot jobs have a
    device to write to.
    """

    def __init__(self, test: unittest.TestCase) -> None:
        require_library(test)
        qemu = shutil.which("qemu-system-x86_64")
        img = shutil.which("qemu-img")
        require(
            test,
            qemu is not None and img is not None,
            "real QEMU tests need qemu-system-x86_64 and qemu-img: apt-get install qemu-system-x86 qemu-utils",
        )
        self.dir = Path(tempfile.mkdtemp(prefix="smolvm-py-qemu-"))
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.socket = self.dir / "qmp.sock"
        disk = self.dir / "disk.qcow2"
        subprocess.run([img, "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)

        self.log = open(self.dir / "qemu.log", "w+b")
        test.addCleanup(self.log.close)
        self.process = subprocess.Popen(
            [
                qemu,
                "-machine", "none", "-accel", "tcg", "-nodefaults", "-display", "none",
                "-qmp", f"unix:{self.socket},server=on,wait=off",
                "-blockdev", f"driver=file,filename={disk},node-name=disk0-file",
                "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        test.addCleanup(self.stop)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def client(self, test: unittest.TestCase) -> smolvm_core.qmp.QMPClient:
        """Return a connected client that the test closes when it ends."""
        client = smolvm_core.qmp.QMPClient(self.socket)
        client.connect(timeout=QMP_CONNECT_TIMEOUT)
        test.addCleanup(client.close)
        return client

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def wait_until(condition: Any, timeout: float = 30.0) -> bool:
    """Poll condition every 10 ms until it is true or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())
