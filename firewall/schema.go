package firewall

// setSpec describes one set or map of the table. typ is the nft type
// declaration, written the same way by the command path and decoded from
// the same fields by the native path.
type setSpec struct {
	name    setName
	isMap   bool
	typ     string
	comment string
}

var setSpecs = []setSpec{
	{name: setTAPs, typ: "type ifname", comment: "sandbox taps, isolated from each other"},
	{name: setNAT4, typ: "type ipv4_addr", comment: "guest sources to masquerade"},
	{name: setEgressTAPs, typ: "type ifname", comment: "taps whose egress is limited"},
	{name: setEgress4, typ: "type ifname . ipv4_addr; flags interval", comment: "allowed ipv4 destinations per tap"},
	{name: setEgress6, typ: "type ifname . ipv6_addr; flags interval", comment: "allowed ipv6 destinations per tap"},
	{name: mapForwards, isMap: true, typ: "type inet_service : ipv4_addr . inet_service", comment: "host port to guest address and port"},
	{name: setLocalPorts, typ: "type inet_service", comment: "host ports also forwarded for local traffic"},
}

// chainSpec describes one base chain and its rules, in order.
type chainSpec struct {
	name     string
	kind     string // nft chain type: "nat" or "filter"
	hook     string
	priority int
	rules    []ruleSpec
}

// ruleSpec is a rule in nft syntax. Its comment identifies it when the
// table is checked, so every comment in a chain is distinct.
type ruleSpec struct {
	script  string
	comment string
}

// The priorities are those of the nft names dstnat (-100), srcnat (100)
// and filter (0). Every chain's policy is accept: the chains only drop
// what the rules name, so they never decide for traffic of other tables.
var chainSpecs = []chainSpec{
	{name: "prerouting", kind: "nat", hook: "prerouting", priority: -100, rules: []ruleSpec{
		{"fib daddr type local dnat ip to tcp dport map @forwards", "forward host ports to guests"},
	}},
	{name: "output", kind: "nat", hook: "output", priority: -100, rules: []ruleSpec{
		{"fib daddr type local tcp dport @local_ports dnat ip to tcp dport map @forwards", "forward local connections to guests"},
	}},
	{name: "postrouting", kind: "nat", hook: "postrouting", priority: 100, rules: []ruleSpec{
		{"ip saddr @nat4 masquerade", "masquerade guest sources"},
		{"ip saddr 127.0.0.0/8 ct status dnat masquerade", "give forwarded local connections a routable source"},
	}},
	{name: "forward", kind: "filter", hook: "forward", priority: 0, rules: []ruleSpec{
		{"ct state established,related accept", "accept replies"},
		{"iifname @taps oifname @taps drop", "isolate sandbox taps from each other"},
		{"iifname . ip daddr @egress4 accept", "allow listed ipv4 egress"},
		{"iifname . ip6 daddr @egress6 accept", "allow listed ipv6 egress"},
		{"iifname @egress_taps drop", "drop other egress of limited taps"},
	}},
}

// tableInfo records the parts of the table a backend found when it
// checked it.
type tableInfo struct {
	present bool
	sets    map[setName]bool
	chains  map[string]chainInfo
}

// chainInfo is one chain as found, with the comments of its rules in order.
type chainInfo struct {
	kind, hook string
	priority   int
	policy     string
	comments   []string
}

// planSchema returns the schema work that brings the table found to the
// expected one: create it all, or add missing sets and replace the chains
// that differ.
func planSchema(info tableInfo) transaction {
	if !info.present {
		return transaction{create: true}
	}
	var tx transaction
	for _, s := range setSpecs {
		if !info.sets[s.name] {
			tx.addSets = append(tx.addSets, s.name)
		}
	}
	for _, c := range chainSpecs {
		found, ok := info.chains[c.name]
		if !ok || !chainMatches(found, c) {
			tx.resetChains = append(tx.resetChains, chainReset{name: c.name, exists: ok})
		}
	}
	return tx
}

func chainMatches(found chainInfo, want chainSpec) bool {
	if found.kind != want.kind || found.hook != want.hook || found.priority != want.priority || found.policy != "accept" {
		return false
	}
	if len(found.comments) != len(want.rules) {
		return false
	}
	for i, r := range want.rules {
		if found.comments[i] != r.comment {
			return false
		}
	}
	return true
}
