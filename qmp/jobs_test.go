package qmp_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// fakeJobs simulates QEMU's job commands on a fake server. A started job
// steps through statuses on its own goroutine, like a QEMU job running
// in the background.
type fakeJobs struct {
	statuses []string      // statuses after "created"; the last one stays
	errText  string        // error of the concluded job
	events   bool          // send JOB_STATUS_CHANGE for each status
	step     time.Duration // pause between statuses

	mu   sync.Mutex
	jobs map[string]map[string]any
	wg   sync.WaitGroup
}

func (f *fakeJobs) server(t *testing.T) *qmptest.Server {
	f.jobs = make(map[string]map[string]any)
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"snapshot-save": f.start,
		"query-jobs":    f.query,
		"job-dismiss":   f.dismiss,
	}})
	t.Cleanup(f.wg.Wait)
	return srv
}

func (f *fakeJobs) start(c *qmptest.Conn, req qmptest.Request) {
	var args struct {
		JobID string `json:"job-id"`
	}
	json.Unmarshal(req.Arguments, &args)
	f.set(c, args.JobID, "created")
	c.Reply(req, struct{}{})

	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for _, s := range f.statuses {
			time.Sleep(f.step)
			f.set(c, args.JobID, s)
		}
	}()
}

func (f *fakeJobs) set(c *qmptest.Conn, id, status string) {
	f.mu.Lock()
	job := map[string]any{"id": id, "type": "snapshot-save", "status": status, "current-progress": 1, "total-progress": 1}
	if status == qmp.JobConcluded && f.errText != "" {
		job["error"] = f.errText
	}
	if status == qmp.JobNull {
		delete(f.jobs, id)
	} else {
		f.jobs[id] = job
	}
	f.mu.Unlock()
	if f.events {
		c.Event("JOB_STATUS_CHANGE", map[string]string{"id": id, "status": status})
	}
}

func (f *fakeJobs) query(c *qmptest.Conn, req qmptest.Request) {
	f.mu.Lock()
	list := []map[string]any{}
	for _, j := range f.jobs {
		list = append(list, j)
	}
	f.mu.Unlock()
	c.Reply(req, list)
}

func (f *fakeJobs) dismiss(c *qmptest.Conn, req qmptest.Request) {
	var args struct {
		ID string `json:"id"`
	}
	json.Unmarshal(req.Arguments, &args)
	f.mu.Lock()
	job, ok := f.jobs[args.ID]
	if ok && job["status"] == qmp.JobConcluded {
		delete(f.jobs, args.ID)
	}
	f.mu.Unlock()
	switch {
	case !ok:
		c.ReplyError(req, "GenericError", "Job not found")
	case job["status"] != qmp.JobConcluded:
		c.ReplyError(req, "GenericError", "Job is not concluded")
	default:
		c.Reply(req, struct{}{})
		if f.events {
			c.Event("JOB_STATUS_CHANGE", map[string]string{"id": args.ID, "status": qmp.JobNull})
		}
	}
}

func (f *fakeJobs) remaining() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

var slowStatuses = []string{"running", "waiting", "pending", "aborting", "running", qmp.JobConcluded}

func TestWaitJob(t *testing.T) {
	tests := []struct {
		name     string
		jobs     *fakeJobs
		poll     time.Duration
		wantErr  error
		wantDesc string
	}{
		{
			name: "events only",
			jobs: &fakeJobs{statuses: slowStatuses, events: true, step: time.Millisecond},
			poll: time.Hour,
		},
		{
			name: "polling only",
			jobs: &fakeJobs{statuses: slowStatuses, step: time.Millisecond},
			poll: 5 * time.Millisecond,
		},
		{
			name:     "job failed",
			jobs:     &fakeJobs{statuses: []string{"running", "aborting", qmp.JobConcluded}, errText: "Device 'nodisk' not found", events: true, step: time.Millisecond},
			poll:     time.Hour,
			wantErr:  qmp.ErrJobFailed,
			wantDesc: "Device 'nodisk' not found",
		},
		{
			name: "already concluded",
			jobs: &fakeJobs{statuses: []string{qmp.JobConcluded}},
			poll: time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.jobs.server(t)
			c := dial(t, srv, &qmp.Options{JobPollInterval: tt.poll})

			job, err := c.SnapshotSave(testContext(t), qmp.SnapshotArgs{JobID: "j1", Tag: "t", VMState: "d", Devices: []string{"d"}})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("SnapshotSave: %v", err)
			}
			if tt.wantErr != nil {
				var jerr *qmp.JobError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &jerr) {
					t.Fatalf("SnapshotSave error = %v, want a *qmp.JobError matching %v", err, tt.wantErr)
				}
				want := qmp.JobError{ID: "j1", Type: "snapshot-save", Status: qmp.JobConcluded, Desc: tt.wantDesc, Socket: srv.SocketPath()}
				if diff := cmp.Diff(want, *jerr, cmpopts.IgnoreUnexported(qmp.JobError{})); diff != "" {
					t.Errorf("JobError (-want +got):\n%s", diff)
				}
			}
			if err == nil && (job.ID != "j1" || job.Status != qmp.JobConcluded) {
				t.Errorf("job = %+v, want j1 concluded", job)
			}
			if n := tt.jobs.remaining(); n != 0 {
				t.Errorf("%d jobs left, want the waiter to dismiss the concluded job", n)
			}
		})
	}
}

func TestWaitJobNotFound(t *testing.T) {
	jobs := &fakeJobs{}
	srv := jobs.server(t)
	c := dial(t, srv, nil)

	_, err := c.WaitJob(testContext(t), "missing")
	var jerr *qmp.JobError
	if !errors.Is(err, qmp.ErrJobNotFound) || !errors.As(err, &jerr) || jerr.ID != "missing" {
		t.Errorf("WaitJob error = %v, want a *qmp.JobError for missing matching ErrJobNotFound", err)
	}
	if diff := cmp.Diff([]string{"qmp_capabilities", "query-jobs"}, srv.Commands()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}

func TestWaitJobDismissedElsewhere(t *testing.T) {
	jobs := &fakeJobs{statuses: []string{"running", qmp.JobNull}, events: true, step: time.Millisecond}
	srv := jobs.server(t)
	c := dial(t, srv, &qmp.Options{JobPollInterval: time.Hour})

	_, err := c.SnapshotSave(testContext(t), qmp.SnapshotArgs{Tag: "t"})
	if !errors.Is(err, qmp.ErrJobNotFound) {
		t.Errorf("SnapshotSave error = %v, want ErrJobNotFound for a job that vanished", err)
	}
}

func TestWaitJobContextEnds(t *testing.T) {
	jobs := &fakeJobs{statuses: []string{"running"}}
	srv := jobs.server(t)
	c := dial(t, srv, &qmp.Options{JobPollInterval: 5 * time.Millisecond})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{Tag: "t"})
	for _, target := range []error{qmp.ErrTimeout, context.DeadlineExceeded} {
		if !errors.Is(err, target) {
			t.Errorf("SnapshotSave error = %v, want it to match %v", err, target)
		}
	}
}

func TestJobIDs(t *testing.T) {
	jobs := &fakeJobs{statuses: []string{qmp.JobConcluded}}
	srv := jobs.server(t)
	c := dial(t, srv, nil)
	ctx := testContext(t)

	seen := map[string]bool{}
	for range 3 {
		job, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{Tag: "t"})
		if err != nil {
			t.Fatalf("SnapshotSave: %v", err)
		}
		if !strings.HasPrefix(job.ID, "smolvm-snapshot-save-") || seen[job.ID] {
			t.Errorf("generated job id %q, want a new id starting with smolvm-snapshot-save-", job.ID)
		}
		seen[job.ID] = true
	}

	for name, call := range map[string]func() error{
		"WaitJob":    func() error { _, err := c.WaitJob(ctx, ""); return err },
		"JobDismiss": func() error { return c.JobDismiss(ctx, "") },
		"JobCancel":  func() error { return c.JobCancel(ctx, "") },
	} {
		if err := call(); err == nil {
			t.Errorf("%s with an empty job id succeeded, want an error", name)
		}
	}
	for _, cmd := range srv.Commands() {
		if cmd == "job-cancel" {
			t.Error("job-cancel was sent with an empty id")
		}
	}
}
