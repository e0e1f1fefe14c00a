package sandbox

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsstate"
	"github.com/smolvm/smolvm-core/network"
)

// crashChildEnv names the namespace that TestSandboxCrashChild works in;
// the test does nothing without it.
const crashChildEnv = "SMOLVM_SANDBOX_CRASH_NETNS"

// TestSandboxCrashChild is the runtime that TestCrashThenGC kills: it
// brings sandboxes up and down in a loop until it is killed.
func TestSandboxCrashChild(t *testing.T) {
	ns := os.Getenv(crashChildEnv)
	if ns == "" {
		return
	}
	m, err := New(Options{Netns: ns, Backend: network.BackendNative, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for i := 0; ; i++ {
		id := fmt.Sprintf("crash-%d", i%6)
		if _, err := m.Ensure(ctx, spec(id, i%6+1, true)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := m.Remove(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCrashThenGC kills a runtime that is bringing sandboxes up and down
// with SIGKILL at random points (during TAP creation, between address and
// route, inside firewall transactions), then runs GC, which must bring the
// namespace back to exactly its state before the runtime started.
func TestCrashThenGC(t *testing.T) {
	m, ns := newTestManager(t, network.BackendNative)
	before := nsstate.Take(t, ns)
	for round := range 10 {
		netnstest.KillChildAfter(t, "TestSandboxCrashChild", []string{crashChildEnv + "=" + ns}, time.Duration(rand.IntN(60_000))*time.Microsecond)
		if _, err := m.GC(ctx, GCOptions{}); err != nil {
			t.Fatalf("round %d: GC: %v", round, err)
		}
		assertSnapshot(t, fmt.Sprintf("round %d: GC left the namespace changed", round), before, nsstate.Take(t, ns))
	}
}
