package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/smolvm/smolvm-core/network"
)

func memorySection(r *runner, s *Section) (err error) {
	s.Intro = []string{
		"The peak resident set size (`ru_maxrss` from the child's rusage) of one " +
			"`smolvm-core --netns NS tap prepare " + benchTAP + " --host-ip " + benchHost.String() + " --owner 424242`, " +
			"against the largest of the six `ip` and `sysctl` processes that a shell script runs for the same start; " +
			"the two alternate, and the TAP is deleted after each run. " +
			"Then the Go heap of this process (`runtime.MemStats.HeapInuse` after a garbage collection) with a native " +
			"manager open after it prepared many sandboxes, each with its TAP, address and route. " +
			"The manager keeps no state per sandbox (the kernel holds it), so the heap should not grow with their number; " +
			"the last row also keeps the `ListTAPs` result for all of them, as a runtime that lists its sandboxes would.",
	}
	if r.opts.CLI == "" {
		return errors.New("no smolvm-core binary to measure: build it with go build -o bin/smolvm-core ./cmd/smolvm-core " +
			"and pass its path with --cli")
	}
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()
	m, err := openManager(ns, network.BackendNative)
	if err != nil {
		return err
	}
	defer m.Close()

	t, err := r.cliMemory(ns, m)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, t)
	t, err = r.heapMemory(ns)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, t)
	return nil
}

// cliMemory alternates the CLI and the shell script and returns the table.
func (r *runner) cliMemory(ns string, m *network.Manager) (Table, error) {
	n := r.scale.cliRuns
	r.logf("memory: CLI peak RSS, %s", plural(n, "run"))
	cli := []string{r.opts.CLI, "--netns", ns, "tap", "prepare", benchTAP, "--host-ip", benchHost.String(),
		"--owner", strconv.Itoa(benchOwner)}
	var cliRSS, shellRSS []int64
	var cliTime, shellTime []time.Duration
	for range n {
		rss, d, err := peakRSS(r.ctx, [][]string{cli})
		if err != nil {
			return Table{}, err
		}
		cliRSS, cliTime = append(cliRSS, rss), append(cliTime, d)
		if err := m.DeleteTAP(r.ctx, benchTAP); err != nil {
			return Table{}, err
		}
		if rss, d, err = peakRSS(r.ctx, shellStart(ns)); err != nil {
			return Table{}, err
		}
		shellRSS, shellTime = append(shellRSS, rss), append(shellTime, d)
		if err := m.DeleteTAP(r.ctx, benchTAP); err != nil {
			return Table{}, err
		}
	}
	row := func(name string, rss []int64, d []time.Duration) []string {
		slices.Sort(rss)
		return []string{name, formatCount(len(rss)), formatBytes(rss[len(rss)/2]), formatBytes(rss[len(rss)-1]),
			formatDuration(summarize(d).Median)}
	}
	return Table{
		Caption: "Peak memory of one prepare from the shell:",
		Header:  []string{"process", "runs", "peak RSS, median", "peak RSS, max", "wall time of the whole start, median"},
		Rows: [][]string{
			row("`smolvm-core tap prepare`", cliRSS, cliTime),
			row("largest `ip`/`sysctl` process of the script", shellRSS, shellTime),
		},
	}, nil
}

// peakRSS runs the command lines in turn and returns the largest peak RSS
// among them, in bytes, and the wall time of all of them.
func peakRSS(ctx context.Context, cmds [][]string) (int64, time.Duration, error) {
	var peak int64
	begin := time.Now()
	for _, c := range cmds {
		cmd := exec.CommandContext(ctx, c[0], c[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%s: %w: %s", c, err, out)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, 0, errors.New("no rusage for a child process")
		}
		// Linux reports ru_maxrss in KiB.
		peak = max(peak, ru.Maxrss<<10)
	}
	return peak, time.Since(begin), nil
}

// heapMemory measures this process's heap with a manager open after it
// prepared many sandboxes, and returns the table.
func (r *runner) heapMemory(ns string) (Table, error) {
	n := r.scale.heapTAPs
	r.logf("memory: heap with %s sandboxes prepared", formatCount(n))
	before := heapInUse()
	m, err := openManager(ns, network.BackendNative)
	if err != nil {
		return Table{}, err
	}
	defer m.Close()
	opened := heapInUse()
	names, err := prepareSandboxes(r.ctx, m, n)
	if err != nil {
		return Table{}, err
	}
	prepared := heapInUse()
	taps, err := m.ListTAPs(r.ctx)
	if err != nil {
		return Table{}, err
	}
	listed := heapInUse()
	runtime.KeepAlive(taps)
	if len(taps) != n {
		return Table{}, fmt.Errorf("ListTAPs returned %d TAPs, want %d", len(taps), n)
	}
	if err := m.DeleteTAPs(r.ctx, names); err != nil {
		return Table{}, err
	}

	row := func(state string, heap uint64) []string {
		grown := int64(heap) - int64(before)
		return []string{state, formatBytes(int64(heap)), formatBytes(grown), formatBytes(grown / int64(n))}
	}
	count := formatCount(n)
	return Table{
		Caption: "Go heap of the library (this process):",
		Header:  []string{"state", "`HeapInuse`", "growth over no manager", "growth per sandbox"},
		Rows: [][]string{
			{"no manager", formatBytes(int64(before)), "", ""},
			row("native manager open", opened),
			row("the same after preparing "+count+" sandboxes", prepared),
			row("the same, keeping the `ListTAPs` result for the "+count, listed),
		},
	}, nil
}

// heapInUse collects garbage and returns the bytes in in-use heap spans.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
