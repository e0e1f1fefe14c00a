package firewall

import (
	"errors"
	"io/fs"
	"net/netip"
	"testing"
)

var backends = []Backend{BackendNative, BackendCommand}

// forEachBackend runs fn once per backend, each in a fresh host namespace.
func forEachBackend(t *testing.T, fn func(t *testing.T, m *Manager, host string)) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			m, host := newTestManager(t, b)
			fn(t, m, host)
		})
	}
}

func TestForwardDeliversAndRemoves(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		topo := newTopology(t, host, 1)
		serve(t, topo.guests[0], ":80", "guest0")
		if err := m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0"}); err != nil {
			t.Fatal(err)
		}
		if err := m.AddForward(ctx, Forward{HostPort: 8081, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0", Local: true}); err != nil {
			t.Fatal(err)
		}

		// Without NAT the guest gets the client's own address as the source.
		wantReach(t, topo.internet, "10.99.0.1:8080", "guest0 10.99.0.2")
		// A local connection leaves with the TAP's address, not 127.0.0.1.
		wantReach(t, host, "127.0.0.1:8081", "guest0 172.16.0.1")
		// 8080 is not a local forward.
		wantBlocked(t, host, "127.0.0.1:8080")

		if err := m.RemoveForward(ctx, 8080); err != nil {
			t.Fatal(err)
		}
		if err := m.RemoveForward(ctx, 8081); err != nil {
			t.Fatal(err)
		}
		wantBlocked(t, topo.internet, "10.99.0.1:8080")
		wantBlocked(t, host, "127.0.0.1:8081")
		if err := m.RemoveForward(ctx, 8081); err != nil {
			t.Errorf("second remove: %v, want nil", err)
		}
	})
}

func TestNATReachesInternet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		topo := newTopology(t, host, 1)
		serve(t, topo.internet, "10.99.0.2:7000", "internet")
		// The internet has no route back to the guest until NAT.
		wantBlocked(t, topo.guests[0], "10.99.0.2:7000")

		if err := m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2"), ID: "sbx"}); err != nil {
			t.Fatal(err)
		}
		wantReach(t, topo.guests[0], "10.99.0.2:7000", "internet 10.99.0.1")

		if err := m.RemoveSandbox(ctx, "tap0"); err != nil {
			t.Fatal(err)
		}
		wantBlocked(t, topo.guests[0], "10.99.0.2:7000")
	})
}

func TestEgressAllowlist(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		topo := newTopology(t, host, 1)
		g := topo.guests[0]
		for _, a := range []string{"10.99.0.2:7000", "10.99.0.3:7000", "[fd00:99::2]:7000", "[fd00:99::3]:7000"} {
			serve(t, topo.internet, a, "internet")
		}
		if err := m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2")}); err != nil {
			t.Fatal(err)
		}
		wantReach(t, g, "10.99.0.3:7000", "internet 10.99.0.1")
		wantReach(t, g, "[fd00:99::3]:7000", "internet fd00:16::2")

		allow := []netip.Prefix{netip.MustParsePrefix("10.99.0.2/32"), netip.MustParsePrefix("fd00:99::2/128")}
		if err := m.SetEgress(ctx, "tap0", allow); err != nil {
			t.Fatal(err)
		}
		wantReach(t, g, "10.99.0.2:7000", "internet 10.99.0.1")
		wantReach(t, g, "[fd00:99::2]:7000", "internet fd00:16::2")
		wantBlocked(t, g, "10.99.0.3:7000")
		wantBlocked(t, g, "[fd00:99::3]:7000")

		// An empty list drops everything, whatever the family.
		if err := m.SetEgress(ctx, "tap0", nil); err != nil {
			t.Fatal(err)
		}
		wantBlocked(t, g, "10.99.0.2:7000")
		wantBlocked(t, g, "[fd00:99::2]:7000")

		if err := m.ClearEgress(ctx, "tap0"); err != nil {
			t.Fatal(err)
		}
		wantReach(t, g, "10.99.0.3:7000", "internet 10.99.0.1")
		wantReach(t, g, "[fd00:99::3]:7000", "internet fd00:16::2")
		if err := m.ClearEgress(ctx, "tap0"); err != nil {
			t.Errorf("second clear: %v, want nil", err)
		}
	})
}

func TestEgressLimitKeepsForwardReplies(t *testing.T) {
	m, host := newTestManager(t, BackendNative)
	topo := newTopology(t, host, 1)
	serve(t, topo.guests[0], ":80", "guest0")
	if err := m.SetEgress(ctx, "tap0", nil); err != nil {
		t.Fatal(err)
	}
	if err := m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")}); err != nil {
		t.Fatal(err)
	}
	wantReach(t, topo.internet, "10.99.0.1:8080", "guest0 10.99.0.2")
}

func TestSandboxesIsolated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		topo := newTopology(t, host, 2)
		serve(t, topo.guests[0], ":80", "guest0")
		serve(t, topo.guests[1], ":80", "guest1")
		// Before the TAPs are sandbox TAPs, the host routes between them.
		wantReach(t, topo.guests[0], guestAddr(1)+":80", "guest1 172.16.0.2")

		for n, g := range []string{"172.16.0.2", "172.16.0.6"} {
			if err := m.SetupNAT(ctx, NAT{TAP: "tap" + string(rune('0'+n)), Guest: netip.MustParseAddr(g)}); err != nil {
				t.Fatal(err)
			}
		}
		wantBlocked(t, topo.guests[0], guestAddr(1)+":80")
		wantBlocked(t, topo.guests[1], guestAddr(0)+":80")

		// A forward to guest1 still works from the internet.
		if err := m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.6:80"), TAP: "tap1"}); err != nil {
			t.Fatal(err)
		}
		wantReach(t, topo.internet, "10.99.0.1:8080", "guest1 10.99.0.2")
	})
}

func TestForwardConflictAndStaleReplace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		newTopology(t, host, 2)
		first := Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0", ID: "a"}
		second := Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.6:80"), TAP: "tap1", ID: "b"}
		if err := m.AddForward(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := m.AddForward(ctx, first); err != nil {
			t.Errorf("repeat the same forward: %v, want nil", err)
		}
		before := listJSON(t, host, "list", "ruleset")

		err := m.AddForward(ctx, second)
		var conflict *ConflictError
		if !errors.As(err, &conflict) || !errors.Is(err, fs.ErrExist) {
			t.Fatalf("conflicting forward: %v, want a ConflictError matching fs.ErrExist", err)
		}
		if conflict.Existing.TAP != "tap0" || conflict.Existing.Guest != first.Guest {
			t.Errorf("conflict names %+v, want the forward of tap0", conflict.Existing)
		}
		assertJSONEqual(t, "ruleset after a conflict", before, listJSON(t, host, "list", "ruleset"))

		// Once tap0 is gone, its forward is stale and gets replaced.
		ip(t, host, "link", "del", "tap0")
		if err := m.AddForward(ctx, second); err != nil {
			t.Fatalf("replace a stale forward: %v", err)
		}
		st, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Forwards) != 1 || st.Forwards[0] != second {
			t.Errorf("forwards after the replace = %+v, want only %+v", st.Forwards, second)
		}

		// A forward stored without a TAP is never taken for stale.
		third := Forward{HostPort: 9090, Guest: netip.MustParseAddrPort("172.16.0.6:22")}
		if err := m.AddForward(ctx, third); err != nil {
			t.Fatal(err)
		}
		err = m.AddForward(ctx, Forward{HostPort: 9090, Guest: netip.MustParseAddrPort("172.16.0.6:23"), TAP: "tap1"})
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("conflict with a forward without a tap: %v, want fs.ErrExist", err)
		}
	})
}

func TestRemoveSandboxLeavesOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		newTopology(t, host, 2)
		for n, g := range []string{"172.16.0.2", "172.16.0.6"} {
			tap := "tap" + string(rune('0'+n))
			guest := netip.MustParseAddr(g)
			if err := m.SetupNAT(ctx, NAT{TAP: tap, Guest: guest, ID: "id-" + tap}); err != nil {
				t.Fatal(err)
			}
			if err := m.SetEgress(ctx, tap, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}); err != nil {
				t.Fatal(err)
			}
			for i, port := range []uint16{80, 22} {
				f := Forward{HostPort: uint16(8000 + 10*n + i), Guest: netip.AddrPortFrom(guest, port), TAP: tap, ID: "id-" + tap, Local: i == 1}
				if err := m.AddForward(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
		}
		full, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}

		if err := m.RemoveSandbox(ctx, "tap0"); err != nil {
			t.Fatal(err)
		}
		st, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.TAPs) != 1 || st.TAPs[0].TAP != "tap1" {
			t.Fatalf("TAPs after removing tap0 = %+v, want only tap1", st.TAPs)
		}
		if !equalTAPState(st.TAPs[0], full.TAPs[1]) {
			t.Errorf("tap1 changed: got %+v, want %+v", st.TAPs[0], full.TAPs[1])
		}
		if len(st.Forwards) != 2 || st.Forwards[0].TAP != "tap1" || st.Forwards[1].TAP != "tap1" {
			t.Errorf("forwards after removing tap0 = %+v, want the two of tap1", st.Forwards)
		}
		if got := nftCmd(t, host, "", "list", "set", "inet", TableName, "local_ports"); !containsAll(got, "8011") || containsAll(got, "8001") {
			t.Errorf("local_ports after removing tap0:\n%s", got)
		}
		if err := m.RemoveSandbox(ctx, "tap0"); err != nil {
			t.Errorf("second remove: %v, want nil", err)
		}
	})
}

func TestListReportsState(t *testing.T) {
	m, _ := newTestManager(t, BackendNative)
	st, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.TAPs) != 0 || len(st.Forwards) != 0 {
		t.Errorf("List before any change = %+v, want empty", st)
	}
	if err := m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2"), ID: "sbx-1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetEgress(ctx, "tap0", []netip.Prefix{netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.0.0.0/8")}); err != nil {
		t.Fatal(err)
	}
	if err := m.AddForward(ctx, Forward{HostPort: 2222, Guest: netip.MustParseAddrPort("172.16.0.2:22"), TAP: "tap0", ID: "sbx-1"}); err != nil {
		t.Fatal(err)
	}
	st, err = m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := TAPState{
		TAP: "tap0", ID: "sbx-1", Isolated: true,
		NAT:           []netip.Addr{netip.MustParseAddr("172.16.0.2")},
		EgressLimited: true,
		Egress:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		HostPorts:     []uint16{2222},
	}
	if len(st.TAPs) != 1 || !equalTAPState(st.TAPs[0], want) {
		t.Errorf("TAPs = %+v, want [%+v]", st.TAPs, want)
	}
}

func TestTableRecreatedAfterFlush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		f := Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")}
		if err := m.AddForward(ctx, f); err != nil {
			t.Fatal(err)
		}
		want := listJSON(t, host, "list", "table", "inet", TableName)

		nftCmd(t, host, "", "flush", "ruleset")
		if err := m.AddForward(ctx, f); err != nil {
			t.Fatalf("add after flush ruleset: %v", err)
		}
		assertJSONEqual(t, "table after flush ruleset", want, listJSON(t, host, "list", "table", "inet", TableName))

		// A new manager repairs a table whose rules someone removed.
		nftCmd(t, host, "", "flush", "chain", "inet", TableName, "forward")
		nftCmd(t, host, "", "delete", "chain", "inet", TableName, "output")
		m2 := openManager(t, host, m.Backend())
		if err := m2.AddForward(ctx, f); err != nil {
			t.Fatalf("add on a damaged table: %v", err)
		}
		assertJSONEqual(t, "repaired table", sortItems(want), sortItems(listJSON(t, host, "list", "table", "inet", TableName)))
	})
}

func TestRemoveNAT(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		guest := netip.MustParseAddr("172.16.0.2")
		for _, tap := range []string{"tap0", "tap1"} {
			if err := m.SetupNAT(ctx, NAT{TAP: tap, Guest: guest}); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.RemoveNAT(ctx, "tap0", guest); err != nil {
			t.Fatal(err)
		}
		if err := m.RemoveNAT(ctx, "tap0", guest); err != nil {
			t.Fatalf("repeating RemoveNAT = %v, want success", err)
		}
		st, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.TAPs) != 2 || len(st.TAPs[0].NAT) != 0 || !st.TAPs[0].Isolated || len(st.TAPs[1].NAT) != 1 {
			t.Fatalf("state after RemoveNAT of tap0 = %+v, want tap0 isolated without NAT and tap1 unchanged", st.TAPs)
		}
	})
}
