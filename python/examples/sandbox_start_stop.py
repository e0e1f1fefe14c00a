#!/usr/bin/env python3
"""Start and stop a sandbox's host side with the original smolvm_core API.

The script uses only the API of the original module: the flat network
functions, qmp.QMPClient and the capability report. It prepares a TAP with
an address, route_localnet and a route to the guest, and starts QEMU
(microvm, paused, TCG) on that TAP. Over QMP it reads the status, resumes
and pauses the guest, and takes a snapshot with a snapshot-save job. Then
it stops QEMU, deletes the TAP and prints a JSON summary.

It changes the network of the namespace it runs in, so it exits without a
change where any interface other than lo exists. Run it as root in a fresh
namespace:

    ip netns add sandbox-demo
    ip netns exec sandbox-demo python3 examples/sandbox_start_stop.py
    ip netns del sandbox-demo
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import smolvm_core
from smolvm_core.qmp import QMPClient

TAP = "tap0"
HOST_IP = "172.16.0.1"
GUEST_IP = "172.16.0.2"
PREFIX_LEN = 30


def ensure_fresh_namespace() -> None:
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        sys.exit(f"this namespace has the interfaces {names}: run the script in a fresh one with `ip netns exec NAME`")


def read_carrier(dev: str) -> str:
    # ip netns exec mounts the namespace's own /sys.
    return Path(f"/sys/class/net/{dev}/carrier").read_text().strip()


def start_qemu(qemu: str, workdir: Path) -> tuple[subprocess.Popen, Path]:
    disk = workdir / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    qmp_socket = workdir / "qmp.sock"
    process = subprocess.Popen(
        [
            qemu,
            "-machine", "microvm,accel=tcg", "-S",
            "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-serial", "none",
            "-m", "64M",
            "-netdev", f"tap,id=net0,ifname={TAP},script=no,downscript=no",
            "-device", "virtio-net-device,netdev=net0",
            "-blockdev", f"driver=file,filename={disk},node-name=disk0-file",
            "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
            "-qmp", f"unix:{qmp_socket},server=on,wait=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, qmp_socket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"), help="QEMU binary (default: from PATH)")
    args = parser.parse_args()
    ensure_fresh_namespace()
    summary: dict[str, object] = {
        "native_networking": smolvm_core.has_native_networking(),
        "native_qmp": smolvm_core.has_native_qmp(),
        "capabilities": smolvm_core.capabilities.detect().as_dict(),
    }

    smolvm_core.create_tap(TAP, os.getuid())
    smolvm_core.configure_tap(TAP, HOST_IP, PREFIX_LEN)
    smolvm_core.write_sysctl(f"net.ipv4.conf.{TAP}.route_localnet", "1")
    smolvm_core.add_route(GUEST_IP, 32, TAP)
    summary["default_interface_error"] = None
    try:
        smolvm_core.get_default_interface()
    except OSError as exc:
        # A fresh namespace has no default route.
        summary["default_interface_error"] = str(exc)

    workdir = Path(tempfile.mkdtemp(prefix="sandbox-demo-"))
    process, qmp_socket = start_qemu(args.qemu, workdir)
    try:
        with QMPClient(qmp_socket) as qmp:
            qmp.connect(timeout=30.0)
            summary["status_at_start"] = qmp.query_status()["status"]
            qmp.cont()
            summary["status_after_cont"] = qmp.query_status()["status"]
            summary["carrier_while_qemu_runs"] = read_carrier(TAP)
            qmp.stop_vm()
            summary["status_after_stop"] = qmp.query_status()["status"]

            qmp.snapshot_save("demo-save", "demo", "disk0", ["disk0"])
            job = qmp.wait_for_job("demo-save", timeout=120.0)
            summary["snapshot_job"] = [job.job_type, job.status, job.error]
            summary["qemu_version"] = qmp.query_version()["qemu"]
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(workdir)

    smolvm_core.delete_tap(TAP)
    summary["interfaces_left"] = sorted(name for _, name in socket.if_nameindex())
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
