package sandbox

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/network"
)

// state reads what is installed for the sandbox id on tap.
func (m *Manager) state(ctx context.Context, id, tap string) (State, error) {
	st := State{ID: id, Forwards: []firewall.Forward{}}
	info, err := m.net.TAPInfo(ctx, tap)
	switch {
	case err == nil:
		st.TAP = &info
	case !errors.Is(err, network.ErrNoDevice):
		return State{}, err
	}
	fw, err := m.fw.List(ctx)
	if err != nil {
		return State{}, err
	}
	for _, t := range fw.TAPs {
		if t.TAP == tap {
			t = tidy(t)
			st.Firewall = &t
		}
	}
	for _, f := range fw.Forwards {
		if f.TAP == tap {
			st.Forwards = append(st.Forwards, f)
		}
	}
	return st, nil
}

// List returns the state of every sandbox: each marked TAP with a sandbox
// id, and each TAP the firewall holds entries for with an id, sorted by id.
func (m *Manager) List(ctx context.Context) ([]State, error) {
	taps, err := m.net.ListTAPs(ctx)
	if err != nil {
		return nil, err
	}
	fw, err := m.fw.List(ctx)
	if err != nil {
		return nil, err
	}

	byTAP := map[string]*State{}
	get := func(tap, id string) *State {
		if s, ok := byTAP[tap]; ok {
			return s
		}
		s := &State{ID: id, Forwards: []firewall.Forward{}}
		byTAP[tap] = s
		return s
	}

	for _, t := range taps {
		if t.SandboxID != "" {
			get(t.Name, t.SandboxID).TAP = &t
		}
	}
	for _, t := range fw.TAPs {
		if s, ok := byTAP[t.TAP]; ok || t.ID != "" {
			if !ok {
				s = get(t.TAP, t.ID)
			}
			t = tidy(t)
			s.Firewall = &t
		}
	}
	for _, f := range fw.Forwards {
		if s, ok := byTAP[f.TAP]; ok {
			s.Forwards = append(s.Forwards, f)
		}
	}

	out := make([]State, 0, len(byTAP))
	for _, s := range byTAP {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Remove removes everything of the sandbox id: the firewall entries of each
// TAP marked with the id (and of TAPName(id), if it exists or has entries),
// then the TAP itself. It is safe to repeat: what is gone already is
// success. It goes on after an error and returns every error joined.
func (m *Manager) Remove(ctx context.Context, id string) error {
	if err := network.ValidateSandboxID(id); err != nil {
		return err
	}
	taps, err := m.tapsOf(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, tap := range taps {
		if err := m.fw.RemoveSandbox(ctx, tap); err != nil {
			errs = append(errs, err)
		}
		if err := m.net.EnsureTAPDeleted(ctx, tap); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tapsOf names the TAPs that belong to the sandbox id: marked with it,
// stored with it in the firewall, or named TAPName(id) while not marked
// for another sandbox.
func (m *Manager) tapsOf(ctx context.Context, id string) ([]string, error) {
	taps, err := m.net.ListTAPs(ctx)
	if err != nil {
		return nil, err
	}
	fw, err := m.fw.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(tap string) {
		if !slices.Contains(out, tap) {
			out = append(out, tap)
		}
	}
	derived := TAPName(id)
	for _, t := range taps {
		if t.SandboxID == id || (t.Name == derived && t.SandboxID == "") {
			add(t.Name)
		}
	}
	for _, t := range fw.TAPs {
		if t.ID == id || t.TAP == derived {
			add(t.TAP)
		}
	}
	return out, nil
}
