package network

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the namespace that TestCrashChild works in; the test
// does nothing without it.
const crashChildEnv = "SMOLVM_CRASH_CHILD_NETNS"

// TestCrashChild is the runtime that TestCrashThenCollect kills. It starts
// sandbox networks in a loop until it is killed.
func TestCrashChild(t *testing.T) {
	ns := os.Getenv(crashChildEnv)
	if ns == "" {
		return
	}
	m, err := New(Options{Netns: ns, Backend: BackendNative})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fmt.Println("ready")
	for i := 0; ; i++ {
		name := fmt.Sprintf("crash%d", i%8)
		host := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(i % 8), 1}), 30)
		guest := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(i % 8), 2}), 32)
		if err := m.PrepareTAP(ctx, name, testUID, host, WithSandbox(name)); err != nil {
			t.Fatal(err)
		}
		if err := m.AddRoute(ctx, guest, name); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := m.DeleteTAP(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCrashThenCollect kills a process that is starting sandbox networks
// with SIGKILL at random points (inside TAP creation, between address and
// route, during a delete), then runs CollectTAPs, which must bring the
// namespace back to exactly its state before the process started.
func TestCrashThenCollect(t *testing.T) {
	m, ns := newTestManager(t, Options{Backend: BackendNative})
	before := namespaceState(t, ns)
	collected := 0
	for round := range 12 {
		killChildAfter(t, ns, time.Duration(rand.IntN(40_000))*time.Microsecond)
		c, err := m.CollectTAPs(context.Background(), CollectOptions{})
		if err != nil {
			t.Fatalf("round %d: CollectTAPs: %v", round, err)
		}
		collected += len(c.Removed)
		assertState(t, ns, before)
	}
	t.Logf("collected %d TAPs over 12 kills", collected)
}

// killChildAfter starts TestCrashChild in ns and kills it delay after it
// reports that it is ready.
func killChildAfter(t *testing.T, ns string, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+ns)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("crash child printed %q before ready: %v", line, err)
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("crash child exited on its own; it should loop until killed")
	}
}
