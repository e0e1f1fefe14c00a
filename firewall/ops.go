package firewall

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
)

// SetupNAT lets the guest at n.Guest reach other networks through the host:
// forwarded traffic from that source address is masqueraded to the address
// of whichever interface it leaves by, so a change of the host's uplink
// needs no update. It also adds n.TAP to the sandbox TAPs (see Isolate)
// and sets net.ipv4.ip_forward to 1 through the network package. Repeating
// it changes nothing but the stored id.
func (m *Manager) SetupNAT(ctx context.Context, n NAT) error {
	if err := ValidateTAPName(n.TAP); err != nil {
		return err
	}
	if err := validateGuestAddr("guest address", n.Guest); err != nil {
		return err
	}
	if err := ValidateID(n.ID); err != nil {
		return err
	}
	return m.do(ctx, "set up nat", "tap "+n.TAP, func(b backend) error {
		err := m.apply(ctx, b, func(tx *transaction) error {
			tx.replace(elem{set: setTAPs, tap: n.TAP, comment: idComment(n.ID)})
			tx.replace(elem{set: setNAT4, addr: n.Guest, comment: ownerComment(n.TAP, n.ID)})
			return nil
		})
		if err != nil {
			return err
		}
		return m.enableForwarding(ctx)
	})
}

// RemoveNAT stops masquerading the guest address of tap that SetupNAT
// installed. The TAP stays among the sandbox TAPs. It succeeds when no such
// entry exists.
func (m *Manager) RemoveNAT(ctx context.Context, tap string, guest netip.Addr) error {
	if err := ValidateTAPName(tap); err != nil {
		return err
	}
	if err := validateGuestAddr("guest address", guest); err != nil {
		return err
	}
	return m.do(ctx, "remove nat", "tap "+tap, func(b backend) error {
		return m.removeElems(ctx, b, func(elems []elem, tx *transaction) {
			for _, e := range elems {
				if e.set == setNAT4 && e.addr == guest && elemOwnedBy(e, tap) {
					tx.del(e)
				}
			}
		})
	})
}

// Isolate adds tap to the sandbox TAPs: forwarded traffic between two
// sandbox TAPs is dropped in both directions. id, which may be empty, is
// stored with it.
func (m *Manager) Isolate(ctx context.Context, tap, id string) error {
	if err := ValidateTAPName(tap); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	return m.do(ctx, "isolate", "tap "+tap, func(b backend) error {
		return m.apply(ctx, b, func(tx *transaction) error {
			tx.replace(elem{set: setTAPs, tap: tap, comment: idComment(id)})
			return nil
		})
	})
}

// AddForward forwards TCP connections to f.HostPort on any of the host's
// addresses to f.Guest: connections that arrive from other hosts and, with
// f.Local, connections from the host itself (127.0.0.1 included). It sets
// net.ipv4.ip_forward to 1, and with f.Local and f.TAP also
// net.ipv4.conf.TAP.route_localnet.
//
// Adding a forward that is installed with the same guest succeeds and
// keeps what was stored with it (TAP, id and Local). Remove it first to
// change those. If the host port forwards to another guest whose stored
// TAP no longer exists, AddForward replaces that forward in the same
// transaction. If that TAP still exists, it returns a [*ConflictError]
// matching fs.ErrExist and changes nothing.
//
// A new forward costs one transaction of one or two element additions.
// Deleting in the same transaction would cost the kernel several times
// as much, which is why a repeated add does not rewrite the stored fields.
func (m *Manager) AddForward(ctx context.Context, f Forward) error {
	if err := validateForward(f); err != nil {
		return err
	}
	return m.do(ctx, "add forward", "host port "+strconv.Itoa(int(f.HostPort)), func(b backend) error {
		if f.Local && f.TAP != "" {
			n, err := m.network()
			if err != nil {
				return err
			}
			if err := n.WriteSysctl(ctx, "net/ipv4/conf/"+f.TAP+"/route_localnet", "1"); err != nil {
				return err
			}
		}
		if err := m.addForward(ctx, b, f); err != nil {
			return err
		}
		return m.enableForwarding(ctx)
	})
}

func (m *Manager) addForward(ctx context.Context, b backend, f Forward) error {
	fwd := elem{set: mapForwards, port: f.HostPort, target: f.Guest, comment: ownerComment(f.TAP, f.ID)}
	fill := func(tx *transaction) {
		tx.add(fwd)
		if f.Local {
			tx.add(elem{set: setLocalPorts, port: f.HostPort})
		}
	}
	err := m.apply(ctx, b, func(tx *transaction) error { fill(tx); return nil })
	if err == nil {
		return nil
	}

	// Decide from the table, not from the error, whether the port is
	// taken: the nft command reports no errno.
	elems, _, lerr := b.list(ctx)
	if lerr != nil {
		return err
	}
	old, found := findForward(elems, f.HostPort)
	if !found || old.target == f.Guest {
		return err
	}
	oldTAP, oldID := parseComment(old.comment)
	existing := Forward{HostPort: old.port, Guest: old.target, TAP: oldTAP, ID: oldID, Local: hasLocalPort(elems, old.port)}
	if oldTAP == "" {
		return &ConflictError{Existing: existing}
	}
	gone, gerr := m.tapGone(ctx, oldTAP)
	if gerr != nil {
		return gerr
	}
	if !gone {
		return &ConflictError{Existing: existing}
	}
	return m.apply(ctx, b, func(tx *transaction) error {
		tx.del(elem{set: mapForwards, port: f.HostPort})
		if existing.Local && !f.Local {
			tx.del(elem{set: setLocalPorts, port: f.HostPort})
		}
		fill(tx)
		return nil
	})
}

func findForward(elems []elem, port uint16) (elem, bool) {
	for _, e := range elems {
		if e.set == mapForwards && e.port == port {
			return e, true
		}
	}
	return elem{}, false
}

func hasLocalPort(elems []elem, port uint16) bool {
	for _, e := range elems {
		if e.set == setLocalPorts && e.port == port {
			return true
		}
	}
	return false
}

// RemoveForward removes the forward of hostPort, for external and local
// traffic. Removing a forward that does not exist succeeds, so a runtime
// can repeat a cleanup. Connections already forwarded keep their
// conntrack entries until they end.
func (m *Manager) RemoveForward(ctx context.Context, hostPort uint16) error {
	if hostPort == 0 {
		return invalid("host port", "0", "must be a port number from 1 to 65535")
	}
	return m.do(ctx, "remove forward", "host port "+strconv.Itoa(int(hostPort)), func(b backend) error {
		local := elem{set: setLocalPorts, port: hostPort}
		var tx transaction
		tx.ensureAbsent(local)
		tx.del(elem{set: mapForwards, port: hostPort})
		err := b.apply(ctx, &tx)
		if err == nil {
			return nil
		}

		// The delete fails when there is nothing to delete, or no table.
		elems, present, lerr := b.list(ctx)
		if lerr != nil {
			return err
		}
		if !present {
			return nil
		}
		if _, found := findForward(elems, hostPort); found {
			return err
		}
		if !hasLocalPort(elems, hostPort) {
			return nil
		}
		tx = transaction{}
		tx.ensureAbsent(local)
		return b.apply(ctx, &tx)
	})
}

// SetEgress limits the traffic that the host forwards from tap to the
// destinations in allow, IPv4 and IPv6 networks alike. Everything else
// forwarded from tap is dropped, whatever its address family. An empty
// allow drops all of it. Replies to connections that others opened to the
// guest, such as port forwards, still pass. Traffic to the host's own
// addresses is not forwarded and so not limited. SetEgress replaces the
// TAP's previous list in one transaction and adds tap to the sandbox TAPs.
func (m *Manager) SetEgress(ctx context.Context, tap string, allow []netip.Prefix) error {
	if err := ValidateTAPName(tap); err != nil {
		return err
	}
	if err := validateAllowlist(allow); err != nil {
		return err
	}
	return m.do(ctx, "set egress", "tap "+tap, func(b backend) error {
		return m.apply(ctx, b, func(tx *transaction) error {
			elems, _, err := b.list(ctx)
			if err != nil {
				return err
			}
			tx.add(elem{set: setTAPs, tap: tap})
			tx.add(elem{set: setEgressTAPs, tap: tap})
			current := egressOf(elems, tap)
			for _, e := range current {
				if !slices.Contains(allow, e.prefix) {
					tx.del(e)
				}
			}
			for _, p := range allow {
				if !slices.ContainsFunc(current, func(e elem) bool { return e.prefix == p }) {
					tx.add(egressElem(tap, p))
				}
			}
			return nil
		})
	})
}

func egressElem(tap string, p netip.Prefix) elem {
	set := setEgress4
	if p.Addr().Is6() {
		set = setEgress6
	}
	return elem{set: set, tap: tap, prefix: p}
}

func egressOf(elems []elem, tap string) []elem {
	var out []elem
	for _, e := range elems {
		if (e.set == setEgress4 || e.set == setEgress6) && e.tap == tap {
			out = append(out, e)
		}
	}
	return out
}

// ClearEgress removes the egress limit of tap, so its forwarded traffic is
// no longer filtered by destination. It succeeds when there is no limit.
func (m *Manager) ClearEgress(ctx context.Context, tap string) error {
	if err := ValidateTAPName(tap); err != nil {
		return err
	}
	return m.do(ctx, "clear egress", "tap "+tap, func(b backend) error {
		return m.removeElems(ctx, b, func(elems []elem, tx *transaction) {
			if slices.Contains(elems, elem{set: setEgressTAPs, tap: tap}) {
				tx.del(elem{set: setEgressTAPs, tap: tap})
			}
			for _, e := range egressOf(elems, tap) {
				tx.del(e)
			}
		})
	})
}

// RemoveSandbox removes everything stored for tap in one transaction: its
// place among the sandbox TAPs, its masqueraded guest addresses, its
// egress limit and the forwards stored with it. Elements of other TAPs
// are left alone. It succeeds when nothing is stored for tap.
func (m *Manager) RemoveSandbox(ctx context.Context, tap string) error {
	if err := ValidateTAPName(tap); err != nil {
		return err
	}
	return m.do(ctx, "remove sandbox", "tap "+tap, func(b backend) error {
		return m.removeElems(ctx, b, func(elems []elem, tx *transaction) {
			for _, e := range elems {
				if elemOwnedBy(e, tap) {
					tx.del(e)
					if e.set == mapForwards && hasLocalPort(elems, e.port) {
						tx.del(elem{set: setLocalPorts, port: e.port})
					}
				}
			}
		})
	})
}

// elemOwnedBy reports whether e belongs to tap, by key or by comment.
func elemOwnedBy(e elem, tap string) bool {
	switch e.set {
	case setTAPs, setEgressTAPs, setEgress4, setEgress6:
		return e.tap == tap
	case setNAT4, mapForwards:
		owner, _ := parseComment(e.comment)
		return owner == tap
	}
	return false
}

// removeElems lists the table, lets pick choose deletions, and applies
// them. A table that does not exist has nothing to remove. If the apply
// fails, which a concurrent change can cause, it runs once more on a fresh
// listing.
func (m *Manager) removeElems(ctx context.Context, b backend, pick func(elems []elem, tx *transaction)) error {
	var err error
	for range 2 {
		elems, present, lerr := b.list(ctx)
		if lerr != nil || !present {
			return lerr
		}
		var tx transaction
		pick(elems, &tx)
		if err = b.apply(ctx, &tx); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// List returns what is installed: per TAP, the isolation, NAT and egress
// entries and the forwards stored with it, every forward, and the foreign
// chains that would drop forwarded sandbox traffic. A table that does not
// exist gives an empty State.
func (m *Manager) List(ctx context.Context) (State, error) {
	var st State
	err := m.do(ctx, "list", "table inet "+TableName, func(b backend) error {
		elems, _, err := b.list(ctx)
		if err != nil {
			return err
		}
		drops, err := b.forwardDrops(ctx)
		if err != nil {
			return err
		}
		st = buildState(elems)
		if drops != nil {
			st.ForwardDrops = drops
		}
		return nil
	})
	return st, err
}

// ForwardDrops returns the base chains of other tables that hook forward
// with policy drop, such as Docker's. While one exists, sandbox NAT and
// port forwards only work if that chain accepts the sandbox traffic; see
// [ForeignChain.Advice]. Only their chain headers are read, never their
// rules.
func (m *Manager) ForwardDrops(ctx context.Context) ([]ForeignChain, error) {
	var out []ForeignChain
	err := m.do(ctx, "list forward chains", "", func(b backend) error {
		var err error
		out, err = b.forwardDrops(ctx)
		return err
	})
	return out, err
}
