package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Options configures [Run].
type Options struct {
	// Quick runs every section with few samples and small sizes, so that a
	// test can check the code in seconds. Its numbers are not for
	// comparison, and the report carries a warning.
	Quick bool
	// CLI is the path of the smolvm-core binary whose peak memory the
	// memory section measures.
	CLI string
	// Only lists the ids of the sections to run; empty means all of them.
	Only []string
	// Command is the command line printed in the report.
	Command string
	// Progress receives one line per step while the run goes on; nil
	// discards them.
	Progress io.Writer
}

// scale holds the sample counts and sizes of a run.
type scale struct {
	prepareSizes   []int // TAPs present before the measured prepare
	prepareSamples int
	teardownSizes  []int
	// teardownSamples returns the samples per method for n TAPs.
	teardownSamples func(n int) int
	gcTAPs          int
	gcSamples       int
	lookupSamples   int
	qmpRoundTrips   int
	qmpStarts       int
	qmpJobs         int
	sandboxSamples  int
	cliRuns         int
	heapSandboxes   int
	forwardSizes    []int
	forwardSamples  int
	diskSize        int64
	diskSamples     int
}

func newScale(quick bool) scale {
	if quick {
		return scale{
			prepareSizes:    []int{0, 20},
			prepareSamples:  4,
			teardownSizes:   []int{10, 30},
			teardownSamples: func(int) int { return 2 },
			gcTAPs:          30,
			gcSamples:       1,
			lookupSamples:   10,
			qmpRoundTrips:   20,
			qmpStarts:       2,
			qmpJobs:         2,
			sandboxSamples:  3,
			cliRuns:         2,
			heapSandboxes:   30,
			forwardSizes:    []int{10, 100},
			forwardSamples:  4,
			diskSize:        64 << 20,
			diskSamples:     1,
		}
	}
	return scale{
		prepareSizes:    []int{0, 100, 1000},
		prepareSamples:  200,
		teardownSizes:   []int{100, 1000},
		teardownSamples: fullTeardownSamples,
		gcTAPs:          1000,
		gcSamples:       3,
		lookupSamples:   200,
		qmpRoundTrips:   500,
		qmpStarts:       10,
		qmpJobs:         20,
		sandboxSamples:  50,
		cliRuns:         10,
		heapSandboxes:   1000,
		forwardSizes:    []int{10, 1000, 10000},
		forwardSamples:  200,
		diskSize:        1 << 30,
		diskSamples:     5,
	}
}

// fullTeardownSamples returns the samples per method of a full run for n
// TAPs. Deleting 1,000 TAPs one by one took about 20 s on the 2-CPU
// development VM, so large sizes get few.
func fullTeardownSamples(n int) int {
	if n >= 1000 {
		return 3
	}
	return 10
}

// runner carries the state that the sections share.
type runner struct {
	ctx      context.Context
	opts     Options
	scale    scale
	start    time.Time
	progress io.Writer
}

// logf writes one progress line, prefixed with the time since the start.
func (r *runner) logf(format string, args ...any) {
	if r.progress == nil {
		return
	}
	fmt.Fprintf(r.progress, "[%7s] %s\n", time.Since(r.start).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
}

// contender is one way to do the operation a comparison measures.
type contender struct {
	name string
	// run does the operation once and returns the time of its measured
	// part.
	run func(ctx context.Context) (time.Duration, error)
	// reset, when set, undoes what run did. It is not timed.
	reset func(ctx context.Context) error
}

// interleave runs each contender n times, one sample of each per round,
// and rotates the order every round, so that they share the machine's load
// and none is always first. It returns the samples in the order of cs.
func (r *runner) interleave(n int, cs []contender) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(cs))
	for i := range n {
		for j := range cs {
			if err := r.ctx.Err(); err != nil {
				return nil, err
			}
			k := (i + j) % len(cs)
			d, err := cs[k].run(r.ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cs[k].name, err)
			}
			out[k] = append(out[k], d)
			if cs[k].reset == nil {
				continue
			}
			if err := cs[k].reset(r.ctx); err != nil {
				return nil, fmt.Errorf("%s: undo: %w", cs[k].name, err)
			}
		}
	}
	return out, nil
}

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}
