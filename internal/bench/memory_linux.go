package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm-core/network"
)

func memorySection(r *runner, s *Section) (err error) {
	s.Intro = []string{
		"The peak resident set size (`ru_maxrss`, as GNU time `%M` prints it) of one " +
			"`smolvm-core --netns NS tap prepare " + benchTAP + " --host-ip " + benchHost.String() + " --owner 424242`, " +
			"against the largest of the six `ip` and `sysctl` processes that a shell script runs for the same start; " +
			"the two alternate, and the TAP is deleted after each run. " +
			"Then the Go heap of this process (`runtime.MemStats.HeapInuse` after a garbage collection) with a " +
			"`sandbox.Manager` (one network and one firewall manager, native) open after it ensured many sandboxes, " +
			"each with its TAP, route, NAT and one port forward. " +
			"The managers keep no state per sandbox, because the kernel holds it. " +
			"The last row also keeps the `List` result for all of them, as a runtime that lists its sandboxes would.",
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
	timeTool, err := exec.LookPath("time")
	if err != nil {
		return Table{}, fmt.Errorf("GNU time is needed to measure peak RSS: %w (apt-get install time)", err)
	}
	n := r.scale.cliRuns
	r.logf("memory: CLI peak RSS, %s", plural(n, "run"))
	cli := []string{r.opts.CLI, "--netns", ns, "tap", "prepare", benchTAP, "--host-ip", benchHost.String(),
		"--owner", strconv.Itoa(benchOwner)}
	var cliRSS, shellRSS []int64
	for range n {
		rss, err := peakRSS(r.ctx, timeTool, [][]string{cli})
		if err != nil {
			return Table{}, err
		}
		cliRSS = append(cliRSS, rss)
		if err := m.DeleteTAP(r.ctx, benchTAP); err != nil {
			return Table{}, err
		}
		if rss, err = peakRSS(r.ctx, timeTool, shellStart(ns)); err != nil {
			return Table{}, err
		}
		shellRSS = append(shellRSS, rss)
		if err := m.DeleteTAP(r.ctx, benchTAP); err != nil {
			return Table{}, err
		}
	}
	row := func(name string, rss []int64) []string {
		slices.Sort(rss)
		return []string{name, formatCount(len(rss)), formatBytes(rss[len(rss)/2]), formatBytes(rss[len(rss)-1])}
	}
	return Table{
		Caption: "Peak memory of one prepare from the shell:",
		Header:  []string{"process", "runs", "peak RSS, median", "peak RSS, max"},
		Rows: [][]string{
			row("`smolvm-core tap prepare`", cliRSS),
			row("largest `ip`/`sysctl` process of the script", shellRSS),
		},
	}, nil
}

// peakRSS runs the command lines in turn under GNU time and returns the
// largest peak RSS among them, in bytes.
//
// The rusage of a child that this process starts directly is no use here:
// Go starts children with vfork semantics, and the kernel counts the
// parent's peak RSS into the child's when the child calls exec. GNU time
// starts the command with fork from its own small process, so the number
// it prints includes only a floor of about 1 MiB (`time true` prints that).
func peakRSS(ctx context.Context, timeTool string, cmds [][]string) (int64, error) {
	dir, err := os.MkdirTemp("", "smolvm-bench-rss-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	report := filepath.Join(dir, "maxrss")

	var peak int64
	for _, c := range cmds {
		args := append([]string{"-f", "%M", "-o", report}, c...)
		if out, err := exec.CommandContext(ctx, timeTool, args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s: %w: %s", c, err, out)
		}
		data, err := os.ReadFile(report)
		if err != nil {
			return 0, err
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("GNU time printed %q for %s, not a size in KiB", data, c)
		}
		peak = max(peak, kib<<10)
	}
	return peak, nil
}

// heapMemory measures this process's heap with a sandbox manager open
// after it ensured many sandboxes, and returns the table.
func (r *runner) heapMemory(ns string) (t Table, err error) {
	n := r.scale.heapSandboxes
	r.logf("memory: heap while holding %s sandboxes", formatCount(n))
	before := heapInUse()
	m, err := openSandboxManager(ns)
	if err != nil {
		return Table{}, err
	}
	defer m.Close()
	opened := heapInUse()
	ensured, listed, taps, err := r.holdSandboxes(m, n)
	if derr := m.Network().DeleteTAPs(context.WithoutCancel(r.ctx), taps); derr != nil {
		err = errors.Join(err, derr)
	}
	if err != nil {
		return Table{}, err
	}

	row := func(state string, heap uint64) []string {
		grown := int64(heap) - int64(before)
		return []string{state, formatBytes(int64(heap)), formatBytes(grown), formatBytes(grown / int64(n))}
	}
	count := formatCount(n)
	return Table{
		Caption: "Go heap of the library (this process):",
		Header:  []string{"state", "`HeapInuse`", "growth over no manager", "growth ÷ " + count},
		Rows: [][]string{
			{"no manager", formatBytes(int64(before)), "", ""},
			row("`sandbox.Manager` open", opened),
			row("the same after `Ensure` of "+count+" sandboxes", ensured),
			row("the same, keeping the `List` result for the "+count, listed),
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
