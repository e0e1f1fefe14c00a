package firewall

import (
	"errors"
	"io/fs"
	"net/netip"
	"testing"
)

// foreignRuleset is another program's table with named sets, a map, a
// verdict map and concatenations, plus a Docker-like forward chain with
// policy drop.
const foreignRuleset = `
table inet other {
	set blocked { type ipv4_addr . inet_service; flags interval; elements = { 10.1.0.0/16 . 22, 192.0.2.1 . 80 } }
	map nat_ports { type inet_service : ipv4_addr . inet_service; elements = { 8080 : 10.2.0.5 . 80 } }
	map by_iif { type ifname : verdict; elements = { "tap0" : accept } }
	set taps { type ifname; elements = { "tap0", "tap9" } }
	chain input { type filter hook input priority 10; policy accept;
		ip saddr . tcp dport @blocked drop
		iifname vmap @by_iif
	}
	chain pre { type nat hook prerouting priority -90; policy accept;
		dnat ip to tcp dport map @nat_ports
	}
}
table ip filter {
	chain FORWARD { type filter hook forward priority 0; policy drop; }
}
`

func TestForeignTableUntouched(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		newTopology(t, host, 1)
		nftCmd(t, host, foreignRuleset, "-f", "-")
		before := listJSON(t, host, "list", "table", "inet", "other")
		beforeFilter := listJSON(t, host, "list", "table", "ip", "filter")

		steps := []func() error{
			func() error {
				return m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2")})
			},
			func() error {
				return m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0", Local: true})
			},
			func() error { return m.SetEgress(ctx, "tap0", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}) },
			func() error { return m.ClearEgress(ctx, "tap0") },
			func() error { return m.RemoveForward(ctx, 8080) },
			func() error { return m.RemoveSandbox(ctx, "tap0") },
			func() error { _, err := m.List(ctx); return err },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		assertJSONEqual(t, "table inet other", before, listJSON(t, host, "list", "table", "inet", "other"))
		assertJSONEqual(t, "table ip filter", beforeFilter, listJSON(t, host, "list", "table", "ip", "filter"))

		// The Docker-like chain is reported, with what to do.
		drops, err := m.ForwardDrops(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := ForeignChain{Family: "ip", Table: "filter", Chain: "FORWARD", Priority: 0}
		if len(drops) != 1 || drops[0] != want {
			t.Fatalf("ForwardDrops = %+v, want [%+v]", drops, want)
		}
		if !containsAll(drops[0].Advice(), "policy drop", "DOCKER-USER") {
			t.Errorf("advice %q does not say what to do", drops[0].Advice())
		}
		st, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.ForwardDrops) != 1 {
			t.Errorf("List().ForwardDrops = %+v, want the FORWARD chain", st.ForwardDrops)
		}
	})
}

// TestForwardDropChainBlocksTraffic shows why the report matters: with a
// foreign forward chain of policy drop, a forward that the table accepts
// still does not deliver.
func TestForwardDropChainBlocksTraffic(t *testing.T) {
	m, host := newTestManager(t, BackendNative)
	topo := newTopology(t, host, 1)
	serve(t, topo.guests[0], ":80", "guest0")
	if err := m.AddForward(ctx, Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")}); err != nil {
		t.Fatal(err)
	}
	wantReach(t, topo.internet, "10.99.0.1:8080", "guest0 10.99.0.2")
	nftCmd(t, host, "table ip filter { chain FORWARD { type filter hook forward priority 0; policy drop; }; }", "-f", "-")
	wantBlocked(t, topo.internet, "10.99.0.1:8080")
	if drops, err := m.ForwardDrops(ctx); err != nil || len(drops) != 1 {
		t.Errorf("ForwardDrops = %v, %v; want the FORWARD chain", drops, err)
	}
}

// hostileInputs are strings that would change a hand-written nft script.
var hostileInputs = []string{
	`tap0"; flush ruleset; "`,
	"tap0 }\nflush ruleset\n",
	"tap*",
	"tap0\\",
	"$tap",
	"a b",
	"averyveryverylongname",
	"../x",
	"tap0#",
	"tap0;",
	"{tap0}",
	"@taps",
}

func TestHostileInputRejected(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, host string) {
		if err := m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("172.16.0.2")}); err != nil {
			t.Fatal(err)
		}
		before := listJSON(t, host, "list", "ruleset")
		guest := netip.MustParseAddrPort("172.16.0.2:80")

		var calls []func() error
		for _, s := range hostileInputs {
			calls = append(calls,
				func() error { return m.SetupNAT(ctx, NAT{TAP: s, Guest: guest.Addr()}) },
				func() error { return m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: guest.Addr(), ID: s + "\"x"}) },
				func() error { return m.Isolate(ctx, s, "") },
				func() error { return m.AddForward(ctx, Forward{HostPort: 80, Guest: guest, TAP: s}) },
				func() error { return m.AddForward(ctx, Forward{HostPort: 80, Guest: guest, TAP: "tap0", ID: s + " x"}) },
				func() error { return m.SetEgress(ctx, s, nil) },
				func() error { return m.ClearEgress(ctx, s) },
				func() error { return m.RemoveSandbox(ctx, s) },
				func() error { _, err := ParsePrefix("10.0.0.0/8" + s); return err },
				func() error { _, err := ParseGuest("172.16.0.2:80" + s); return err },
				func() error { _, err := ParsePort("host port", "80"+s); return err },
			)
		}
		calls = append(calls,
			func() error { return m.AddForward(ctx, Forward{HostPort: 0, Guest: guest}) },
			func() error {
				return m.AddForward(ctx, Forward{HostPort: 80, Guest: netip.MustParseAddrPort("127.0.0.1:80")})
			},
			func() error {
				return m.AddForward(ctx, Forward{HostPort: 80, Guest: netip.MustParseAddrPort("[::1]:80")})
			},
			func() error {
				return m.AddForward(ctx, Forward{HostPort: 80, Guest: netip.AddrPortFrom(guest.Addr(), 0)})
			},
			func() error { return m.RemoveForward(ctx, 0) },
			func() error { return m.SetupNAT(ctx, NAT{TAP: "tap0", Guest: netip.MustParseAddr("224.0.0.1")}) },
			func() error { return m.SetupNAT(ctx, NAT{TAP: "tap0"}) },
			func() error { return m.SetupNAT(ctx, NAT{TAP: "", Guest: guest.Addr()}) },
			func() error { return m.SetEgress(ctx, "", nil) },
			func() error { return m.AddForward(ctx, Forward{HostPort: 80, Guest: guest, ID: "needs-a-tap"}) },
			func() error {
				return m.SetEgress(ctx, "tap0", []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 8)})
			},
			func() error { return m.SetEgress(ctx, "tap0", []netip.Prefix{{}}) },
			func() error {
				return m.SetEgress(ctx, "tap0", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")})
			},
		)
		for i, call := range calls {
			err := call()
			var verr *ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("call %d: %v, want a ValidationError matching fs.ErrInvalid", i, err)
			}
		}
		assertJSONEqual(t, "ruleset after hostile input", before, listJSON(t, host, "list", "ruleset"))
	})
}
