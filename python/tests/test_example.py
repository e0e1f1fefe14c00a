"""The example written for the original module's API runs unchanged in a namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import unittest

from support import CHILD_TIMEOUT, PACKAGE_ROOT, Netns, child_env, require

EXAMPLE = PACKAGE_ROOT / "examples" / "sandbox_start_stop.py"


class ExampleTest(unittest.TestCase):
    def test_sandbox_start_stop(self) -> None:
        ns = Netns(self)
        require(self, shutil.which("qemu-system-x86_64") is not None, "qemu-system-x86_64 is not installed: apt-get install qemu-system-x86")

        done = subprocess.run(
            ["ip", "netns", "exec", ns.name, sys.executable, str(EXAMPLE)],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=CHILD_TIMEOUT,
        )

        self.assertEqual(done.returncode, 0, done.stderr)
        summary = json.loads(done.stdout)
        self.assertTrue(summary["native_networking"])
        self.assertEqual(summary["capabilities"], {"networking": True, "disk_io": True, "qmp": True, "firecracker_api": True})
        self.assertEqual(summary["default_interface_error"], "get default interface ipv4: no default route")
        self.assertEqual(
            [summary["status_at_start"], summary["status_after_cont"], summary["status_after_stop"]],
            ["prelaunch", "running", "paused"],
        )
        self.assertEqual(summary["carrier_while_qemu_runs"], "1")
        self.assertEqual(summary["snapshot_job"], ["snapshot-save", "concluded", None])
        self.assertEqual(summary["interfaces_left"], ["lo"])
        self.assertEqual([link["ifname"] for link in ns.ip_json("link", "show")], ["lo"])
        self.assertEqual(ns.ip_json("route", "show"), [])

    def test_rejects_namespace_in_use(self) -> None:
        ns = Netns(self)
        ns.ip("tuntap", "add", "dev", "other0", "mode", "tap")

        done = subprocess.run(
            ["ip", "netns", "exec", ns.name, sys.executable, str(EXAMPLE)],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=CHILD_TIMEOUT,
        )

        self.assertEqual(done.returncode, 1)
        self.assertIn("run the script in a fresh one", done.stderr)
        self.assertEqual(sorted(link["ifname"] for link in ns.ip_json("link", "show")), ["lo", "other0"])


if __name__ == "__main__":
    unittest.main()
