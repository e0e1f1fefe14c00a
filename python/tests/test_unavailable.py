"""A library that cannot be loaded."""

from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys
import unittest

from support import child_env, require

# Runs in a child whose SMOLVM_CORE_LIBRARY names a library that does not
# load, and prints what the tests check.
UNLOADABLE_CHILD = r"""
import json
import smolvm_core
from smolvm_core import errors, qmp, network, disk, firecracker, capabilities

def raised(fn, *args):
    try:
        fn(*args)
    except errors.CoreUnavailableError as exc:
        return str(exc)
    except Exception as exc:
        return "unexpected " + type(exc).__name__ + ": " + str(exc)
    return "nothing raised"

print(json.dumps({
    "checks": [
        smolvm_core.has_native_networking(), smolvm_core.has_native_qmp(), smolvm_core.is_available(),
        smolvm_core.has_native_disk_io(), smolvm_core.has_native_firecracker_api(),
        network.available(), qmp.available(), disk.available(), firecracker.available(), capabilities.available(),
    ],
    "detect": smolvm_core.detect().as_dict(),
    "errors": [
        raised(smolvm_core.create_tap, "tap0", 0),
        raised(smolvm_core.get_default_interface),
        raised(network.prepare_tap, "tap0", 0, "172.16.0.1", 30),
        raised(qmp.QMPClient, "/nonexistent/qmp.sock"),
        raised(disk.clone_or_sparse_copy, "a", "b"),
        raised(disk.decompress_zstd_sparse, "a.zst", "b"),
        raised(firecracker.FirecrackerClient, "/nonexistent/fc.sock"),
        raised(capabilities.report),
    ],
}))
"""


def run_unloadable(library: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", UNLOADABLE_CHILD],
        capture_output=True,
        text=True,
        env=child_env(SMOLVM_CORE_LIBRARY=library),
        check=True,
    )
    return json.loads(done.stdout)


class UnloadableLibraryTest(unittest.TestCase):
    def assertUnavailable(self, report: dict, library: str, loader_error: str) -> None:
        self.assertEqual(report["checks"], [False] * 10)
        self.assertEqual(
            report["detect"], {"networking": False, "disk_io": False, "qmp": False, "firecracker_api": False}
        )
        for text in report["errors"]:
            self.assertIn(library, text)
            self.assertIn(loader_error, text)
            self.assertIn("make python", text)

    def test_missing_file(self) -> None:
        library = "/nonexistent/libsmolvmcore.so"

        report = run_unloadable(library)

        self.assertUnavailable(report, library, "cannot open shared object file")

    def test_library_without_the_functions(self) -> None:
        libc = ctypes.util.find_library("c")
        require(self, libc is not None, "no C library found to load as a wrong library")

        report = run_unloadable(libc)

        self.assertUnavailable(report, libc, "undefined symbol: smolvm_free")

    def test_main_reports_the_load_error(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "smolvm_core"],
            capture_output=True,
            text=True,
            env=child_env(SMOLVM_CORE_LIBRARY="/nonexistent/libsmolvmcore.so"),
        )

        self.assertEqual(done.returncode, 1, "a library that does not load is a failed check")
        report = json.loads(done.stdout)
        self.assertFalse(report["library"]["loaded"])
        self.assertIn("cannot open shared object file", report["library"]["error"])
        self.assertEqual(set(report["capabilities"].values()), {False})
        self.assertIsNone(report["network_path"])


if __name__ == "__main__":
    unittest.main()
