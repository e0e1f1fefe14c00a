package sandbox

import (
	"context"
	"errors"
	"slices"

	"github.com/smolvm/smolvm-core/network"
)

// GCOptions limits what [Manager.GC] removes.
type GCOptions struct {
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
}

// GCReport is what [Manager.GC] found and removed.
type GCReport struct {
	DryRun bool `json:"dry_run"`
	// TAPs is the collection of marked TAPs that no process held.
	TAPs network.Collection `json:"taps"`
	// Firewall names the TAPs whose firewall entries were removed (or would
	// be, on a dry run) because the TAP no longer exists.
	Firewall []string `json:"firewall"`
}

// GC removes what crashed runtimes left behind: the marked TAPs that no
// process holds (see network.Manager.CollectTAPs), then the firewall
// entries of every TAP that no longer exists. It never touches an unmarked
// device, a TAP a running VMM holds, or anything outside smolvm-core's
// nftables table. It goes on after an error and returns every error joined.
func (m *Manager) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	r := GCReport{DryRun: opts.DryRun, Firewall: []string{}}
	var errs []error
	c, err := m.net.CollectTAPs(ctx, network.CollectOptions{DryRun: opts.DryRun})
	r.TAPs = c
	if err != nil {
		errs = append(errs, err)
	}

	taps, err := m.net.ListTAPs(ctx)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	present := map[string]bool{}
	for _, t := range taps {
		present[t.Name] = true
	}
	if opts.DryRun {
		for _, t := range c.Found {
			present[t.Name] = false
		}
	}
	fw, err := m.fw.List(ctx)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	for _, t := range fw.TAPs {
		if present[t.TAP] || slices.Contains(r.Firewall, t.TAP) {
			continue
		}
		r.Firewall = append(r.Firewall, t.TAP)
		if opts.DryRun {
			continue
		}
		if err := m.fw.RemoveSandbox(ctx, t.TAP); err != nil {
			errs = append(errs, err)
		}
	}
	return r, errors.Join(errs...)
}
