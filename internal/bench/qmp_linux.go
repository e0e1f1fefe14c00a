package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/smolvm/smolvm-core/qmp"
)

// Goals of the QMP comparisons.
const (
	qmpRatioGoal = 1.1
	qmpJobGoal   = 5 * time.Millisecond
)

var rawQueryStatus = []byte(`{"execute": "query-status", "id": "raw"}` + "\n")

// qmpBench holds what the QMP comparisons share.
type qmpBench struct {
	qemu, img string
	dir       string
}

func qmpSection(r *runner, s *Section) (err error) {
	s.Intro = []string{
		"Real QEMU (`qemu-system-x86_64 -machine none -accel tcg -nodefaults -display none`) with QMP monitors " +
			"on Unix sockets in a temp directory and, for the job, a 64 MiB qcow2 disk. " +
			"The round trip is one `query-status` through `qmp.Client` against the same command on a second monitor of " +
			"the same QEMU through a bare socket: one write and one line read, with no id matching or decoding. " +
			"The session start is the time from starting QEMU to a negotiated session: `qmp.Dial`, which retries a " +
			"missing socket with a backoff from 5 ms to 250 ms, against a bare client that polls every millisecond; " +
			"the two alternate, each with a fresh QEMU. " +
			"The job latency is the time from QEMU's timestamp on the `JOB_STATUS_CHANGE` event that concludes a " +
			"`snapshot-save` job to `SnapshotSave` returning; QEMU stamps events in microseconds of the host's clock.",
	}
	b := &qmpBench{}
	if b.qemu, err = exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("%w (apt-get install qemu-system-x86)", err)
	}
	if b.img, err = exec.LookPath("qemu-img"); err != nil {
		return fmt.Errorf("%w (apt-get install qemu-utils)", err)
	}
	if b.dir, err = os.MkdirTemp("", "smolvm-bench-qmp-"); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(b.dir)) }()

	if err := b.roundTrips(r, s); err != nil {
		return fmt.Errorf("round trip: %w", err)
	}
	if err := b.sessionStart(r, s); err != nil {
		return fmt.Errorf("session start: %w", err)
	}
	if err := b.jobLatency(r, s); err != nil {
		return fmt.Errorf("job: %w", err)
	}
	return nil
}

func (b *qmpBench) roundTrips(r *runner, s *Section) error {
	args, sockets := qemuArgs(b.dir, "rt", 2, "")
	q, err := startQEMU(b.qemu, args, sockets)
	if err != nil {
		return err
	}
	defer q.stop()
	client, err := b.dial(r.ctx, q)
	if err != nil {
		return err
	}
	defer client.Close()
	raw, err := dialRaw(r.ctx, q.sockets[1])
	if err != nil {
		return err
	}
	defer raw.close()

	n := r.scale.qmpRoundTrips
	r.logf("qmp: query-status round trips, %s per path", plural(n, "sample"))
	cs := []contender{
		{name: "`qmp.Client.QueryStatus`", run: func(ctx context.Context) (time.Duration, error) {
			return timed(func() error {
				_, err := client.QueryStatus(ctx)
				return err
			})
		}},
		{name: "bare socket write and read", run: func(context.Context) (time.Duration, error) {
			return timed(func() error { return raw.roundTrip(rawQueryStatus) })
		}},
	}
	if _, err := r.interleave(10, cs); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	samples, err := r.interleave(n, cs)
	if err != nil {
		return err
	}
	ours, bare := summarize(samples[0]), summarize(samples[1])
	rt := ratio(ours.Median, bare.Median)
	met := rt <= qmpRatioGoal
	t := Table{
		Caption: "`query-status` round trip:",
		Header:  []string{"path", "samples", "median", "p90", "ours ÷ bare", "goal"},
		Rows: [][]string{
			{cs[0].name, formatCount(ours.N), formatDuration(ours.Median), formatDuration(ours.P90),
				formatRatio(rt), fmt.Sprintf("≤ %.1f×: %s", qmpRatioGoal, verdict(met))},
			{cs[1].name, formatCount(bare.N), formatDuration(bare.Median), formatDuration(bare.P90), "", ""},
		},
	}
	s.Tables = append(s.Tables, t)
	s.addGoal(fmt.Sprintf("QMP round trip through the client ≤ %.1f× a bare socket loop", qmpRatioGoal),
		fmt.Sprintf("%s (%s against %s)", formatRatio(rt), formatDuration(ours.Median), formatDuration(bare.Median)), met)
	return nil
}

// dial connects the client to q's first monitor.
func (b *qmpBench) dial(ctx context.Context, q *qemuProc) (*qmp.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, q.sockets[0], &qmp.Options{ProcessID: q.cmd.Process.Pid})
	if err != nil {
		return nil, fmt.Errorf("%w; qemu printed: %s", err, q.output.String())
	}
	return c, nil
}

// connectFunc connects to q and returns the function that closes the
// session.
type connectFunc func(ctx context.Context, q *qemuProc) (func() error, error)

func (b *qmpBench) sessionStart(r *runner, s *Section) error {
	var (
		running *qemuProc
		count   int
	)
	// start starts a fresh QEMU and returns the time from its start until
	// connect has a negotiated session. It leaves QEMU running for stop.
	start := func(ctx context.Context, connect connectFunc) (time.Duration, error) {
		count++
		args, sockets := qemuArgs(b.dir, "start"+strconv.Itoa(count), 1, "")
		begin := time.Now()
		q, err := startQEMU(b.qemu, args, sockets)
		if err != nil {
			return 0, err
		}
		closeSession, err := connect(ctx, q)
		d := time.Since(begin)
		if err != nil {
			q.stop()
			return 0, err
		}
		running = q
		return d, closeSession()
	}
	stop := func(context.Context) error {
		running.stop()
		return os.Remove(running.sockets[0])
	}

	dialClient := func(ctx context.Context, q *qemuProc) (func() error, error) {
		c, err := b.dial(ctx, q)
		if err != nil {
			return nil, err
		}
		return c.Close, nil
	}
	dialBare := func(ctx context.Context, q *qemuProc) (func() error, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		m, err := dialRaw(ctx, q.sockets[0])
		if err != nil {
			return nil, err
		}
		return m.close, nil
	}
	cs := []contender{
		{name: "`qmp.Dial`", reset: stop, run: func(ctx context.Context) (time.Duration, error) {
			return start(ctx, dialClient)
		}},
		{name: "bare socket polled every 1 ms", reset: stop, run: func(ctx context.Context) (time.Duration, error) {
			return start(ctx, dialBare)
		}},
	}

	n := r.scale.qmpStarts
	r.logf("qmp: session start, %s per path", plural(n, "sample"))
	samples, err := r.interleave(n, cs)
	if err != nil {
		return err
	}
	t := comparisonTable(cs, samples, 0)
	t.Caption = "From starting QEMU to a negotiated session:"
	t.Header[len(t.Header)-1] = "bare ÷ ours"
	s.Tables = append(s.Tables, t)
	return nil
}

func (b *qmpBench) jobLatency(r *runner, s *Section) error {
	disk := filepath.Join(b.dir, "disk.qcow2")
	if err := createImage(r.ctx, b.img, disk, 64<<20); err != nil {
		return err
	}
	args, sockets := qemuArgs(b.dir, "job", 1, disk)
	q, err := startQEMU(b.qemu, args, sockets)
	if err != nil {
		return err
	}
	defer q.stop()
	client, err := b.dial(r.ctx, q)
	if err != nil {
		return err
	}
	defer client.Close()

	var calls []time.Duration
	job := contender{
		name: "snapshot-save",
		run: func(ctx context.Context) (time.Duration, error) {
			latency, call, err := snapshotLatency(ctx, client)
			calls = append(calls, call)
			return latency, err
		},
		reset: func(ctx context.Context) error {
			_, err := client.SnapshotDelete(ctx, qmp.SnapshotArgs{Tag: "bench", Devices: []string{"disk0"}})
			return err
		},
	}
	n := r.scale.qmpJobs
	r.logf("qmp: job latency, %s", plural(n, "sample"))
	samples, err := r.interleave(n, []contender{job})
	if err != nil {
		return err
	}
	sum, call := summarize(samples[0]), summarize(calls)
	met := sum.Median < qmpJobGoal
	s.Tables = append(s.Tables, Table{
		Caption: "From the job's concluding event to the waiter returning:",
		Header:  []string{"job", "samples", "median", "p90", "goal", "whole `SnapshotSave` call, median"},
		Rows: [][]string{{"`snapshot-save` of the VM state and disk0", formatCount(sum.N), formatDuration(sum.Median),
			formatDuration(sum.P90), fmt.Sprintf("< %s: %s", formatDuration(qmpJobGoal), verdict(met)), formatDuration(call.Median)}},
	})
	s.addGoal("QMP job waiter returns < "+formatDuration(qmpJobGoal)+" after the concluding event",
		formatDuration(sum.Median)+" median, "+formatDuration(sum.P90)+" p90", met)
	s.Notes = append(s.Notes, "After the concluding event the waiter makes two more round trips, "+
		"`query-jobs` to read the job's error text and `job-dismiss`, so its latency is about two round trips.")
	return nil
}

// snapshotLatency runs one snapshot-save and returns the time from QEMU's
// timestamp on the concluding event to SnapshotSave returning, and the
// time of the whole call.
func snapshotLatency(ctx context.Context, c *qmp.Client) (latency, call time.Duration, err error) {
	sub, err := c.Subscribe(qmp.EventFilter{Names: []string{"JOB_STATUS_CHANGE"}, Data: map[string]any{"status": qmp.JobConcluded}})
	if err != nil {
		return 0, 0, err
	}
	defer sub.Close()
	begin := time.Now()
	if _, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{Tag: "bench", VMState: "disk0", Devices: []string{"disk0"}}); err != nil {
		return 0, 0, err
	}
	returned := time.Now()
	select {
	case ev := <-sub.Events():
		return returned.Sub(ev.Time), returned.Sub(begin), nil
	case <-time.After(10 * time.Second):
		return 0, 0, errors.New("no concluding JOB_STATUS_CHANGE event within 10 s of the job's end")
	}
}
