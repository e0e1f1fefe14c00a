package network

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// resources counts what a test could leak in this process: open file
// descriptors and goroutines.
type resources struct {
	fds, goroutines int
}

func countResources(t testing.TB) resources {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return resources{fds: len(entries), goroutines: runtime.NumGoroutine()}
}

// checkNoLeaks fails t when more descriptors or goroutines are open than
// at before. Goroutines that are ending are given a moment to finish.
func checkNoLeaks(t testing.TB, before resources) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		now := countResources(t)
		if now.fds <= before.fds && now.goroutines <= before.goroutines {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaked resources: %d fds and %d goroutines before, %d and %d after",
				before.fds, before.goroutines, now.fds, now.goroutines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// namespaceState lists the links, addresses and routes of ns in the form
// the parity test compares.
func namespaceState(t *testing.T, ns string) []any {
	t.Helper()
	return []any{
		normalise(ipJSON(t, ns, "-details", "link", "show")),
		normalise(ipJSON(t, ns, "addr", "show")),
		normalise(append(ipJSON(t, ns, "route", "show", "table", "all"),
			ipJSON(t, ns, "-6", "route", "show", "table", "all")...)),
	}
}
