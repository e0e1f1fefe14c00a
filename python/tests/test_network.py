"""Every network function in a fresh namespace, checked against ``ip -json``."""

from __future__ import annotations

import pwd
import unittest

from support import Netns

OWNER = 1000


def user_names(uid: int) -> set[str]:
    """Return the forms in which ``ip -details`` may show a TAP's owner."""
    names = {str(uid)}
    try:
        names.add(pwd.getpwuid(uid).pw_name)
    except KeyError:
        pass
    return names


class NetworkFunctionTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ns = Netns(self)

    def assertCallsSucceed(self, results: list[dict]) -> None:
        for i, outcome in enumerate(results):
            self.assertNotIn("error", outcome, f"call {i}")

    def test_create_tap(self) -> None:
        results = self.ns.run(f'result = [call("create_tap", "tap0", {OWNER}), call("create_tap", "tap0", {OWNER})]')

        self.assertCallsSucceed(results)
        link = self.ns.link("tap0")
        self.assertIsNotNone(link)
        info = link["linkinfo"]
        self.assertEqual(info["info_kind"], "tun")
        self.assertEqual(info["info_data"]["type"], "tap")
        self.assertTrue(info["info_data"]["persist"])
        self.assertFalse(info["info_data"]["pi"])
        self.assertFalse(info["info_data"]["multi_queue"])
        self.assertIn(str(info["info_data"]["user"]), user_names(OWNER))

    def test_create_tap_without_owner(self) -> None:
        self.assertCallsSucceed(self.ns.run('result = [call("create_tap", "tap0", -1)]'))

        self.assertNotIn("user", self.ns.link("tap0")["linkinfo"]["info_data"])

    def test_delete_tap(self) -> None:
        results = self.ns.run('result = [call("create_tap", "tap0", 0), call("delete_tap", "tap0")]')

        self.assertCallsSucceed(results)
        self.assertIsNone(self.ns.link("tap0"))

    def test_flush_addrs(self) -> None:
        self.ns.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
        self.ns.ip("addr", "add", "10.1.0.1/24", "dev", "tap0")
        self.ns.ip("addr", "add", "10.2.0.1/24", "dev", "tap0")
        self.ns.ip("addr", "add", "fd00::1/64", "dev", "tap0")

        self.assertCallsSucceed(self.ns.run('result = [call("flush_addrs", "tap0")]'))

        listing = self.ns.ip_json("addr", "show", "dev", "tap0")
        self.assertEqual(listing[0].get("addr_info", []), [])

    def test_add_addr(self) -> None:
        results = self.ns.run(
            'result = [call("create_tap", "tap0", 0), call("add_addr", "tap0", "172.16.0.1", 30),'
            ' call("add_addr", "tap0", "172.16.0.1", 30)]'
        )

        self.assertCallsSucceed(results)
        self.assertEqual(self.ns.addresses("tap0"), [("172.16.0.1", 30)])

    def test_set_link_up(self) -> None:
        results = self.ns.run('result = [call("create_tap", "tap0", 0), call("set_link_up", "tap0"), call("set_link_up", "lo")]')

        self.assertCallsSucceed(results)
        self.assertIn("UP", self.ns.link("tap0")["flags"])
        self.assertIn("UP", self.ns.link("lo")["flags"])

    def test_configure_tap(self) -> None:
        self.ns.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
        self.ns.ip("addr", "add", "10.9.9.1/24", "dev", "tap0")

        results = self.ns.run(
            'result = [call("configure_tap", "tap0", "172.16.0.1", 30), call("configure_tap", "tap0", "172.16.0.1", 30)]'
        )

        self.assertCallsSucceed(results)
        self.assertEqual(self.ns.addresses("tap0"), [("172.16.0.1", 30)])
        self.assertIn("UP", self.ns.link("tap0")["flags"])

    def test_prepare_tap(self) -> None:
        results = self.ns.run(f'result = [call("prepare_tap", "tap0", {OWNER}, "172.16.0.1", 30)]')

        self.assertCallsSucceed(results)
        link = self.ns.link("tap0")
        self.assertEqual(link["linkinfo"]["info_data"]["type"], "tap")
        self.assertIn(str(link["linkinfo"]["info_data"]["user"]), user_names(OWNER))
        self.assertIn("UP", link["flags"])
        self.assertEqual(self.ns.addresses("tap0"), [("172.16.0.1", 30)])
        self.assertEqual(self.ns.sysctl("net/ipv4/conf/tap0/route_localnet"), "1")

    def test_prepare_tap_without_route_localnet(self) -> None:
        results = self.ns.run('result = [call("prepare_tap", "tap0", 0, "172.16.0.1", 30, route_localnet=False)]')

        self.assertCallsSucceed(results)
        self.assertEqual(self.ns.addresses("tap0"), [("172.16.0.1", 30)])
        self.assertEqual(self.ns.sysctl("net/ipv4/conf/tap0/route_localnet"), "0")

    def test_prepare_tap_leaves_nothing_on_invalid_address(self) -> None:
        results = self.ns.run('result = [call("prepare_tap", "tap0", 0, "172.16.0.0", 30)]')

        self.assertEqual(results[0]["error"]["errno"], 22)
        self.assertIsNone(self.ns.link("tap0"))

    def test_add_route(self) -> None:
        results = self.ns.run(
            'result = [call("prepare_tap", "tap0", 0, "172.16.0.1", 30), call("add_route", "172.16.0.2", 32, "tap0"),'
            ' call("add_route", "172.16.0.2", 32, "tap0")]'
        )

        self.assertCallsSucceed(results)
        routes = [r for r in self.ns.ip_json("route", "show") if r["dst"] == "172.16.0.2"]
        self.assertEqual(len(routes), 1)
        self.assertEqual(routes[0]["dev"], "tap0")
        self.assertEqual(routes[0]["scope"], "link")

    def test_get_default_interface(self) -> None:
        self.ns.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
        self.ns.ip("link", "set", "tap0", "up")
        self.ns.ip("route", "add", "default", "dev", "tap0")

        results = self.ns.run('result = [call("get_default_interface")]')

        self.assertEqual(results, [{"result": "tap0"}])

    def test_write_sysctl(self) -> None:
        results = self.ns.run(
            'result = [call("create_tap", "tap0", 0), call("write_sysctl", "net.ipv4.conf.tap0.route_localnet", "1"),'
            ' call("write_sysctl", "net/ipv4/ip_forward", "1")]'
        )

        self.assertCallsSucceed(results)
        self.assertEqual(self.ns.sysctl("net/ipv4/conf/tap0/route_localnet"), "1")
        self.assertEqual(self.ns.sysctl("net/ipv4/ip_forward"), "1")

    def test_command_path_when_native_disabled(self) -> None:
        results = self.ns.run(
            'result = [call("has_native_networking"), call("prepare_tap", "tap0", 0, "172.16.0.1", 30),'
            ' call("add_route", "172.16.0.2", 32, "tap0"), call("create_tap", "tap0", 1000),'
            ' smolvm_core.network._path()["backend"]]',
            env={"SMOLVM_DISABLE_NATIVE_NETWORKING": "1"},
        )

        self.assertEqual(results[0], {"result": False})
        self.assertCallsSucceed(results[1:3])
        self.assertEqual(results[3]["error"]["str"], "File exists")
        self.assertEqual(results[4], "command")
        self.assertEqual(self.ns.addresses("tap0"), [("172.16.0.1", 30)])
        self.assertEqual(self.ns.sysctl("net/ipv4/conf/tap0/route_localnet"), "1")
        routes = {r["dst"]: r["dev"] for r in self.ns.ip_json("route", "show")}
        self.assertEqual(routes["172.16.0.2"], "tap0")

    def test_capability_checks_as_root(self) -> None:
        results = self.ns.run(
            "result = [smolvm_core.has_native_networking(), smolvm_core.is_available(),"
            " smolvm_core.network.available(), smolvm_core.detect().networking]"
        )

        self.assertEqual(results, [True, True, True, True])


if __name__ == "__main__":
    unittest.main()
