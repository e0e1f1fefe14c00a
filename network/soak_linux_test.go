package network

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
)

// soakCycles is how many start/stop cycles TestSoakConcurrentSandboxes
// runs; SMOLVM_SOAK_CYCLES overrides it.
const soakCycles = 300

// soakSandboxes is how many sandboxes each cycle starts concurrently.
const soakSandboxes = 64

// TestSoakConcurrentSandboxes starts 64 sandboxes' networks concurrently
// from goroutines (a marked TAP with an address, link up, route_localnet,
// and a guest route), stops them all, and repeats. Most stops are a batch
// delete; every tenth is garbage collection and every fiftieth one delete
// per sandbox. Afterwards
// the namespace must be as it was, with no descriptor or goroutine left.
func TestSoakConcurrentSandboxes(t *testing.T) {
	cycles := soakCycles
	if v := os.Getenv("SMOLVM_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SMOLVM_SOAK_CYCLES=%q: %v", v, err)
		}
		cycles = n
	}
	m, ns := newTestManager(t, Options{Backend: BackendNative})
	ctx := context.Background()
	before := namespaceState(t, ns)
	res := countResources(t)

	names := make([]string, soakSandboxes)
	for i := range names {
		names[i] = fmt.Sprintf("sbx%d", i)
	}
	for cycle := range cycles {
		startAll(t, m, names)
		switch cycle % 50 {
		case 0:
			// One delete per sandbox waits for readers each time, about a
			// second for 64, so only every fiftieth cycle runs it.
			var wg sync.WaitGroup
			for _, name := range names {
				wg.Go(func() {
					if err := m.DeleteTAP(ctx, name); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		case 1, 11, 21, 31, 41:
			c, err := m.CollectTAPs(ctx, CollectOptions{})
			if err != nil || len(c.Removed) != soakSandboxes {
				t.Fatalf("cycle %d: CollectTAPs removed %d of %d: %v", cycle, len(c.Removed), soakSandboxes, err)
			}
		default:
			if err := m.DeleteTAPs(ctx, names); err != nil {
				t.Fatalf("cycle %d: DeleteTAPs: %v", cycle, err)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	assertState(t, ns, before)
	checkNoLeaks(t, res)
}

// startAll prepares one sandbox network per name, concurrently.
func startAll(t *testing.T, m *Manager, names []string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			host := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 1}), 30)
			guest := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 2}), 32)
			if err := m.PrepareTAP(ctx, name, testUID, host, WithSandbox(name)); err != nil {
				t.Error(err)
				return
			}
			if err := m.AddRoute(ctx, guest, name); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}
