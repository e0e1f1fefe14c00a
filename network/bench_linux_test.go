package network

import (
	"context"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// The benchmarks time a sandbox's network start and stop. Start prepares a
// TAP (create, address, up, route_localnet) and adds the guest route; stop
// deletes the TAP. Each runs with the library's native path, with its
// command path, and with the bare `ip` and `sysctl` subprocesses that a
// shell script runs. Run them with:
//
//	go test -run '^$' -bench . ./network

var (
	benchHost  = netip.MustParsePrefix("172.16.0.1/30")
	benchGuest = netip.MustParsePrefix("172.16.0.2/32")
)

// startCommands and stopCommands are the subprocess form of a sandbox's
// network start and stop in the namespace ns.
func startCommands(ns string) [][]string {
	return [][]string{
		{"ip", "-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap", "user", "424242"},
		{"ip", "-n", ns, "addr", "flush", "dev", "tap0"},
		{"ip", "-n", ns, "addr", "add", "172.16.0.1/30", "dev", "tap0"},
		{"ip", "-n", ns, "link", "set", "dev", "tap0", "up"},
		{"ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.conf.tap0.route_localnet=1"},
		{"ip", "-n", ns, "route", "add", "172.16.0.2/32", "dev", "tap0"},
	}
}

func stopCommands(ns string) [][]string {
	return [][]string{{"ip", "-n", ns, "link", "del", "dev", "tap0"}}
}

func runCommands(b *testing.B, cmds [][]string) {
	b.Helper()
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %v: %s", c, err, out)
		}
	}
}

func benchManager(b *testing.B, backend Backend) *Manager {
	b.Helper()
	m, err := New(Options{Netns: netnstest.New(b), Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func startManager(b *testing.B, m *Manager) {
	b.Helper()
	ctx := context.Background()
	if err := m.PrepareTAP(ctx, "tap0", testUID, benchHost); err != nil {
		b.Fatal(err)
	}
	if err := m.AddRoute(ctx, benchGuest, "tap0"); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkStartNative(b *testing.B) { benchStart(b, BackendNative) }

// BenchmarkStartCommandPath is the library on its command path, as an
// unprivileged runtime would use it (here without sudo, as root).
func BenchmarkStartCommandPath(b *testing.B) { benchStart(b, BackendCommand) }

func benchStart(b *testing.B, backend Backend) {
	m := benchManager(b, backend)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		startManager(b, m)
		b.StopTimer()
		if err := m.DeleteTAP(context.Background(), "tap0"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkStartCommands(b *testing.B) {
	ns := netnstest.New(b)
	netnstest.RequireCommand(b, "sysctl", "procps")
	for i := 0; i < b.N; i++ {
		runCommands(b, startCommands(ns))
		b.StopTimer()
		runCommands(b, stopCommands(ns))
		b.StartTimer()
	}
}

func BenchmarkStopNative(b *testing.B) {
	m := benchManager(b, BackendNative)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		startManager(b, m)
		b.StartTimer()
		if err := m.DeleteTAP(context.Background(), "tap0"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStopCommands(b *testing.B) {
	ns := netnstest.New(b)
	netnstest.RequireCommand(b, "sysctl", "procps")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runCommands(b, startCommands(ns))
		b.StartTimer()
		runCommands(b, stopCommands(ns))
	}
}
