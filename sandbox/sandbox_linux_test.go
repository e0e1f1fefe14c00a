package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/disk"
	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsstate"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
)

var ctx = context.Background()

// newTestManager returns a manager bound to a fresh namespace, and the
// namespace. The namespace already holds what the first sandbox leaves for
// all later ones: smolvm-core's empty nftables table and ip_forward=1.
func newTestManager(t *testing.T, b network.Backend) (*Manager, string) {
	t.Helper()
	netnstest.RequireCommand(t, "nft", "nftables")
	ns := netnstest.New(t)
	m, err := New(Options{Netns: ns, Backend: b, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	warm := spec("warm-up", 250, true)
	if _, err := m.Ensure(ctx, warm); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, warm.ID); err != nil {
		t.Fatal(err)
	}
	return m, ns
}

func forEachBackend(t *testing.T, fn func(t *testing.T, m *Manager, ns string)) {
	for _, b := range []network.Backend{network.BackendNative, network.BackendCommand} {
		t.Run(b.String(), func(t *testing.T) {
			m, ns := newTestManager(t, b)
			fn(t, m, ns)
		})
	}
}

// spec returns a sandbox spec whose addresses and ports derive from n.
func spec(id string, n int, nat bool) Spec {
	s := Spec{
		ID:    id,
		Owner: 4242,
		Host:  netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(n), 1}), 30),
		Guest: netip.AddrFrom4([4]byte{172, 16, byte(n), 2}),
		NAT:   nat,
		Forwards: []PortForward{
			{HostPort: uint16(20000 + 2*n), GuestPort: 80},
			{HostPort: uint16(20001 + 2*n), GuestPort: 22, Local: true},
		},
		Egress: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
	}
	return s
}

func assertSnapshot(t *testing.T, what string, want, got nsstate.Snapshot) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

func TestEnsureTwiceThenRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		before := nsstate.Take(t, ns)
		s := spec("sb-1", 1, true)
		st, err := m.Ensure(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if st.TAP == nil || st.TAP.SandboxID != "sb-1" || st.TAP.Name != TAPName("sb-1") || !st.TAP.Up {
			t.Fatalf("TAP state %+v, want an up TAP %s marked for sb-1", st.TAP, TAPName("sb-1"))
		}
		if st.Firewall == nil || !st.Firewall.Isolated || len(st.Firewall.NAT) != 1 || !st.Firewall.EgressLimited || len(st.Forwards) != 2 {
			t.Fatalf("firewall state %+v with forwards %+v, want isolation, NAT, egress and 2 forwards", st.Firewall, st.Forwards)
		}
		up := nsstate.Take(t, ns)

		if _, err := m.Ensure(ctx, s); err != nil {
			t.Fatal(err)
		}
		assertSnapshot(t, "a repeated Ensure changed the namespace", up, nsstate.Take(t, ns))

		if err := m.Remove(ctx, "sb-1"); err != nil {
			t.Fatal(err)
		}
		assertSnapshot(t, "Remove left the namespace changed", before, nsstate.Take(t, ns))
		if err := m.Remove(ctx, "sb-1"); err != nil {
			t.Fatalf("repeating Remove = %v, want success", err)
		}
	})
}

func TestEnsureConvergesChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		s := spec("sb-1", 1, true)
		first, err := m.Ensure(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		s.NAT = false
		s.Forwards = append(s.Forwards[1:], PortForward{HostPort: 30000, GuestPort: 443})
		s.Egress = nil
		st, err := m.Ensure(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if st.TAP.Index != first.TAP.Index {
			t.Fatalf("the TAP was recreated: index %d, was %d", st.TAP.Index, first.TAP.Index)
		}
		var ports []uint16
		for _, f := range st.Forwards {
			ports = append(ports, f.HostPort)
		}
		if diff := cmp.Diff([]uint16{20003, 30000}, ports); diff != "" {
			t.Errorf("forwards (-want +got):\n%s", diff)
		}
		if len(st.Firewall.NAT) != 0 || st.Firewall.EgressLimited || !st.Firewall.Isolated {
			t.Errorf("firewall %+v, want isolation only", st.Firewall)
		}
	})
}

func TestEnsureRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		if _, err := m.Ensure(ctx, spec("sb-1", 1, true)); err != nil {
			t.Fatal(err)
		}
		before := nsstate.Take(t, ns)

		clash := spec("sb-2", 2, true)
		clash.Forwards = []PortForward{{HostPort: 30000, GuestPort: 80}, {HostPort: 20002, GuestPort: 80}}
		_, err := m.Ensure(ctx, clash)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("Ensure with a taken host port = %v, want fs.ErrExist", err)
		}
		assertSnapshot(t, "a failed Ensure left changes behind", before, nsstate.Take(t, ns))
	})
}

func TestEnsureRejectsBadSpec(t *testing.T) {
	m, ns := newTestManager(t, network.BackendNative)
	before := nsstate.Take(t, ns)
	bad := []func(s *Spec){
		func(s *Spec) { s.ID = "a b" },
		func(s *Spec) { s.TAP = "way-too-long-tap-name" },
		func(s *Spec) { s.Guest = netip.MustParseAddr("10.9.9.9") },
		func(s *Spec) { s.Guest = s.Host.Addr() },
		func(s *Spec) { s.Host = netip.MustParsePrefix("172.16.1.0/30") },
		func(s *Spec) { s.Forwards = append(s.Forwards, s.Forwards[0]) },
		func(s *Spec) { s.Forwards[0].GuestPort = 0 },
		func(s *Spec) { s.Egress = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")} },
		func(s *Spec) { s.Owner = -7 },
	}
	for i, change := range bad {
		s := spec("sb-1", 1, true)
		change(&s)
		if _, err := m.Ensure(ctx, s); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("bad spec %d: Ensure = %v, want fs.ErrInvalid", i, err)
		}
	}
	assertSnapshot(t, "a rejected spec changed the namespace", before, nsstate.Take(t, ns))
}

func TestListSandboxes(t *testing.T) {
	m, _ := newTestManager(t, network.BackendNative)
	for i, id := range []string{"b", "a"} {
		if _, err := m.Ensure(ctx, spec(id, i+1, false)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "a" || list[1].ID != "b" || list[0].TAP == nil || len(list[1].Forwards) != 2 {
		t.Fatalf("List = %+v, want a and b with their TAPs and forwards", list)
	}
}

// hold attaches to the TAP name in ns as a VMM would, until t ends.
func hold(t *testing.T, ns, name string) {
	t.Helper()
	var f *os.File
	err := nsutil.Do(ns, func() error {
		var err error
		if f, err = os.OpenFile("/dev/net/tun", os.O_RDWR, 0); err != nil {
			return err
		}
		var req [unix.IFNAMSIZ + 24]byte
		copy(req[:], name)
		*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TAP | unix.IFF_NO_PI
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0])))
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		t.Fatalf("attach to %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
}

func TestGCAfterCrash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		before := nsstate.Take(t, ns)
		for i, id := range []string{"held", "left", "gone"} {
			if _, err := m.Ensure(ctx, spec(id, i+1, true)); err != nil {
				t.Fatal(err)
			}
		}
		hold(t, ns, TAPName("held"))
		// The TAP of "gone" was deleted behind the library's back, leaving
		// its firewall entries.
		if err := m.Network().DeleteTAP(ctx, TAPName("gone")); err != nil {
			t.Fatal(err)
		}
		dry, err := m.GC(ctx, GCOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(dry.TAPs.Found) != 1 || len(dry.Firewall) != 2 {
			t.Fatalf("dry run = %+v, want 1 TAP and 2 firewall TAPs", dry)
		}
		r, err := m.GC(ctx, GCOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{TAPName("left")}, r.TAPs.Removed); diff != "" {
			t.Errorf("GC removed TAPs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{TAPName("held")}, r.TAPs.Held); diff != "" {
			t.Errorf("GC kept TAPs (-want +got):\n%s", diff)
		}
		if len(r.Firewall) != 2 {
			t.Errorf("GC removed firewall entries of %v, want those of left and gone", r.Firewall)
		}
		list, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != "held" || list[0].Firewall == nil {
			t.Fatalf("after GC, List = %+v, want only the held sandbox with its entries", list)
		}
		// Once the held sandbox is removed too, nothing is left.
		if err := m.Remove(ctx, "held"); err != nil {
			t.Fatal(err)
		}
		assertSnapshot(t, "GC and Remove left the namespace changed", before, nsstate.Take(t, ns))
	})
}

func TestTAPName(t *testing.T) {
	seen := map[string]string{}
	for i := range 1000 {
		id := fmt.Sprintf("sandbox-%d", i)
		name := TAPName(id)
		if len(name) != 15 || network.ValidateInterfaceName(name) != nil {
			t.Fatalf("TAPName(%q) = %q, not a valid 15-byte name", id, name)
		}
		if other, ok := seen[name]; ok {
			t.Fatalf("TAPName(%q) = TAPName(%q) = %q", id, other, name)
		}
		seen[name] = id
	}
	if seen[TAPName("sandbox-7")] != "sandbox-7" {
		t.Fatal("TAPName gives sandbox-7 another name the second time")
	}
}

func TestGCRemovesStaleTempFiles(t *testing.T) {
	m, _ := newTestManager(t, network.BackendNative)
	dir := t.TempDir()
	old := filepath.Join(dir, disk.TempPrefix+"root.img-1")
	fresh := filepath.Join(dir, disk.TempPrefix+"root.img-2")
	other := filepath.Join(dir, "root.img")
	for _, p := range []string{old, fresh, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{old, other} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}

	dry, err := m.GC(ctx, GCOptions{DryRun: true, TempDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old}, dry.TempFiles); diff != "" {
		t.Fatalf("dry run found (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("the dry run removed %s: %v", old, err)
	}
	r, err := m.GC(ctx, GCOptions{TempDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old}, r.TempFiles); diff != "" {
		t.Fatalf("GC removed (-want +got):\n%s", diff)
	}
	for p, want := range map[string]bool{old: false, fresh: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v after GC, want %v", p, err == nil, want)
		}
	}
}

// TestEnsureWhileVMMRuns changes the spec of a sandbox whose TAP a VMM
// holds: the TAP stays and only the firewall changes.
func TestEnsureWhileVMMRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		s := spec("live", 1, true)
		first, err := m.Ensure(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		hold(t, ns, first.TAP.Name)
		if _, err := m.Ensure(ctx, s); err != nil {
			t.Fatalf("repeating Ensure while the VMM holds the TAP = %v", err)
		}
		s.Forwards = append(s.Forwards, PortForward{HostPort: 31000, GuestPort: 8080})
		st, err := m.Ensure(ctx, s)
		if err != nil {
			t.Fatalf("Ensure with a new forward while the VMM holds the TAP = %v", err)
		}
		if st.TAP.Index != first.TAP.Index || !st.TAP.Carrier || len(st.Forwards) != 3 {
			t.Fatalf("state %+v with %d forwards, want the same held TAP and 3 forwards", st.TAP, len(st.Forwards))
		}
		other := spec("other", 1, true)
		other.TAP = first.TAP.Name
		if _, err := m.Ensure(ctx, other); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("Ensure of another sandbox on the same TAP = %v, want fs.ErrExist", err)
		}
	})
}

func TestGCKeepsListedSandboxes(t *testing.T) {
	m, _ := newTestManager(t, network.BackendNative)
	for i, id := range []string{"starting", "orphan"} {
		if _, err := m.Ensure(ctx, spec(id, i+1, true)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := m.GC(ctx, GCOptions{Keep: []string{"starting"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{TAPName("orphan")}, r.TAPs.Removed); diff != "" {
		t.Fatalf("GC removed (-want +got):\n%s", diff)
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "starting" || list[0].TAP == nil {
		t.Fatalf("after GC with --keep starting, List = %+v, %v", list, err)
	}
}
