#!/usr/bin/env python3
"""Time calls through the smolvm_core Python module, for comparison with the Go benchmarks.

It times a sandbox network start (prepare_tap, then add_route), which the
Go benchmark StartNative in network/ also times. It also times two calls
that show the cost of the ctypes and JSON layer: set_link_up("lo") and a
create_tap that fails validation before any kernel call. Last it times a
QMP query-status round trip to a QEMU that it starts (-machine none, TCG),
which the Go benchmark QueryStatus in qmp/ also times.

It changes the network of the namespace it runs in, so it exits without a
change where any interface other than lo exists. Run it as root, after
`make python`, from the repository root:

    ip netns add smolvm-bench
    PYTHONPATH=python ip netns exec smolvm-bench python3 python/benchmarks/bench_calls.py
    ip netns del smolvm-bench
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import smolvm_core
from smolvm_core.qmp import QMPClient

ROUNDS = 5


def ensure_fresh_namespace() -> None:
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        sys.exit(f"this namespace has the interfaces {names}: run the benchmark in a fresh one with `ip netns exec NAME`")


def per_call(fn: Callable[[], object], calls: int, after: Callable[[], object] | None = None) -> list[float]:
    """Return the mean time in seconds of one call of fn for each of ROUNDS rounds.

    ``after`` runs after each call, outside the timing.
    """
    rounds = []
    for _ in range(ROUNDS):
        total = 0.0
        for _ in range(calls):
            start = time.perf_counter()
            fn()
            total += time.perf_counter() - start
            if after is not None:
                after()
        rounds.append(total / calls)
    return rounds


def failing_create() -> None:
    try:
        smolvm_core.create_tap("bad/name", 0)
    except OSError:
        pass


def start_sandbox_network() -> None:
    smolvm_core.prepare_tap("tap0", 1000, "172.16.0.1", 30)
    smolvm_core.add_route("172.16.0.2", 32, "tap0")


def start_qemu(workdir: Path) -> tuple[subprocess.Popen, Path]:
    qmp_socket = workdir / "qmp.sock"
    process = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "none", "-accel", "tcg", "-nodefaults", "-display", "none",
         "-qmp", f"unix:{qmp_socket},server=on,wait=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, qmp_socket


def report(name: str, rounds: list[float]) -> None:
    micros = [r * 1e6 for r in rounds]
    print(f"| {name} | {min(micros):.1f} to {max(micros):.1f} µs | {statistics.median(micros):.1f} µs |")


def main() -> int:
    ensure_fresh_namespace()
    if not smolvm_core.has_native_networking():
        sys.exit("native networking is not available: run the benchmark as root")

    print(f"| call | mean per call ({ROUNDS} rounds) | median round |")
    print("| --- | --- | --- |")
    report("prepare_tap + add_route", per_call(start_sandbox_network, 200, after=lambda: smolvm_core.delete_tap("tap0")))
    report('set_link_up("lo")', per_call(lambda: smolvm_core.set_link_up("lo"), 20_000))
    report("create_tap failing validation", per_call(failing_create, 20_000))

    workdir = Path(tempfile.mkdtemp(prefix="smolvm-bench-"))
    process, qmp_socket = start_qemu(workdir)
    try:
        with QMPClient(qmp_socket) as client:
            client.connect(timeout=30.0)
            report("QMPClient.query_status()", per_call(client.query_status, 5_000))
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
