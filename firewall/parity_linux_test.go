package firewall

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// paritySteps are the same operations run on both paths.
var paritySteps = []struct {
	name string
	run  func(m *Manager) error
}{
	{"nat tap0", func(m *Manager) error {
		return m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2"), ID: "sbx-0"})
	}},
	{"nat tap1", func(m *Manager) error {
		return m.SetupNAT(ctx, NAT{TAP: "tap1", Guest: netip.MustParseAddr("172.16.0.6")})
	}},
	{"forward 8080", func(m *Manager) error {
		return m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0", ID: "sbx-0"})
	}},
	{"forward 2222 local", func(m *Manager) error {
		return m.AddForward(ctx, Forward{HostPort: 2222, Guest: netip.MustParseAddrPort("172.16.0.6:22"), Local: true})
	}},
	{"forward 9000", func(m *Manager) error {
		return m.AddForward(ctx, Forward{HostPort: 9000, Guest: netip.MustParseAddrPort("172.16.0.6:9000"), TAP: "tap1"})
	}},
	{"egress tap0", func(m *Manager) error {
		return m.SetEgress(ctx, "tap0", []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
			netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("3fff::1/128"),
		})
	}},
	{"egress tap1 replaced", func(m *Manager) error {
		if err := m.SetEgress(ctx, "tap1", []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}); err != nil {
			return err
		}
		return m.SetEgress(ctx, "tap1", []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("::/0")})
	}},
	{"remove forward 9000", func(m *Manager) error { return m.RemoveForward(ctx, 9000) }},
	{"isolate tap2", func(m *Manager) error { return m.Isolate(ctx, "tap2", "sbx-2") }},
}

func TestParityNativeCommand(t *testing.T) {
	native, nsNative := newTestManager(t, BackendNative)
	command, nsCommand := newTestManager(t, BackendCommand)
	for _, step := range paritySteps {
		if err := step.run(native); err != nil {
			t.Fatalf("%s on the native path: %v", step.name, err)
		}
		if err := step.run(command); err != nil {
			t.Fatalf("%s on the command path: %v", step.name, err)
		}
		want := listJSON(t, nsCommand, "list", "table", "inet", TableName)
		got := listJSON(t, nsNative, "list", "table", "inet", TableName)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("after %s, nft -j list table differs (-command +native):\n%s", step.name, diff)
		}
	}

	stNative, err := native.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stCommand, err := command.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stCommand, stNative, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("List differs (-command +native):\n%s", diff)
	}
}
