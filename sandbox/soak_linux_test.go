package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/nsstate"
	"github.com/smolvm/smolvm-core/network"
)

// soakCycles is how many up/down cycles TestSoakSandboxes runs;
// SMOLVM_SOAK_CYCLES overrides it.
const soakCycles = 20

// TestSoakSandboxes brings 64 sandboxes up concurrently from goroutines
// (TAP, route, isolation, NAT, two forwards, an egress allowlist) and down
// again, cycle after cycle. The down alternates between Remove for each
// and one GC after the manager "crashed". Afterwards the namespace must be as
// before, with no TAP, address, route or firewall element left, and no file
// descriptor or goroutine beyond those at the start.
func TestSoakSandboxes(t *testing.T) {
	cycles := soakCycles
	if v := os.Getenv("SMOLVM_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SMOLVM_SOAK_CYCLES=%q: %v", v, err)
		}
		cycles = n
	}
	m, ns := newTestManager(t, network.BackendNative)
	before := nsstate.Take(t, ns)
	fds, goroutines := openFDs(t), runtime.NumGoroutine()

	for cycle := range cycles {
		each(t, 64, func(i int) error {
			_, err := m.Ensure(ctx, spec(fmt.Sprintf("soak-%d", i), i+1, true))
			return err
		})
		if cycle%2 == 0 {
			each(t, 64, func(i int) error { return m.Remove(ctx, fmt.Sprintf("soak-%d", i)) })
			continue
		}
		r, err := m.GC(ctx, GCOptions{})
		if err != nil || len(r.TAPs.Removed) != 64 || len(r.Firewall) != 64 {
			t.Fatalf("cycle %d: GC removed %d TAPs and the entries of %d: %v", cycle, len(r.TAPs.Removed), len(r.Firewall), err)
		}
	}
	assertSnapshot(t, "the soak left the namespace changed", before, nsstate.Take(t, ns))
	waitFor(t, func() bool { return openFDs(t) <= fds && runtime.NumGoroutine() <= goroutines },
		func() string {
			return fmt.Sprintf("%d fds and %d goroutines at the start, %d and %d now", fds, goroutines, openFDs(t), runtime.NumGoroutine())
		})
}

// each runs fn(0) to fn(n-1) concurrently and fails t on any error.
func each(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("sandbox %d: %v", i, err)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// waitFor fails t unless ok becomes true within two seconds.
func waitFor(t *testing.T, ok func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(explain())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
