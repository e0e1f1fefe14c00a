package firewall

import (
	"net/netip"
	"slices"
	"strings"
)

// TableName is the name of the one nftables table that the package owns,
// in the inet family. Every chain, set and map it creates lives there.
const TableName = "smolvm"

// Forward is a TCP port forward from a host port to a guest.
type Forward struct {
	// HostPort is the TCP port on the host's own addresses, from 1 to 65535.
	HostPort uint16 `json:"host_port"`
	// Guest is the guest's IPv4 address and TCP port.
	Guest netip.AddrPort `json:"guest"`
	// Local also forwards connections that processes on the host make to
	// the port on one of the host's addresses, 127.0.0.1 included. The
	// device towards the guest then needs net.ipv4.conf.DEV.route_localnet
	// set to 1, as network.Manager.PrepareTAP does; with TAP set,
	// AddForward sets it itself.
	Local bool `json:"local"`
	// TAP optionally names the sandbox TAP the guest sits behind. It is
	// stored with the forward, so that a later forward of the same host port
	// can replace this one once the TAP is gone, and so that RemoveSandbox
	// removes it.
	TAP string `json:"tap,omitempty"`
	// ID optionally names the sandbox; it is stored with the forward and
	// needs TAP.
	ID string `json:"id,omitempty"`
}

// NAT describes a sandbox whose guest reaches other networks through the
// host with its source address masqueraded.
type NAT struct {
	// TAP is the sandbox's TAP device.
	TAP string
	// Guest is the guest's IPv4 address, the source that gets masqueraded.
	Guest netip.Addr
	// ID optionally names the sandbox, for a runtime's garbage collection.
	ID string
}

// State describes everything the package has installed, as [Manager.List]
// reads it.
type State struct {
	// TAPs has one entry for each TAP that any set or map names, sorted
	// by name.
	TAPs []TAPState `json:"taps"`
	// Forwards are the port forwards sorted by host port.
	Forwards []Forward `json:"forwards"`
	// ForwardDrops are base chains of other tables that drop forwarded
	// traffic by policy; see [Manager.ForwardDrops].
	ForwardDrops []ForeignChain `json:"forward_drops"`
}

// TAPState describes the entries installed for one TAP.
type TAPState struct {
	TAP string `json:"tap"`
	// ID is the sandbox id given with the TAP, or empty.
	ID string `json:"id,omitempty"`
	// Isolated is true while the TAP is in the set of sandbox TAPs, whose
	// members cannot reach each other.
	Isolated bool `json:"isolated"`
	// NAT lists the guest addresses masqueraded for this TAP.
	NAT []netip.Addr `json:"nat"`
	// EgressLimited is true when forwarded traffic from the TAP may only go
	// to the Egress prefixes.
	EgressLimited bool           `json:"egress_limited"`
	Egress        []netip.Prefix `json:"egress"`
	// HostPorts are the forwards stored with this TAP.
	HostPorts []uint16 `json:"host_ports"`
}

// setName names one of the sets and maps in the table.
type setName string

// The sets and maps that hold per-sandbox state. Keys and values:
//
//	taps         ifname                                   sandbox TAPs, isolated from each other
//	nat4         ipv4_addr                                guest sources to masquerade
//	egress_taps  ifname                                   TAPs whose egress is limited
//	egress4      ifname . ipv4_addr (intervals)           allowed IPv4 destinations per TAP
//	egress6      ifname . ipv6_addr (intervals)           allowed IPv6 destinations per TAP
//	forwards     inet_service : ipv4_addr . inet_service  host port to guest address and port
//	local_ports  inet_service                             host ports also forwarded for local traffic
const (
	setTAPs       setName = "taps"
	setNAT4       setName = "nat4"
	setEgressTAPs setName = "egress_taps"
	setEgress4    setName = "egress4"
	setEgress6    setName = "egress6"
	mapForwards   setName = "forwards"
	setLocalPorts setName = "local_ports"
)

// elem is one element of one of the sets or maps. Only the fields of its
// set's key and value are used.
type elem struct {
	set     setName
	tap     string         // taps, egress_taps, egress4, egress6
	addr    netip.Addr     // nat4
	prefix  netip.Prefix   // egress4, egress6
	port    uint16         // forwards, local_ports
	target  netip.AddrPort // forwards
	comment string         // taps, nat4, forwards
}

// change adds or deletes one element.
type change struct {
	del  bool
	elem elem
}

// transaction holds the changes of one apply: the schema work that the
// table needs, then the element changes, all sent as one nftables
// transaction.
type transaction struct {
	// create creates the table, failing if it exists, with every set,
	// chain and rule.
	create bool
	// addSets lists sets missing from an existing table.
	addSets []setName
	// resetChains lists chains to delete, if they exist, and create again
	// with the expected rules.
	resetChains []chainReset
	changes     []change
}

// chainReset names a chain to build again, and whether it exists now.
type chainReset struct {
	name   string
	exists bool
}

func (tx *transaction) add(e elem) { tx.changes = append(tx.changes, change{elem: e}) }
func (tx *transaction) del(e elem) { tx.changes = append(tx.changes, change{del: true, elem: e}) }

// replace adds e so that it ends up with e's comment even if an element
// with the same key (and value) exists: add, delete, add in one
// transaction. A plain add of an existing element keeps the old comment.
func (tx *transaction) replace(e elem) {
	tx.add(e)
	tx.del(e)
	tx.add(e)
}

// ensureAbsent deletes e whether or not it exists: adding first makes the
// delete succeed either way. It only suits sets, whose elements have no
// value to conflict with.
func (tx *transaction) ensureAbsent(e elem) {
	tx.add(e)
	tx.del(e)
}

func (tx *transaction) empty() bool {
	return !tx.create && len(tx.addSets) == 0 && len(tx.resetChains) == 0 && len(tx.changes) == 0
}

// ownerComment is the element comment that ties an element to a sandbox:
// "tap=TAP" or "tap=TAP id=ID". Both parts are validated, so neither holds
// a space or a quote.
func ownerComment(tap, id string) string {
	if tap == "" {
		return ""
	}
	if id == "" {
		return "tap=" + tap
	}
	return "tap=" + tap + " id=" + id
}

// idComment is the comment of a taps element: "id=ID", or empty.
func idComment(id string) string {
	if id == "" {
		return ""
	}
	return "id=" + id
}

// parseComment reads the tap= and id= fields of a comment and ignores any
// others.
func parseComment(c string) (tap, id string) {
	for _, f := range strings.Fields(c) {
		if v, ok := strings.CutPrefix(f, "tap="); ok {
			tap = v
		} else if v, ok := strings.CutPrefix(f, "id="); ok {
			id = v
		}
	}
	return tap, id
}

// buildState turns the elements of every set into the State that List
// returns.
func buildState(elems []elem) State {
	taps := map[string]*TAPState{}
	get := func(name string) *TAPState {
		if taps[name] == nil {
			taps[name] = &TAPState{TAP: name}
		}
		return taps[name]
	}
	local := map[uint16]bool{}
	for _, e := range elems {
		if e.set == setLocalPorts {
			local[e.port] = true
		}
	}

	// Empty lists rather than nil, so JSON shows [] rather than null.
	st := State{TAPs: []TAPState{}, Forwards: []Forward{}, ForwardDrops: []ForeignChain{}}
	for _, e := range elems {
		switch e.set {
		case setTAPs:
			t := get(e.tap)
			t.Isolated = true
			if _, id := parseComment(e.comment); id != "" {
				t.ID = id
			}
		case setNAT4:
			tap, id := parseComment(e.comment)
			if tap != "" {
				t := get(tap)
				t.NAT = append(t.NAT, e.addr)
				if t.ID == "" {
					t.ID = id
				}
			}
		case setEgressTAPs:
			get(e.tap).EgressLimited = true
		case setEgress4, setEgress6:
			t := get(e.tap)
			t.Egress = append(t.Egress, e.prefix)
		case mapForwards:
			tap, id := parseComment(e.comment)
			st.Forwards = append(st.Forwards, Forward{HostPort: e.port, Guest: e.target, Local: local[e.port], TAP: tap, ID: id})
			if tap != "" {
				t := get(tap)
				t.HostPorts = append(t.HostPorts, e.port)
			}
		}
	}

	for _, t := range taps {
		// A limited TAP with no allowed prefix shows [] rather than null,
		// because null in a sandbox spec means no limit.
		if t.EgressLimited && t.Egress == nil {
			t.Egress = []netip.Prefix{}
		}
		slices.SortFunc(t.NAT, netip.Addr.Compare)
		slices.SortFunc(t.Egress, comparePrefix)
		slices.Sort(t.HostPorts)
		st.TAPs = append(st.TAPs, *t)
	}
	slices.SortFunc(st.TAPs, func(a, b TAPState) int { return strings.Compare(a.TAP, b.TAP) })
	slices.SortFunc(st.Forwards, func(a, b Forward) int { return int(a.HostPort) - int(b.HostPort) })
	return st
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
