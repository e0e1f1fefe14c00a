"""The OSError texts and errno values that callers of the original module rely on."""

from __future__ import annotations

import errno
import unittest

from smolvm_core import _native
from smolvm_core.errors import CoreUnavailableError, FirecrackerAPIError, SmolVMCoreError, kernel_error
from support import Netns


class KernelErrorTest(unittest.TestCase):
    """The OSError objects themselves, without the library."""

    def test_text_is_the_message_alone(self) -> None:
        exc = kernel_error(errno.EEXIST, "File exists", "create tap tap0: tap exists with owner 1000, requested 0")

        self.assertEqual(str(exc), "File exists")
        self.assertEqual(exc.errno, errno.EEXIST)
        self.assertEqual(exc.strerror, "File exists")
        self.assertIsInstance(exc, FileExistsError)
        self.assertEqual(exc.detail, "create tap tap0: tap exists with owner 1000, requested 0")

    def test_errno_selects_builtin_class(self) -> None:
        self.assertIsInstance(kernel_error(errno.EPERM, "Operation not permitted"), PermissionError)
        self.assertIsInstance(kernel_error(errno.ENOENT, "x"), FileNotFoundError)
        self.assertIs(type(kernel_error(errno.EBUSY, "Device or resource busy")).__mro__[1], OSError)

    def test_not_available_has_no_errno(self) -> None:
        exc = _native.to_exception({"kind": "os", "errno": 0, "message": "Not available on this platform"})

        self.assertIs(type(exc), OSError)
        self.assertEqual(str(exc), "Not available on this platform")
        self.assertIsNone(exc.errno)

    def test_other_kinds(self) -> None:
        self.assertIsInstance(_native.to_exception({"kind": "value", "message": "bad"}), ValueError)
        qmp = _native.to_exception({"kind": "qmp", "message": "m", "details": {"socket_path": "/s"}})
        self.assertEqual(qmp.details, {"socket_path": "/s"})
        details = {"socket_path": "/s", "method": "PUT", "path": "/actions", "status_code": 400, "fault_message": "f"}
        api = _native.to_exception({"kind": "firecracker_api", "message": "m", "details": details})
        self.assertIsInstance(api, FirecrackerAPIError)
        self.assertEqual((str(api), api.status_code, api.details), ("m", 400, details))

    def test_firecracker_api_error_alone(self) -> None:
        error = FirecrackerAPIError("API error: bad request", status_code=400)

        self.assertEqual(error.status_code, 400)
        self.assertEqual(error.details, {})
        self.assertIsInstance(error, SmolVMCoreError)
        self.assertIsInstance(CoreUnavailableError("x"), SmolVMCoreError)


class NetworkErrorTest(unittest.TestCase):
    """Error texts from the real kernel, each in a fresh namespace."""

    def setUp(self) -> None:
        self.ns = Netns(self)

    def assertOSError(self, outcome: dict, text: str, errno_value: int | None) -> dict:
        self.assertIn("error", outcome)
        error = outcome["error"]
        self.assertIn("OSError", error["bases"])
        self.assertEqual(error["str"], text)
        self.assertEqual(error["errno"], errno_value)
        return error

    def test_file_exists(self) -> None:
        results = self.ns.run(
            'result = [call("create_tap", "tap0", 1000), call("create_tap", "tap0", 0), call("create_tap", "lo", 0)]'
        )

        error = self.assertOSError(results[1], "File exists", errno.EEXIST)
        self.assertEqual(error["type"], "FileExistsError")
        self.assertIn("tap exists with owner 1000, requested 0", error["detail"])
        self.assertOSError(results[2], "File exists", errno.EEXIST)

    def test_route_exists(self) -> None:
        results = self.ns.run(
            'result = [call("prepare_tap", "tap0", 0, "172.16.0.1", 30), call("prepare_tap", "tap1", 0, "172.16.1.1", 30),'
            ' call("add_route", "172.16.0.2", 32, "tap0"), call("add_route", "172.16.0.2", 32, "tap1")]'
        )

        self.assertOSError(results[3], "RTNETLINK answers: File exists", errno.EEXIST)

    def test_device_busy(self) -> None:
        results = self.ns.run('hold_tap("tap0"); result = [call("create_tap", "tap0", 0)]')

        self.assertOSError(results[0], "Device or resource busy", errno.EBUSY)

    def test_operation_not_permitted(self) -> None:
        results = self.ns.run(
            'result = [call("create_tap", "tap0", 0), call("has_native_networking"), call("is_available")]',
            drop_net_admin=True,
        )

        error = self.assertOSError(results[0], "Operation not permitted", errno.EPERM)
        self.assertEqual(error["type"], "PermissionError")
        self.assertEqual(results[1:], [{"result": False}, {"result": False}])
        self.assertIsNone(self.ns.link("tap0"))

    def test_cannot_find_device(self) -> None:
        results = self.ns.run(
            'result = [call("delete_tap", "nope0"), call("set_link_up", "nope0"), call("flush_addrs", "nope0"),'
            ' call("add_addr", "nope0", "10.0.0.1", 24), call("configure_tap", "nope0", "10.0.0.1", 24),'
            ' call("add_route", "10.0.0.0", 24, "nope0")]'
        )

        for outcome in results:
            self.assertOSError(outcome, 'Cannot find device "nope0"', errno.ENODEV)

    def test_invalid_input_names_operation_and_value(self) -> None:
        results = self.ns.run(
            'result = [call("create_tap", "bad/name", 0), call("create_tap", "tap0", -2),'
            ' call("add_addr", "lo", "1.2.3", 24), call("add_route", "10.0.0.0", 33, "lo"),'
            ' call("configure_tap", "lo", "fd00::1", 64), call("write_sysctl", "net.ipv4..x", "1"),'
            ' call("write_sysctl", "net.ipv4.ip_forward", ""), call("create_tap", "tap0", 2**64),'
            ' call("delete_tap", "a\\x00b")]'
        )

        expected = [
            "create_tap: invalid interface name \"bad/name\": must not contain '/'",
            'create_tap: invalid uid "-2": must be from 0 to 4294967294, or -1 for no owner',
            'add_addr: invalid address "1.2.3": is not an IPv4 address',
            'add_route: invalid prefix length "33": must be from 0 to 32',
            'configure_tap: invalid host address "fd00::1": is not an IPv4 address',
            'write_sysctl: invalid sysctl key "net.ipv4..x": has an empty component',
            'write_sysctl: invalid sysctl value "": for net.ipv4.ip_forward must not be empty',
            "create_tap: invalid owner_uid 18446744073709551616: is out of range",
            "delete_tap: invalid name 'a\\x00b': must not contain NUL characters",
        ]
        self.assertEqual(len(results), len(expected))
        for outcome, text in zip(results, expected):
            self.assertOSError(outcome, text, errno.EINVAL)
        self.assertEqual(self.ns.ip_json("link", "show")[0]["ifname"], "lo")
        self.assertEqual(len(self.ns.ip_json("link", "show")), 1)

    def test_wrong_argument_types(self) -> None:
        results = self.ns.run('result = [call("create_tap", b"tap0", 0), call("create_tap", "tap0", "0")]')

        self.assertEqual(results[0]["error"]["type"], "TypeError")
        self.assertEqual(results[1]["error"]["type"], "TypeError")

    def test_not_a_tap(self) -> None:
        results = self.ns.run('result = [call("delete_tap", "lo")]')

        error = self.assertOSError(results[0], "delete tap lo: not a tap device", errno.EINVAL)
        self.assertEqual(error["detail"], "delete tap lo: not a tap device")

    def test_no_default_route(self) -> None:
        results = self.ns.run('result = [call("get_default_interface")]')

        self.assertOSError(results[0], "get default interface ipv4: no default route", errno.ENETUNREACH)

    def test_unknown_sysctl_key(self) -> None:
        results = self.ns.run('result = [call("write_sysctl", "net.ipv4.conf.nope0.route_localnet", "1")]')

        error = results[0]["error"]
        self.assertEqual(error["type"], "FileNotFoundError")
        self.assertEqual(error["errno"], errno.ENOENT)
        self.assertIn("net.ipv4.conf.nope0.route_localnet", error["str"])


if __name__ == "__main__":
    unittest.main()
