package sandbox

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/smolvm/smolvm-core/disk"
	"github.com/smolvm/smolvm-core/network"
)

// GCOptions limits what [Manager.GC] removes.
type GCOptions struct {
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// SandboxID limits the collection to one sandbox's TAPs and firewall
	// entries. Empty means everything marked.
	SandboxID string
	// Keep lists sandbox ids that GC leaves alone. A sandbox between
	// Ensure and the start of its VMM has a TAP that no process holds, so
	// a runtime that collects while it starts sandboxes passes their ids.
	Keep []string
	// TempDirs are directories to search for the temporary files that
	// disk.Clone and disk.Decompress left behind (see disk.TempPrefix).
	TempDirs []string
	// TempAge is how long ago such a file must have been last written to
	// count as stale. Zero means DefaultTempAge.
	TempAge time.Duration
}

// DefaultTempAge is the age of a disk temporary file after which GC removes
// it: well above the longest image copy, which writes nothing while it
// skips a long run of zero blocks.
const DefaultTempAge = time.Hour

// GCReport lists what [Manager.GC] found and removed.
type GCReport struct {
	DryRun bool `json:"dry_run"`
	// TAPs is the collection of marked TAPs that no process held.
	TAPs network.Collection `json:"taps"`
	// Firewall names the TAPs whose firewall entries were removed (or would
	// be, on a dry run) because the TAP no longer exists.
	Firewall []string `json:"firewall"`
	// TempFiles are the paths of the stale disk temporary files removed (or
	// found, on a dry run).
	TempFiles []string `json:"temp_files"`
}

// GC removes what crashed runtimes left behind: the marked TAPs that no
// process holds (see network.Manager.CollectTAPs), then the firewall
// entries of every TAP that no longer exists, then the stale temporary
// files of disk copies in opts.TempDirs. It never touches an unmarked
// device, a TAP a running VMM holds, or anything outside smolvm-core's
// nftables table. It goes on after an error and returns every error joined.
func (m *Manager) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	for _, id := range append([]string{opts.SandboxID}, opts.Keep...) {
		if id == "" {
			continue
		}
		if err := network.ValidateSandboxID(id); err != nil {
			return GCReport{}, err
		}
	}
	r := GCReport{DryRun: opts.DryRun, Firewall: []string{}, TempFiles: []string{}}
	var errs []error
	c, err := m.net.CollectTAPs(ctx, network.CollectOptions{DryRun: opts.DryRun, SandboxID: opts.SandboxID, Keep: opts.Keep})
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
		if present[t.TAP] || slices.Contains(r.Firewall, t.TAP) || (opts.SandboxID != "" && t.ID != opts.SandboxID) || slices.Contains(opts.Keep, t.ID) {
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
	files, err := collectTempFiles(opts)
	r.TempFiles = append(r.TempFiles, files...)
	if err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

// collectTempFiles removes (or, on a dry run, lists) the stale disk
// temporary files in opts.TempDirs.
func collectTempFiles(opts GCOptions) ([]string, error) {
	age := opts.TempAge
	if age == 0 {
		age = DefaultTempAge
	}
	var (
		out  []string
		errs []error
	)
	for _, dir := range opts.TempDirs {
		var files []string
		var err error
		if opts.DryRun {
			files, err = disk.StaleTempFiles(dir, age)
		} else {
			files, err = disk.RemoveStaleTempFiles(dir, age)
		}
		out = append(out, files...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}
