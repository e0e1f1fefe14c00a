package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
)

// uplink is the device that carries the default route in the lookup
// section's namespace.
const uplink = "uplink0"

func lookupSection(r *runner, s *Section) (err error) {
	n := r.scale.lookupSamples
	s.Intro = []string{
		"Finding the interface of the default route, as a runtime does once to set up NAT. " +
			"The namespace gets a veth device `" + uplink + "` (its peer in the same namespace) with 10.99.0.1/24 and a default route through 10.99.0.254, " +
			"so the lookup never reads the host's routing table; the kernel only looks the route up and sends nothing. " +
			fmt.Sprintf("Each path ran %s, interleaved: ", plural(n, "sample")) +
			"`DefaultInterface` on a native manager (`Options.Netns`) and on the command path, " +
			"`ip -n NS -j route get 8.8.8.8` as a subprocess with its JSON decoded, " +
			"and vishvananda/netlink's package functions `RouteGet` and `LinkByIndex` on a thread inside the namespace.",
	}
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()
	if err := nsutil.Do(ns, addUplink); err != nil {
		return fmt.Errorf("add %s: %w", uplink, err)
	}

	native, err := openManager(ns, network.BackendNative)
	if err != nil {
		return err
	}
	defer native.Close()
	command, err := openManager(ns, network.BackendCommand)
	if err != nil {
		return err
	}
	defer command.Close()
	thread, err := startNSThread(ns)
	if err != nil {
		return err
	}
	defer thread.stop()

	withManager := func(m *network.Manager) func(context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			var name string
			d, err := timed(func() error {
				var err error
				name, err = m.DefaultInterface(ctx, network.IPv4)
				return err
			})
			return d, checkUplink(name, err)
		}
	}
	cs := []contender{
		{name: "smolvm-core native", run: withManager(native)},
		{name: "smolvm-core command path", run: withManager(command)},
		{name: "`ip -j route get` subprocess", run: func(ctx context.Context) (time.Duration, error) {
			var name string
			d, err := timed(func() error {
				var err error
				name, err = ipRouteGet(ctx, ns)
				return err
			})
			return d, checkUplink(name, err)
		}},
		{name: "vishvananda/netlink package functions", run: func(context.Context) (time.Duration, error) {
			var name string
			d, err := thread.timed(func() error {
				var err error
				name, err = packageDefaultInterface()
				return err
			})
			return d, checkUplink(name, err)
		}},
	}
	r.logf("default-interface: %s per path", plural(n, "sample"))
	if _, err := r.interleave(1, cs); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	samples, err := r.interleave(n, cs)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, comparisonTable(cs, samples, 0))
	return nil
}

// comparisonTable lists each contender's summary and its median divided
// by that of cs[ours].
func comparisonTable(cs []contender, samples [][]time.Duration, ours int) Table {
	t := Table{Header: []string{"path", "samples", "median", "p90", "median ÷ ours"}}
	base := summarize(samples[ours]).Median
	for i, c := range cs {
		sum := summarize(samples[i])
		cell := ""
		if i != ours {
			cell = formatRatio(ratio(sum.Median, base))
		}
		t.Rows = append(t.Rows, []string{c.name, formatCount(sum.N), formatDuration(sum.Median), formatDuration(sum.P90), cell})
	}
	return t
}

// addUplink creates the uplink device and the default route through it in
// the namespace of the calling thread.
func addUplink() error {
	h, err := netlink.NewHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	// A veth pair with both ends in the namespace, because not every kernel
	// has the dummy driver.
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: uplink}, PeerName: uplink + "peer"}
	if err := h.LinkAdd(link); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: prefixIPNet(netip.MustParsePrefix("10.99.0.1/24"))}
	if err := h.AddrAdd(link, addr); err != nil {
		return err
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	return h.RouteAdd(&netlink.Route{LinkIndex: link.Index, Gw: net.IPv4(10, 99, 0, 254)})
}

func checkUplink(name string, err error) error {
	if err == nil && name != uplink {
		err = fmt.Errorf("default interface is %q, want %s", name, uplink)
	}
	return err
}

// ipRouteGet runs `ip -n NS -j route get 8.8.8.8` and returns the device.
func ipRouteGet(ctx context.Context, ns string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-j", "route", "get", "8.8.8.8").Output()
	if err != nil {
		return "", fmt.Errorf("ip route get: %w", err)
	}
	var routes []struct {
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal(out, &routes); err != nil || len(routes) == 0 {
		return "", fmt.Errorf("ip route get printed %q", out)
	}
	return routes[0].Dev, nil
}

// packageDefaultInterface looks the route to 8.8.8.8 up with
// vishvananda/netlink's package functions, a socket per call.
func packageDefaultInterface() (string, error) {
	routes, err := netlink.RouteGet(net.IPv4(8, 8, 8, 8))
	if err != nil {
		return "", err
	}
	if len(routes) == 0 {
		return "", errors.New("no route to 8.8.8.8")
	}
	link, err := netlink.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return "", err
	}
	return link.Attrs().Name, nil
}
