package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/network"
)

// Options configures a [Manager].
type Options struct {
	// Netns names the network namespace in /run/netns to work in. Empty
	// means the caller's.
	Netns string
	// Backend selects the path of both the network and the firewall
	// managers (see network.Backend).
	Backend network.Backend
	// Logger receives the fallback warnings. Nil means slog.Default().
	Logger *slog.Logger
}

// Manager converges sandbox networks to their specs. It holds one network
// and one firewall manager, each with its one long-lived socket. It is safe
// for concurrent use, for different sandboxes; calls for the same sandbox
// id must not overlap.
type Manager struct {
	net *network.Manager
	fw  *firewall.Manager
}

// New opens the network and firewall managers.
func New(opts Options) (*Manager, error) {
	n, err := network.New(network.Options{Netns: opts.Netns, Backend: opts.Backend, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	fw, err := firewall.New(firewall.Options{Netns: opts.Netns, Backend: firewall.BackendFor(opts.Backend), Logger: opts.Logger})
	if err != nil {
		n.Close()
		return nil, err
	}
	return &Manager{net: n, fw: fw}, nil
}

// Close releases both managers' sockets.
func (m *Manager) Close() error {
	return errors.Join(m.fw.Close(), m.net.Close())
}

// Network returns the manager's network manager, for operations the
// sandbox layer does not cover.
func (m *Manager) Network() *network.Manager { return m.net }

// Firewall returns the manager's firewall manager.
func (m *Manager) Firewall() *firewall.Manager { return m.fw }

// State describes what is installed for one sandbox.
type State struct {
	ID string `json:"id"`
	// TAP is the device's state, or nil when there is none.
	TAP *network.TAPInfo `json:"tap"`
	// Firewall is what the firewall holds for the TAP, or nil.
	Firewall *firewall.TAPState `json:"firewall"`
	// Forwards are the port forwards stored with the TAP.
	Forwards []firewall.Forward `json:"forwards"`
}

// Ensure creates the sandbox's network or converges it to spec, and
// returns the resulting state. Everything that already matches is left
// alone, so a repeated Ensure changes nothing, and a changed spec touches
// only what changed (a new forward adds one map element). The TAP (made by
// PrepareTAP, marked with the id), the route to the guest and TAP-to-TAP
// isolation are always set up; NAT, forwards and the egress limit follow
// the spec.
//
// The spec is validated first, and nothing changes when it is invalid. If a
// step fails, Ensure undoes the changes this call made, in reverse order,
// and returns the step's error joined with any error of the undo. A TAP it
// created is deleted with its firewall entries; a TAP that existed stays.
func (m *Manager) Ensure(ctx context.Context, spec Spec) (State, error) {
	s, err := spec.normalize()
	if err != nil {
		return State{}, err
	}
	var u undoStack
	if err := m.ensure(ctx, s, &u); err != nil {
		return State{}, errors.Join(err, u.run(ctx))
	}
	return m.state(ctx, s.ID, s.TAP)
}

func (m *Manager) ensure(ctx context.Context, s Spec, u *undoStack) error {
	info, err := m.net.TAPInfo(ctx, s.TAP)
	created := errors.Is(err, network.ErrNoDevice)
	if err != nil && !created {
		return err
	}
	if err := m.ensureTAP(ctx, s, info, created); err != nil {
		return err
	}
	if created {
		u.push(func(ctx context.Context) error {
			return errors.Join(m.fw.RemoveSandbox(ctx, s.TAP), m.net.EnsureTAPDeleted(ctx, s.TAP))
		})
	}
	if err := m.net.AddRoute(ctx, netip.PrefixFrom(s.Guest, 32), s.TAP); err != nil {
		return err
	}

	st, err := m.fw.List(ctx)
	if err != nil {
		return err
	}
	have := tapState(st, s.TAP)
	if !have.Isolated {
		if err := m.fw.Isolate(ctx, s.TAP, s.ID); err != nil {
			return err
		}
	}
	if err := m.ensureNAT(ctx, s, have, u); err != nil {
		return err
	}
	if err := m.ensureForwards(ctx, s, st, u); err != nil {
		return err
	}
	return m.ensureEgress(ctx, s, have, u)
}

// ensureTAP creates the TAP, or converges an existing one. An existing TAP
// may be held by the sandbox's running VMM, which CreateTAP would report as
// busy, so it is checked here instead: it must be a persistent
// single-queue TAP with the spec's owner, not marked for another sandbox.
// Then its address, link state and route_localnet are set as PrepareTAP
// would, without reopening the device.
func (m *Manager) ensureTAP(ctx context.Context, s Spec, info network.TAPInfo, create bool) error {
	if create {
		return m.net.PrepareTAP(ctx, s.TAP, s.Owner, s.Host, network.WithSandbox(s.ID))
	}
	op := &network.OpError{Op: "ensure tap", Object: s.TAP}
	switch {
	case info.SandboxID != "" && info.SandboxID != s.ID:
		op.Err = existsError(fmt.Sprintf("tap belongs to sandbox %s", info.SandboxID))
	case !info.Persistent || info.MultiQueue:
		op.Err = existsError("tap exists and is not a persistent single-queue tap")
	case info.Owner != s.Owner:
		op.Err = existsError(fmt.Sprintf("tap exists with owner %d, requested %d", info.Owner, s.Owner))
	}
	if op.Err != nil {
		return op
	}
	if err := m.net.ConfigureTAP(ctx, s.TAP, s.Host); err != nil {
		return err
	}
	return m.net.WriteSysctl(ctx, "net/ipv4/conf/"+s.TAP+"/route_localnet", "1")
}

func (m *Manager) ensureNAT(ctx context.Context, s Spec, have firewall.TAPState, u *undoStack) error {
	for _, addr := range have.NAT {
		if s.NAT && addr == s.Guest {
			continue
		}
		if err := m.fw.RemoveNAT(ctx, s.TAP, addr); err != nil {
			return err
		}
		u.push(func(ctx context.Context) error {
			return m.fw.SetupNAT(ctx, firewall.NAT{TAP: s.TAP, Guest: addr, ID: have.ID})
		})
	}
	if !s.NAT || slices.Contains(have.NAT, s.Guest) {
		return nil
	}
	if err := m.fw.SetupNAT(ctx, firewall.NAT{TAP: s.TAP, Guest: s.Guest, ID: s.ID}); err != nil {
		return err
	}
	u.push(func(ctx context.Context) error { return m.fw.RemoveNAT(ctx, s.TAP, s.Guest) })
	return nil
}

func (m *Manager) ensureForwards(ctx context.Context, s Spec, st firewall.State, u *undoStack) error {
	want := s.forwards()
	for _, f := range st.Forwards {
		if f.TAP != s.TAP {
			continue
		}
		if w, ok := want[f.HostPort]; ok && w == f {
			delete(want, f.HostPort)
			continue
		}
		if err := m.fw.RemoveForward(ctx, f.HostPort); err != nil {
			return err
		}
		u.push(func(ctx context.Context) error { return m.fw.AddForward(ctx, f) })
	}
	ports := make([]uint16, 0, len(want))
	for p := range want {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	for _, p := range ports {
		f := want[p]
		if err := m.fw.AddForward(ctx, f); err != nil {
			return err
		}
		u.push(func(ctx context.Context) error { return m.fw.RemoveForward(ctx, f.HostPort) })
	}
	return nil
}

func (m *Manager) ensureEgress(ctx context.Context, s Spec, have firewall.TAPState, u *undoStack) error {
	restore := func(ctx context.Context) error {
		if have.EgressLimited {
			return m.fw.SetEgress(ctx, s.TAP, have.Egress)
		}
		return m.fw.ClearEgress(ctx, s.TAP)
	}
	switch {
	case s.Egress == nil && have.EgressLimited:
		if err := m.fw.ClearEgress(ctx, s.TAP); err != nil {
			return err
		}
	case s.Egress != nil && (!have.EgressLimited || !samePrefixes(s.Egress, have.Egress)):
		if err := m.fw.SetEgress(ctx, s.TAP, s.Egress); err != nil {
			return err
		}
	default:
		return nil
	}
	u.push(restore)
	return nil
}

// tidy gives the lists of t that are nil an empty value, so JSON shows []
// rather than null. That matters for Egress: null in a Spec means no
// limit, while a limited TAP with no prefixes drops everything.
func tidy(t firewall.TAPState) firewall.TAPState {
	if t.NAT == nil {
		t.NAT = []netip.Addr{}
	}
	if t.EgressLimited && t.Egress == nil {
		t.Egress = []netip.Prefix{}
	}
	if t.HostPorts == nil {
		t.HostPorts = []uint16{}
	}
	return t
}

// tapState returns the firewall state of tap, or the zero state.
func tapState(st firewall.State, tap string) firewall.TAPState {
	for _, t := range st.TAPs {
		if t.TAP == tap {
			return t
		}
	}
	return firewall.TAPState{TAP: tap}
}

// undoStack holds the inverse of each change an Ensure made.
type undoStack []func(context.Context) error

func (u *undoStack) push(f func(context.Context) error) { *u = append(*u, f) }

// run undoes the changes in reverse order, even after ctx has ended, and
// goes on after a failure.
func (u undoStack) run(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return &rollbackError{errors.Join(errs...)}
	}
	return nil
}

// rollbackError wraps the errors of an undo, so the message marks which
// errors came from the rollback.
type rollbackError struct{ err error }

func (e *rollbackError) Error() string { return "roll back: " + e.err.Error() }
func (e *rollbackError) Unwrap() error { return e.err }
