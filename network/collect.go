package network

import (
	"context"
	"slices"
	"strconv"
)

// ListTAPs returns every TAP device in the manager's namespace, marked or
// not, as `ip -details link show type tun` lists them.
func (m *Manager) ListTAPs(ctx context.Context) ([]TAPInfo, error) {
	var taps []TAPInfo
	err := m.do(ctx, "list taps", "", func(b backend) error {
		var err error
		taps, err = b.listTAPs(ctx)
		return err
	})
	return taps, err
}

// DeleteTAPs deletes the named TAPs with one kernel deletion for the whole
// batch, as `ip link delete group N` does after moving them into an unused
// interface group. That matters at scale: the kernel waits for readers once
// per deletion (about 15 to 20 ms on the development machine), so one
// deletion of 1,000 devices costs a fraction of 1,000 single ones.
//
// Absent names are skipped, so a teardown can be repeated. A device that is
// not a TAP, or one that cannot be moved, is left in place with an error.
// The others are still deleted, and the errors come back joined. A process
// still attached to a TAP loses it, as with [Manager.DeleteTAP]. Every name
// is validated before anything changes.
func (m *Manager) DeleteTAPs(ctx context.Context, names []string) error {
	for _, name := range names {
		if err := ValidateInterfaceName(name); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		return nil
	}
	return m.do(ctx, "delete taps", strconv.Itoa(len(names))+" devices", func(b backend) error {
		return b.deleteTAPs(ctx, names)
	})
}

// CollectOptions limits what [Manager.CollectTAPs] removes.
type CollectOptions struct {
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// SandboxID limits the collection to the TAPs marked for that sandbox.
	// Empty means every marked TAP.
	SandboxID string
	// Keep lists sandbox ids whose TAPs are never collected, such as
	// sandboxes whose VMM has not started yet: their TAPs are not held, so
	// they would otherwise count as left behind.
	Keep []string
}

// Collection is the result of [Manager.CollectTAPs].
type Collection struct {
	// Found lists the marked TAPs that no process held when listed.
	Found []TAPInfo `json:"found"`
	// Removed names the TAPs deleted, none on a dry run.
	Removed []string `json:"removed"`
	// Held names the marked TAPs left in place because a process, such as
	// a running VMM, holds them.
	Held []string `json:"held"`
}

// CollectTAPs deletes the TAPs that carry smolvm-core's mark (see
// [MarkAlias]) and that no process holds, such as those a crashed runtime
// left behind. It never touches an unmarked device. It attaches to each
// candidate before deleting it: the kernel refuses that while a VMM holds
// the device, and once attached no VMM can take it, so a TAP in use is never
// deleted. The native path deletes the candidates as one batch.
func (m *Manager) CollectTAPs(ctx context.Context, opts CollectOptions) (Collection, error) {
	for _, id := range append([]string{opts.SandboxID}, opts.Keep...) {
		if id == "" {
			continue
		}
		if err := ValidateSandboxID(id); err != nil {
			return Collection{}, err
		}
	}
	var c Collection
	err := m.do(ctx, "collect taps", opts.SandboxID, func(b backend) error {
		c = Collection{Found: []TAPInfo{}, Removed: []string{}, Held: []string{}}
		taps, err := b.listTAPs(ctx)
		if err != nil {
			return err
		}
		var names []string
		for _, t := range taps {
			if !t.Marked || (opts.SandboxID != "" && t.SandboxID != opts.SandboxID) || slices.Contains(opts.Keep, t.SandboxID) {
				continue
			}
			if t.Carrier {
				c.Held = append(c.Held, t.Name)
				continue
			}
			c.Found = append(c.Found, t)
			names = append(names, t.Name)
		}
		if opts.DryRun || len(names) == 0 {
			return nil
		}
		removed, held, err := b.reclaimTAPs(ctx, names)
		c.Removed = append(c.Removed, removed...)
		c.Held = append(c.Held, held...)
		return err
	})
	return c, err
}
