package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smolvm/smolvm-core/network"
)

// teardownGoal is the goal for deleting 1,000 TAPs in bulk.
const teardownGoal = time.Second

func teardownSection(r *runner, s *Section) error {
	s.Intro = []string{
		"Deleting many sandboxes' TAPs, each prepared first (untimed) with its address and guest route and marked " +
			"with its sandbox id, in a fresh namespace per size: one `DeleteTAP` per TAP, against one `DeleteTAPs` " +
			"for all of them, which moves them into an unused interface group and deletes the group with one " +
			"`RTM_DELLINK` (as `ip link delete group N` does). The two methods alternate sample by sample. " +
			"`gc` is `CollectTAPs` over the same kind of leaked sandboxes: it lists the marked TAPs, attaches to each " +
			"to prove that no VMM holds it, and deletes them in one batch.",
	}
	t := Table{Header: []string{"TAPs", "method", "samples", "median", "p90", "median per TAP", "goal"}}
	sizes := r.scale.teardownSizes
	for _, size := range sizes {
		rows, err := r.teardownAt(s, size, size == sizes[len(sizes)-1])
		if err != nil {
			return fmt.Errorf("%s TAPs: %w", formatCount(size), err)
		}
		t.Rows = append(t.Rows, rows...)
	}
	row, err := r.collectAt(r.scale.gcTAPs, r.scale.gcSamples)
	if err != nil {
		return fmt.Errorf("gc over %s TAPs: %w", formatCount(r.scale.gcTAPs), err)
	}
	t.Rows = append(t.Rows, row)
	s.Tables = append(s.Tables, t)
	s.Notes = append(s.Notes, "A single deletion waits for the kernel's RCU grace period before it returns; "+
		"a batch waits once for all its devices, which is why the bulk path's time per TAP falls as the batch grows. "+
		"Large one-by-one teardowns take long, so they have few samples, and with fewer than ten samples "+
		"the p90 is the slowest sample.")
	return nil
}

// teardownAt measures both methods on size TAPs and returns the table rows.
// With goal set it records the bulk goal for this size.
func (r *runner) teardownAt(s *Section, size int, goal bool) (rows [][]string, err error) {
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()
	m, err := openManager(ns, network.BackendNative)
	if err != nil {
		return nil, err
	}
	defer m.Close()

	n := r.scale.teardownSamples(size)
	r.logf("teardown: %s TAPs, %s per method", formatCount(size), plural(n, "sample"))
	oneByOne := func(ctx context.Context, names []string) error {
		for _, name := range names {
			if err := m.DeleteTAP(ctx, name); err != nil {
				return err
			}
		}
		return nil
	}
	cs := []contender{
		{name: "one by one (`DeleteTAP`)", run: teardownRun(m, size, oneByOne)},
		{name: "bulk (`DeleteTAPs`)", run: teardownRun(m, size, m.DeleteTAPs)},
	}
	samples, err := r.interleave(n, cs)
	if err != nil {
		return nil, err
	}

	single, bulk := summarize(samples[0]), summarize(samples[1])
	for i, sum := range []Summary{single, bulk} {
		row := []string{formatCount(size), cs[i].name, formatCount(sum.N), formatDuration(sum.Median),
			formatDuration(sum.P90), formatDuration(sum.Median / time.Duration(size)), ""}
		rows = append(rows, row)
	}
	rows[1][6] = fmt.Sprintf("%s faster than one by one", formatRatio(ratio(single.Median, bulk.Median)))
	if goal {
		met := bulk.Median <= teardownGoal
		rows[1][6] = fmt.Sprintf("≤ %s: %s; %s", formatDuration(teardownGoal), verdict(met), rows[1][6])
		s.addGoal(fmt.Sprintf("bulk teardown of %s TAPs ≤ %s", formatCount(size), formatDuration(teardownGoal)),
			formatDuration(bulk.Median)+" median", met)
	}
	return rows, nil
}

// teardownRun returns a contender's run: prepare size sandboxes, untimed,
// then time remove on their names and check that no TAP is left.
func teardownRun(m *network.Manager, size int, remove func(context.Context, []string) error) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		names, err := prepareSandboxes(ctx, m, size)
		if err != nil {
			return 0, err
		}
		d, err := timed(func() error { return remove(ctx, names) })
		if err != nil {
			return 0, err
		}
		return d, checkNoTAPs(ctx, m)
	}
}

// checkNoTAPs fails when a TAP is left in the manager's namespace.
func checkNoTAPs(ctx context.Context, m *network.Manager) error {
	left, err := m.ListTAPs(ctx)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("%d TAPs are left after the teardown, the first %s", len(left), left[0].Name)
	}
	return nil
}

// collectAt times CollectTAPs over size leaked sandboxes and returns the
// table row.
func (r *runner) collectAt(size, n int) (row []string, err error) {
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()
	m, err := openManager(ns, network.BackendNative)
	if err != nil {
		return nil, err
	}
	defer m.Close()

	r.logf("teardown: gc over %s leaked TAPs, %s", formatCount(size), plural(n, "sample"))
	collect := func(ctx context.Context, names []string) error {
		c, err := m.CollectTAPs(ctx, network.CollectOptions{})
		if err == nil && len(c.Removed) != len(names) {
			err = fmt.Errorf("gc removed %d TAPs of %d leaked", len(c.Removed), len(names))
		}
		return err
	}
	samples, err := r.interleave(n, []contender{{name: "gc", run: teardownRun(m, size, collect)}})
	if err != nil {
		return nil, err
	}
	sum := summarize(samples[0])
	return []string{formatCount(size), "gc (`CollectTAPs`)", formatCount(sum.N), formatDuration(sum.Median),
		formatDuration(sum.P90), formatDuration(sum.Median / time.Duration(size)), ""}, nil
}
