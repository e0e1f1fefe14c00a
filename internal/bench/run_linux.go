package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// sectionDef is one comparison of the report.
type sectionDef struct {
	id    string
	title string
	run   func(r *runner, s *Section) error
}

var sectionDefs = []sectionDef{
	{"prepare", "Prepare one TAP", prepareSection},
	{"teardown", "Teardown and gc of many TAPs", teardownSection},
	{"forward", "Port forwards", forwardSection},
	{"sandbox", "Sandbox start and stop", sandboxSection},
	{"default-interface", "Default interface lookup", lookupSection},
	{"qmp", "QMP", qmpSection},
	{"disk", "Disk image copy", diskSection},
	{"memory", "Memory", memorySection},
}

// SectionIDs returns the ids that Options.Only accepts, in report order.
func SectionIDs() []string {
	ids := make([]string, len(sectionDefs))
	for i, d := range sectionDefs {
		ids[i] = d.id
	}
	return ids
}

// Run runs the comparisons and returns the report. A section that fails
// is recorded in the report with its error, the others still run, and the
// returned error joins the failures. It needs root, because every section
// works in network namespaces that it creates and deletes.
func Run(ctx context.Context, opts Options) (*Report, error) {
	for _, id := range opts.Only {
		if !slices.Contains(SectionIDs(), id) {
			return nil, fmt.Errorf("unknown section %q: the sections are %s", id, strings.Join(SectionIDs(), ", "))
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("benchmarks need root, because they create network namespaces and TAP devices: " +
			"run scripts/bench, or sudo")
	}

	r := &runner{ctx: ctx, opts: opts, scale: newScale(opts.Quick), start: time.Now(), progress: opts.Progress}
	startClock, clockOK := readCPUClock()
	rep := &Report{Start: r.start, Command: opts.Command, Quick: opts.Quick, Machine: collectMachine(ctx)}
	var errs []error
	for _, d := range sectionDefs {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, d.id) {
			continue
		}
		s := &Section{ID: d.id, Title: d.title}
		r.logf("%s: start", d.id)
		begin := time.Now()
		if err := d.run(r, s); err != nil {
			s.Err = err
			errs = append(errs, fmt.Errorf("%s: %w", d.id, err))
			r.logf("%s: failed: %v", d.id, err)
		}
		s.Elapsed = time.Since(begin)
		rep.Sections = append(rep.Sections, s)
		if ctx.Err() != nil {
			break
		}
	}

	rep.Elapsed = time.Since(r.start)
	rep.Machine.LoadEnd = loadAverage()
	if endClock, ok := readCPUClock(); ok && clockOK {
		rep.Machine.OtherCPU, rep.Machine.StealCPU = otherWork(startClock, endClock, rep.Machine.CPUs)
	}
	return rep, errors.Join(errs...)
}
