package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// The parity tests run one operation from one starting state on each path,
// each in a fresh namespace, and require the same kernel state afterwards
// and errors for which the same errors.Is checks hold.

// parityState is a starting state, made with ip before the operation.
type parityState struct {
	name  string
	dev   string
	setup [][]string
}

func parityStates() []parityState {
	tap := func(dev string, uid int) []string {
		return []string{"tuntap", "add", "dev", dev, "mode", "tap", "user", fmt.Sprint(uid)}
	}
	return []parityState{
		{name: "fresh", dev: "tap0"},
		{name: "tap present", dev: "tap0", setup: [][]string{tap("tap0", testUID)}},
		{name: "tap of another owner", dev: "tap0", setup: [][]string{tap("tap0", testUID+1)}},
		{name: "address present", dev: "tap0", setup: [][]string{
			tap("tap0", testUID),
			{"addr", "add", "10.0.0.1/24", "dev", "tap0"},
			{"addr", "add", "10.9.0.1/16", "dev", "tap0"},
		}},
		{name: "route present", dev: "tap0", setup: [][]string{
			tap("tap0", testUID),
			{"link", "set", "dev", "tap0", "up"},
			{"route", "add", "10.1.0.0/24", "dev", "tap0", "proto", "boot", "scope", "link"},
		}},
		{name: "route through another device", dev: "tap0", setup: [][]string{
			tap("tap0", testUID),
			tap("tap1", testUID),
			{"link", "set", "dev", "tap0", "up"},
			{"link", "set", "dev", "tap1", "up"},
			{"route", "add", "10.1.0.0/24", "dev", "tap1", "proto", "boot", "scope", "link"},
		}},
		{name: "dotted name", dev: "tap.0"},
		{name: "dotted name present", dev: "tap.0", setup: [][]string{tap("tap.0", testUID)}},
		{name: "15-byte name", dev: "tap012345678901"},
		{name: "not a tap", dev: "tap0", setup: [][]string{
			{"link", "add", "tap0", "type", "veth", "peer", "name", "peer0"},
		}},
	}
}

// parityOp is one operation on the state's device.
type parityOp struct {
	name string
	run  func(ctx context.Context, m *Manager, dev string) error
}

func parityOps() []parityOp {
	host := netip.MustParsePrefix("10.0.0.1/24")
	route := netip.MustParsePrefix("10.1.0.0/24")
	return []parityOp{
		{"create", func(ctx context.Context, m *Manager, dev string) error { return m.CreateTAP(ctx, dev, testUID) }},
		{"delete", func(ctx context.Context, m *Manager, dev string) error { return m.DeleteTAP(ctx, dev) }},
		{"ensure deleted", func(ctx context.Context, m *Manager, dev string) error { return m.EnsureTAPDeleted(ctx, dev) }},
		{"flush", func(ctx context.Context, m *Manager, dev string) error { return m.FlushAddrs(ctx, dev) }},
		{"add address", func(ctx context.Context, m *Manager, dev string) error { return m.AddAddr(ctx, dev, host) }},
		{"link up", func(ctx context.Context, m *Manager, dev string) error { return m.SetLinkUp(ctx, dev) }},
		{"configure", func(ctx context.Context, m *Manager, dev string) error { return m.ConfigureTAP(ctx, dev, host) }},
		{"prepare", func(ctx context.Context, m *Manager, dev string) error {
			return m.PrepareTAP(ctx, dev, testUID, host)
		}},
		{"prepare and route", func(ctx context.Context, m *Manager, dev string) error {
			if err := m.PrepareTAP(ctx, dev, testUID, host); err != nil {
				return err
			}
			return m.AddRoute(ctx, route, dev)
		}},
		{"add route", func(ctx context.Context, m *Manager, dev string) error { return m.AddRoute(ctx, route, dev) }},
		{"sysctl", func(ctx context.Context, m *Manager, dev string) error {
			return m.WriteSysctl(ctx, "net.ipv4.conf."+dev+".route_localnet", "1")
		}},
		{"bad address", func(ctx context.Context, m *Manager, dev string) error {
			return m.AddAddr(ctx, dev, netip.MustParsePrefix("10.0.0.0/24"))
		}},
		{"bad sysctl key", func(ctx context.Context, m *Manager, dev string) error {
			return m.WriteSysctl(ctx, "net/ipv4/conf/"+dev+"/../../../kernel/hostname", "x")
		}},
		{"default interface", func(ctx context.Context, m *Manager, _ string) error {
			_, err := m.DefaultInterface(ctx, IPv4)
			return err
		}},
	}
}

// parityResult is what one run leaves behind.
type parityResult struct {
	Err     string
	Classes []string
	Links   any
	Addrs   any
	Routes  any
	Sysctl  string
}

func TestBackendParity(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "sysctl", "procps")
	for _, st := range parityStates() {
		for _, op := range parityOps() {
			t.Run(st.name+"/"+op.name, func(t *testing.T) {
				native := runParity(t, BackendNative, st, op)
				command := runParity(t, BackendCommand, st, op)
				if diff := cmp.Diff(native, command); diff != "" {
					t.Fatalf("native and command paths differ (-native +command):\n%s", diff)
				}
			})
		}
	}
}

func runParity(t *testing.T, b Backend, st parityState, op parityOp) parityResult {
	t.Helper()
	ns := netnstest.New(t)
	for _, args := range st.setup {
		ipCmd(t, ns, args...)
	}
	m, err := New(Options{Netns: ns, Backend: b, BusyTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Path().Backend; got != b {
		t.Fatalf("manager took the %s path, want %s", got, b)
	}

	var r parityResult
	if err := op.run(context.Background(), m, st.dev); err != nil {
		r.Err = err.Error()
		r.Classes = errorClasses(err)
	}
	r.Links = normalise(ipJSON(t, ns, "-details", "link", "show"))
	r.Addrs = normalise(ipJSON(t, ns, "addr", "show"))
	r.Routes = normalise(append(ipJSON(t, ns, "route", "show", "table", "all"),
		ipJSON(t, ns, "-6", "route", "show", "table", "all")...))
	r.Sysctl = sysctlOrAbsent(ns, "net/ipv4/conf/"+st.dev+"/route_localnet")
	return r
}

// errorClasses lists the errors.Is checks that hold for err.
func errorClasses(err error) []string {
	targets := []struct {
		name   string
		target error
	}{
		{"exist", fs.ErrExist},
		{"not exist", fs.ErrNotExist},
		{"invalid", fs.ErrInvalid},
		{"permission", fs.ErrPermission},
		{"busy", syscall.EBUSY},
		{"no device", ErrNoDevice},
		{"not tap", ErrNotTAP},
		{"no default route", ErrNoDefaultRoute},
		{"network down", syscall.ENETDOWN},
		{"unreachable", syscall.ENETUNREACH},
	}
	var out []string
	for _, c := range targets {
		if errors.Is(err, c.target) {
			out = append(out, c.name)
		}
	}
	var opErr *OpError
	if errors.As(err, &opErr) {
		out = append(out, "op "+opErr.Op)
	}
	return out
}

// normalise drops what differs between two namespaces however the state
// was made: interface indexes, MAC addresses and the IPv6 link-local
// addresses and routes derived from them.
func normalise(entries []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if isLinkLocal(e) {
			continue
		}
		for _, k := range []string{"ifindex", "address", "link_index", "link"} {
			delete(e, k)
		}
		if infos, ok := e["addr_info"].([]any); ok {
			var kept []any
			for _, a := range infos {
				if m, ok := a.(map[string]any); !ok || !isLinkLocal(m) {
					kept = append(kept, a)
				}
			}
			e["addr_info"] = kept
		}
		out = append(out, e)
	}
	return out
}

func isLinkLocal(e map[string]any) bool {
	for _, k := range []string{"dst", "local"} {
		if s, ok := e[k].(string); ok && strings.HasPrefix(s, "fe80:") && s != "fe80::/64" {
			return true
		}
	}
	return false
}

// sysctlOrAbsent reads /proc/sys/path inside ns, or returns "absent".
func sysctlOrAbsent(ns, path string) string {
	var v []byte
	err := nsutil.Do(ns, func() error {
		var err error
		v, err = os.ReadFile("/proc/sys/" + path)
		return err
	})
	if err != nil {
		return "absent"
	}
	return strings.TrimSpace(string(v))
}
