package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"

	"github.com/smolvm/smolvm-core/network"
)

// The measured sandbox: its TAP, owned by a uid that has no user (as a
// VMM's often has none), the host address on it and the route to the
// guest. Everything lives in namespaces the run creates.
const (
	benchTAP   = "bench0"
	benchOwner = 424242
)

var (
	benchHost  = netip.MustParsePrefix("172.16.0.1/30")
	benchGuest = netip.MustParsePrefix("172.16.0.2/32")
)

// fillerName is the TAP of the i-th sandbox that is already present.
func fillerName(i int) string { return "fill" + strconv.Itoa(i) }

// fillerAddrs returns the host address and guest route of the i-th
// sandbox: a /30 of its own in 10.0.0.0/16, which holds 16,384 of them.
func fillerAddrs(i int) (host, guest netip.Prefix) {
	base := netip.AddrFrom4([4]byte{10, byte(i >> 6), byte(i & 63 << 2), 0})
	return netip.PrefixFrom(base.Next(), 30), netip.PrefixFrom(base.Next().Next(), 32)
}

// prepareSandboxes prepares n sandboxes' TAPs, each marked for its own
// sandbox id, with its address and guest route, and returns their names.
func prepareSandboxes(ctx context.Context, m *network.Manager, n int) ([]string, error) {
	if n > 1<<14 {
		return nil, fmt.Errorf("%d sandboxes do not fit in 10.0.0.0/16", n)
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fillerName(i)
		host, guest := fillerAddrs(i)
		if err := m.PrepareTAP(ctx, names[i], benchOwner, host, network.WithSandbox("sandbox-"+strconv.Itoa(i))); err != nil {
			return nil, err
		}
		if err := m.AddRoute(ctx, guest, names[i]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// openManager opens a manager on the given path for the namespace ns.
func openManager(ns string, b network.Backend) (*network.Manager, error) {
	return network.New(network.Options{Netns: ns, Backend: b})
}

// shellStart lists the subprocesses that a shell script runs for a
// sandbox's network start in the namespace ns.
func shellStart(ns string) [][]string {
	return [][]string{
		{"ip", "-n", ns, "tuntap", "add", "dev", benchTAP, "mode", "tap", "user", strconv.Itoa(benchOwner)},
		{"ip", "-n", ns, "addr", "flush", "dev", benchTAP},
		{"ip", "-n", ns, "addr", "add", benchHost.String(), "dev", benchTAP},
		{"ip", "-n", ns, "link", "set", "dev", benchTAP, "up"},
		{"ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.conf." + benchTAP + ".route_localnet=1"},
		{"ip", "-n", ns, "route", "add", benchGuest.String(), "dev", benchTAP},
	}
}

// runCommands runs each command line in turn and stops at the first
// failure.
func runCommands(ctx context.Context, cmds [][]string) error {
	for _, c := range cmds {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", c, err, out)
		}
	}
	return nil
}
