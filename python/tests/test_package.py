"""The package's public shape, ``python -m smolvm_core``, and an offline pip install."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import smolvm_core
from smolvm_core import capabilities, disk, errors, firecracker, network, qmp
from support import PACKAGE_ROOT, child_env, require, require_library

# The original module's flat functions and their parameters.
FLAT_API = {
    "has_native_networking": [],
    "has_native_qmp": [],
    "is_available": [],
    "create_tap": ["name", "owner_uid"],
    "delete_tap": ["name"],
    "flush_addrs": ["name"],
    "add_addr": ["name", "ip", "prefix_len"],
    "set_link_up": ["name"],
    "configure_tap": ["name", "host_ip", "prefix_len"],
    "add_route": ["dest", "prefix_len", "dev"],
    "get_default_interface": [],
    "write_sysctl": ["key", "value"],
}


class PublicAPITest(unittest.TestCase):
    def test_version_is_a_date(self) -> None:
        self.assertRegex(smolvm_core.__version__, r"^20\d\d\.(1[0-2]|[1-9])\.(3[01]|[12]\d|[1-9])$")

    def test_flat_functions(self) -> None:
        for name, parameters in FLAT_API.items():
            with self.subTest(name=name):
                self.assertIn(name, smolvm_core.__all__)
                self.assertEqual(list(inspect.signature(getattr(smolvm_core, name)).parameters), parameters)
                self.assertTrue(inspect.getdoc(getattr(smolvm_core, name)))

    def test_network_module(self) -> None:
        signature = inspect.signature(network.prepare_tap)
        self.assertEqual(list(signature.parameters), ["name", "owner_uid", "host_ip", "prefix_len", "route_localnet"])
        self.assertIs(signature.parameters["route_localnet"].default, True)
        self.assertIs(network.create_tap, smolvm_core.create_tap)
        self.assertIsInstance(network.available(), bool)

    def test_qmp_module(self) -> None:
        self.assertEqual(
            [f.name for f in dataclasses.fields(qmp.QMPJob)],
            ["job_id", "job_type", "status", "current_progress", "total_progress", "error"],
        )
        job = qmp.QMPJob("j", "backup", "running", 1, 2)
        with self.assertRaises(dataclasses.FrozenInstanceError):
            job.status = "concluded"
        wait = inspect.signature(qmp.QMPClient.wait_for_job)
        self.assertEqual(wait.parameters["timeout"].default, 60.0)
        self.assertEqual(wait.parameters["poll_interval"].default, 0.1)
        connect = inspect.signature(qmp.QMPClient.connect)
        self.assertEqual((connect.parameters["timeout"].default, connect.parameters["read_timeout"].default), (5.0, 30.0))

    def test_firecracker_and_disk_modules(self) -> None:
        request = inspect.signature(firecracker.FirecrackerClient.request)
        self.assertEqual(list(request.parameters), ["self", "method", "path", "body"])
        self.assertIsNone(request.parameters["body"].default)
        wait = inspect.signature(firecracker.FirecrackerClient.wait_for_socket)
        self.assertEqual(wait.parameters["timeout"].default, 10.0)
        self.assertEqual(list(inspect.signature(disk.clone_or_sparse_copy).parameters), ["source", "target"])
        decompress = inspect.signature(disk.decompress_zstd_sparse)
        self.assertEqual(list(decompress.parameters), ["source", "target", "chunk_size"])
        self.assertEqual(decompress.parameters["chunk_size"].default, 1024 * 1024)

    def test_capabilities(self) -> None:
        require_library(self)
        caps = smolvm_core.detect()

        self.assertIsInstance(caps, capabilities.CoreCapabilities)
        self.assertEqual(
            caps.as_dict(),
            {"networking": network.available(), "disk_io": True, "qmp": True, "firecracker_api": True},
        )
        self.assertEqual(
            (caps.disk_io, caps.qmp, caps.firecracker_api),
            (smolvm_core.has_native_disk_io(), smolvm_core.has_native_qmp(), smolvm_core.has_native_firecracker_api()),
        )
        with self.assertRaises(dataclasses.FrozenInstanceError):
            caps.qmp = False
        self.assertTrue(capabilities.available())

    def test_capability_report(self) -> None:
        require_library(self)
        with tempfile.TemporaryDirectory() as directory:
            report = capabilities.report(directory)

        checks = {c["name"]: c for c in report["checks"]}
        self.assertEqual(report["version"], smolvm_core.__version__)
        self.assertTrue({"network.native", "qmp", "firecracker", "disk.reflink", "disk.zstd"} <= set(checks))
        self.assertIn(directory, checks["disk.reflink"]["detail"])
        self.assertTrue(checks["disk.zstd"]["available"])
        self.assertTrue(checks["firecracker"]["available"])

    def test_errors_module(self) -> None:
        self.assertEqual(
            sorted(errors.__all__), ["CoreUnavailableError", "FirecrackerAPIError", "QMPError", "SmolVMCoreError"]
        )
        error = errors.QMPError("failed", {"socket_path": "/s"})
        self.assertEqual((str(error), error.details), ("failed", {"socket_path": "/s"}))
        self.assertEqual(errors.QMPError("failed").details, {})


class MainTest(unittest.TestCase):
    def test_prints_json_report(self) -> None:
        require_library(self)
        done = subprocess.run(
            [sys.executable, "-m", "smolvm_core"], capture_output=True, text=True, env=child_env(), check=True
        )

        report = json.loads(done.stdout)
        self.assertEqual(report["smolvm_core"], smolvm_core.__version__)
        self.assertEqual(report["python"], ".".join(map(str, sys.version_info[:3])))
        self.assertTrue(report["platform"])
        self.assertTrue(report["library"]["loaded"])
        self.assertEqual(set(report["capabilities"]), {"networking", "disk_io", "qmp", "firecracker_api"})
        self.assertEqual(report["capabilities"], smolvm_core.detect().as_dict())
        self.assertTrue(report["capabilities"]["disk_io"])
        self.assertTrue(report["capabilities"]["firecracker_api"])
        self.assertEqual(set(report["network_path"]), {"native", "backend", "reason"})
        self.assertIn(report["network_path"]["backend"], {"native", "command"})


class InstallTest(unittest.TestCase):
    def test_pip_install_offline(self) -> None:
        require_library(self)
        missing = [m for m in ("pip", "setuptools", "wheel") if importlib.util.find_spec(m) is None]
        require(
            self,
            not missing,
            f"{sys.executable} lacks {', '.join(missing)}, which an offline install needs "
            "(Debian: apt-get install python3-pip python3-setuptools python3-wheel)",
        )
        work = Path(tempfile.mkdtemp(prefix="smolvm-py-install-"))
        self.addCleanup(shutil.rmtree, work)
        # Build from a copy, because setuptools writes build/ and
        # *.egg-info next to the sources.
        source = work / "src"
        shutil.copytree(PACKAGE_ROOT, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))

        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-index",
             "--target", str(work / "site"), str(source)],
            check=True,
            capture_output=True,
        )

        probe = (
            "import json, smolvm_core; from smolvm_core import _native; "
            "print(json.dumps([smolvm_core.__file__, str(_native.library_path), smolvm_core.has_native_qmp()]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(work / "site")},
            check=True,
        )
        package_file, library, qmp_available = json.loads(done.stdout)
        self.assertEqual(Path(package_file).parent, work / "site" / "smolvm_core")
        self.assertEqual(Path(library).parent, work / "site" / "smolvm_core")
        self.assertTrue(qmp_available)
        wheel = next((work / "site").glob("smolvm_core-*.dist-info")) / "WHEEL"
        self.assertRegex(wheel.read_text(), re.compile(r"^Tag: py3-none-linux_", re.MULTILINE))


if __name__ == "__main__":
    unittest.main()
