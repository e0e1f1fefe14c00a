package firewall

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The benchmarks time adding and removing one port forward while n other
// forwards are installed. They run on the netlink path and through the nft
// command (`ip netns exec NS nft -f -`, as the command path runs it), each
// in a fresh namespace. Each reports the mean time of one add or remove on
// each path and their ratio. Read those custom metrics, because ns/op adds
// up all four calls of a round. Run them with:
//
//	go test -run '^$' -bench Forward -benchtime 200x ./firewall
//
// (as root). The 10,000 case takes about a minute on a 2-core machine.

var installedCounts = []int{10, 1000, 10000}

// prefill installs n forwards on host ports 10000 up in one nft script,
// so both paths start from the same table.
func prefill(b *testing.B, m *Manager, ns string, n int) {
	b.Helper()
	// Create the table through the manager, then bulk-load elements.
	if err := m.AddForward(ctx, Forward{HostPort: 9999, Guest: netip.MustParseAddrPort("172.16.0.2:9999")}); err != nil {
		b.Fatal(err)
	}
	var script strings.Builder
	for start := 0; start < n; start += 1000 {
		script.WriteString("add element inet smolvm forwards { ")
		for i := start; i < min(start+1000, n); i++ {
			if i > start {
				script.WriteString(", ")
			}
			fmt.Fprintf(&script, "%d : 172.16.%d.%d . 80", 10000+i, 1+i/250, 1+i%250)
		}
		script.WriteString(" }\n")
	}
	if n > 0 {
		nftCmd(b, ns, script.String(), "-f", "-")
	}
}

func BenchmarkForward(b *testing.B) {
	for _, n := range installedCounts {
		b.Run(fmt.Sprintf("installed=%d", n), func(b *testing.B) {
			native, nsNative := newTestManager(b, BackendNative)
			command, nsCommand := newTestManager(b, BackendCommand)
			prefill(b, native, nsNative, n)
			prefill(b, command, nsCommand, n)
			f := Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0"}

			var addNative, removeNative, addCommand, removeCommand time.Duration
			timed := func(d *time.Duration, fn func() error) {
				start := time.Now()
				if err := fn(); err != nil {
					b.Fatal(err)
				}
				*d += time.Since(start)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				timed(&addNative, func() error { return native.AddForward(ctx, f) })
				timed(&removeNative, func() error { return native.RemoveForward(ctx, f.HostPort) })
				timed(&addCommand, func() error { return command.AddForward(ctx, f) })
				timed(&removeCommand, func() error { return command.RemoveForward(ctx, f.HostPort) })
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(per(addNative), "native-add-µs")
			b.ReportMetric(per(removeNative), "native-remove-µs")
			b.ReportMetric(per(addCommand), "nft-add-µs")
			b.ReportMetric(per(removeCommand), "nft-remove-µs")
			b.ReportMetric(float64(addCommand)/float64(addNative), "nft/native-add")
			b.ReportMetric(float64(removeCommand)/float64(removeNative), "nft/native-remove")
		})
	}
}
