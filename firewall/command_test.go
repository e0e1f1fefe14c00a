package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderElements(t *testing.T) {
	var tx transaction
	tx.replace(elem{set: setTAPs, tap: "tap0", comment: "id=sbx-1"})
	tx.add(elem{set: setNAT4, addr: netip.MustParseAddr("172.16.0.2"), comment: "tap=tap0"})
	tx.add(elem{set: setEgress4, tap: "tap0", prefix: netip.MustParsePrefix("10.0.0.0/8")})
	tx.add(elem{set: setEgress6, tap: "tap0", prefix: netip.MustParsePrefix("2001:db8::/32")})
	tx.add(elem{set: mapForwards, port: 8080, target: netip.MustParseAddrPort("172.16.0.2:80"), comment: "tap=tap0 id=sbx-1"})
	tx.del(elem{set: mapForwards, port: 8080, target: netip.MustParseAddrPort("172.16.0.2:80"), comment: "tap=tap0"})
	tx.ensureAbsent(elem{set: setLocalPorts, port: 8080})
	want := `add element inet smolvm taps { "tap0" comment "id=sbx-1" }
delete element inet smolvm taps { "tap0" }
add element inet smolvm taps { "tap0" comment "id=sbx-1" }
add element inet smolvm nat4 { 172.16.0.2 comment "tap=tap0" }
add element inet smolvm egress4 { "tap0" . 10.0.0.0/8 }
add element inet smolvm egress6 { "tap0" . 2001:db8::/32 }
add element inet smolvm forwards { 8080 comment "tap=tap0 id=sbx-1" : 172.16.0.2 . 80 }
delete element inet smolvm forwards { 8080 }
add element inet smolvm local_ports { 8080 }
delete element inet smolvm local_ports { 8080 }
`
	if diff := cmp.Diff(want, renderScript(&tx)); diff != "" {
		t.Errorf("script (-want +got):\n%s", diff)
	}
}

func TestRenderCreate(t *testing.T) {
	script := renderScript(&transaction{create: true})
	for _, want := range []string{
		"create table inet smolvm\n",
		`add map inet smolvm forwards { type inet_service : ipv4_addr . inet_service; comment "host port to guest address and port"; }`,
		`add set inet smolvm egress4 { type ifname . ipv4_addr; flags interval; comment "allowed ipv4 destinations per tap"; }`,
		"add chain inet smolvm forward { type filter hook forward priority 0; policy accept; }\n",
		`add rule inet smolvm forward iifname @egress_taps drop comment "drop other egress of limited taps"`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("create script lacks %q:\n%s", want, script)
		}
	}
	reset := renderScript(&transaction{resetChains: []chainReset{{name: "output", exists: true}}})
	if !strings.HasPrefix(reset, "delete chain inet smolvm output\nadd chain inet smolvm output {") {
		t.Errorf("reset script:\n%s", reset)
	}
}

func TestQuoteRejectsUnvalidated(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("quote accepted a string with a quote")
		}
	}()
	quote(`a"b`)
}

// sampleTable is `nft -j list table inet smolvm` output from nft 1.0.6,
// trimmed to the sets and one chain with one rule.
const sampleTable = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "smolvm", "handle": 1}},
{"set": {"family": "inet", "name": "taps", "table": "smolvm", "type": "ifname", "handle": 2, "elem": [{"elem": {"val": "tap0", "comment": "id=sbx-1"}}, "tap1"]}},
{"set": {"family": "inet", "name": "nat4", "table": "smolvm", "type": "ipv4_addr", "handle": 3, "elem": [{"elem": {"val": "172.16.0.2", "comment": "tap=tap0 id=sbx-1"}}]}},
{"set": {"family": "inet", "name": "egress_taps", "table": "smolvm", "type": "ifname", "handle": 4, "elem": ["tap0"]}},
{"set": {"family": "inet", "name": "egress4", "table": "smolvm", "type": ["ifname", "ipv4_addr"], "handle": 5, "flags": ["interval"], "elem": [{"concat": ["tap0", {"prefix": {"addr": "10.0.0.0", "len": 8}}]}, {"concat": ["tap0", "192.0.2.7"]}, {"concat": ["tap0", {"range": ["198.51.100.0", "198.51.100.255"]}]}]}},
{"set": {"family": "inet", "name": "egress6", "table": "smolvm", "type": ["ifname", "ipv6_addr"], "handle": 6, "flags": ["interval"], "elem": [{"concat": ["tap0", {"prefix": {"addr": "2001:db8::", "len": 32}}]}]}},
{"map": {"family": "inet", "name": "forwards", "table": "smolvm", "type": "inet_service", "handle": 7, "map": "ipv4_addr . inet_service", "elem": [[8080, {"concat": ["172.16.0.2", 80]}], [{"elem": {"val": 2222, "comment": "tap=tap0 id=sbx-1"}}, {"concat": ["172.16.0.2", 22]}]]}},
{"set": {"family": "inet", "name": "local_ports", "table": "smolvm", "type": "inet_service", "handle": 8, "elem": [2222]}},
{"set": {"family": "inet", "name": "someone_elses", "table": "smolvm", "type": "mark", "handle": 9, "elem": [1]}},
{"chain": {"family": "inet", "table": "smolvm", "name": "forward", "handle": 10, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
{"rule": {"family": "inet", "table": "smolvm", "chain": "forward", "handle": 11, "comment": "accept replies", "expr": []}}
]}`

func TestParseTable(t *testing.T) {
	info, elems, err := parseTable([]byte(sampleTable))
	if err != nil {
		t.Fatal(err)
	}
	if !info.present || len(info.sets) != len(setSpecs) {
		t.Errorf("info = %+v, want the table and its %d sets", info, len(setSpecs))
	}
	wantChain := chainInfo{kind: "filter", hook: "forward", priority: 0, policy: "accept", comments: []string{"accept replies"}}
	if diff := cmp.Diff(wantChain, info.chains["forward"], cmp.AllowUnexported(chainInfo{})); diff != "" {
		t.Errorf("chain forward (-want +got):\n%s", diff)
	}

	st := buildState(elems)
	p := netip.MustParsePrefix
	want := State{
		TAPs: []TAPState{
			{TAP: "tap0", ID: "sbx-1", Isolated: true, NAT: []netip.Addr{netip.MustParseAddr("172.16.0.2")}, EgressLimited: true,
				Egress:    []netip.Prefix{p("10.0.0.0/8"), p("192.0.2.7/32"), p("198.51.100.0/24"), p("2001:db8::/32")},
				HostPorts: []uint16{2222}},
			{TAP: "tap1", Isolated: true},
		},
		Forwards: []Forward{
			{HostPort: 2222, Guest: netip.MustParseAddrPort("172.16.0.2:22"), Local: true, TAP: "tap0", ID: "sbx-1"},
			{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")},
		},
		ForwardDrops: []ForeignChain{},
	}
	opts := []cmp.Option{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
	}
	if diff := cmp.Diff(want, st, opts...); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestParseTableRejectsStrangeElements(t *testing.T) {
	for _, e := range []string{
		`{"set": {"name": "nat4", "elem": ["2001:db8::1"]}}`,
		`{"set": {"name": "egress4", "elem": [{"concat": ["tap0", {"range": ["10.0.0.1", "10.0.0.5"]}]}]}}`,
		`{"map": {"name": "forwards", "elem": [[0, {"concat": ["172.16.0.2", 80]}]]}}`,
		`{"map": {"name": "forwards", "elem": [8080]}}`,
		`{"set": {"name": "local_ports", "elem": [65536]}}`,
		`{"set": {"name": "taps", "elem": [7]}}`,
	} {
		if _, _, err := parseTable([]byte(`{"nftables": [` + e + `]}`)); err == nil {
			t.Errorf("parseTable accepted %s", e)
		}
	}
}

func TestParseForwardDrops(t *testing.T) {
	data := `{"nftables": [
{"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
{"chain": {"family": "inet", "table": "smolvm", "name": "forward", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
{"chain": {"family": "ip6", "table": "filter", "name": "INPUT", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
{"chain": {"family": "inet", "table": "fw", "name": "fwd", "type": "filter", "hook": "forward", "prio": 10, "policy": "accept"}},
{"chain": {"family": "bridge", "table": "br", "name": "fwd", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
{"chain": {"family": "inet", "table": "fw", "name": "regular"}}
]}`
	got, err := parseForwardDrops([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []ForeignChain{{Family: "ip", Table: "filter", Chain: "FORWARD"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPrefixFromRange(t *testing.T) {
	a := netip.MustParseAddr
	if p, ok := prefixFromRange(a("10.0.0.0"), a("10.255.255.255")); !ok || p.String() != "10.0.0.0/8" {
		t.Errorf("got %v, %v", p, ok)
	}
	if p, ok := prefixFromRange(a("::"), a("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")); !ok || p.String() != "::/0" {
		t.Errorf("got %v, %v", p, ok)
	}
	if _, ok := prefixFromRange(a("10.0.0.1"), a("10.0.0.2")); ok {
		t.Error("10.0.0.1-10.0.0.2 taken for a prefix")
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add([]byte(sampleTable))
	f.Add([]byte(`{"nftables": []}`))
	f.Add([]byte(`{"nftables": [{"map": {"name": "forwards", "elem": [[1, {"concat": [1, 2]}]]}}]}`))
	// Decoding and turning the result into a State must never panic,
	// whatever nft or another program left in the table.
	f.Fuzz(func(t *testing.T, data []byte) {
		_, elems, err := parseTable(data)
		if err != nil {
			return
		}
		_ = buildState(elems)
	})
}
