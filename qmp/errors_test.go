package qmp_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// TestErrorsMatchSentinels provokes each sentinel through the public API
// and checks errors.Is and errors.As on the result.
func TestErrorsMatchSentinels(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"hang":       func(c *qmptest.Conn, req qmptest.Request) {},
		"bad-reply":  func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine(`{"id": ` + string(req.ID) + `}`) },
		"huge":       func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, bigString(8192)) },
		"drop":       func(c *qmptest.Conn, req qmptest.Request) { c.Close() },
		"query-jobs": func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, []any{}) },
	}})
	jobs := &fakeJobs{statuses: []string{qmp.JobConcluded}, errText: "boom"}
	jobSrv := jobs.server(t)

	shortCtx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}

	tests := []struct {
		name    string
		call    func(t *testing.T) error
		targets []error
		as      func(error) bool
	}{
		{
			name: "closed",
			call: func(t *testing.T) error {
				c := dial(t, srv, nil)
				c.Close()
				return c.Stop(testContext(t))
			},
			targets: []error{qmp.ErrClosed},
		},
		{
			name:    "disconnected",
			call:    func(t *testing.T) error { _, err := dial(t, srv, nil).Execute(testContext(t), "drop", nil); return err },
			targets: []error{qmp.ErrDisconnected},
		},
		{
			name:    "timeout",
			call:    func(t *testing.T) error { _, err := dial(t, srv, nil).Execute(shortCtx(), "hang", nil); return err },
			targets: []error{qmp.ErrTimeout, context.DeadlineExceeded},
		},
		{
			name: "protocol",
			call: func(t *testing.T) error {
				_, err := dial(t, srv, nil).Execute(testContext(t), "bad-reply", nil)
				return err
			},
			targets: []error{qmp.ErrProtocol},
		},
		{
			name: "greeting",
			call: func(t *testing.T) error {
				_, err := qmp.Dial(testContext(t), qmptest.NewServer(t, qmptest.Config{Greeting: "hello"}).SocketPath(), nil)
				return err
			},
			targets: []error{qmp.ErrGreeting},
		},
		{
			name: "negotiation",
			call: func(t *testing.T) error {
				s := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
					"qmp_capabilities": func(c *qmptest.Conn, req qmptest.Request) { c.ReplyError(req, "GenericError", "no") },
				}})
				_, err := qmp.Dial(testContext(t), s.SocketPath(), nil)
				return err
			},
			targets: []error{qmp.ErrNegotiation},
			as:      func(err error) bool { var e *qmp.Error; return errors.As(err, &e) },
		},
		{
			name: "message too large",
			call: func(t *testing.T) error {
				_, err := dial(t, srv, &qmp.Options{MaxLineSize: 1024}).Execute(testContext(t), "huge", nil)
				return err
			},
			targets: []error{qmp.ErrMessageTooLarge},
		},
		{
			name: "monitor busy",
			call: func(t *testing.T) error {
				_, err := qmp.Dial(shortCtx(), qmptest.NewServer(t, qmptest.Config{NoGreeting: true}).SocketPath(), nil)
				return err
			},
			targets: []error{qmp.ErrMonitorBusy, qmp.ErrTimeout, context.DeadlineExceeded},
		},
		{
			name: "process exited",
			call: func(t *testing.T) error {
				_, err := qmp.Dial(testContext(t), refusingSocket(t), &qmp.Options{ProcessID: exitedPID(t)})
				return err
			},
			targets: []error{qmp.ErrProcessExited},
		},
		{
			name:    "command not found",
			call:    func(t *testing.T) error { _, err := dial(t, srv, nil).Execute(testContext(t), "nope", nil); return err },
			targets: []error{qmp.ErrCommandNotFound},
			as:      func(err error) bool { var e *qmp.Error; return errors.As(err, &e) && e.Class == "CommandNotFound" },
		},
		{
			name: "job failed",
			call: func(t *testing.T) error {
				_, err := dial(t, jobSrv, nil).SnapshotSave(testContext(t), qmp.SnapshotArgs{Tag: "t"})
				return err
			},
			targets: []error{qmp.ErrJobFailed},
			as:      func(err error) bool { var e *qmp.JobError; return errors.As(err, &e) && e.Desc == "boom" },
		},
		{
			name:    "job not found",
			call:    func(t *testing.T) error { _, err := dial(t, srv, nil).WaitJob(testContext(t), "x"); return err },
			targets: []error{qmp.ErrJobNotFound},
			as:      func(err error) bool { var e *qmp.JobError; return errors.As(err, &e) && e.ID == "x" },
		},
	}
	sentinels := []error{
		qmp.ErrClosed, qmp.ErrDisconnected, qmp.ErrTimeout, qmp.ErrProtocol, qmp.ErrGreeting,
		qmp.ErrNegotiation, qmp.ErrMessageTooLarge, qmp.ErrMonitorBusy, qmp.ErrProcessExited,
		qmp.ErrCommandNotFound, qmp.ErrJobFailed, qmp.ErrJobNotFound,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t)
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			want := map[error]bool{}
			for _, target := range tt.targets {
				want[target] = true
				if !errors.Is(err, target) {
					t.Errorf("error %q does not match %v", err, target)
				}
			}
			for _, s := range sentinels {
				if !want[s] && errors.Is(err, s) {
					t.Errorf("error %q also matches %v", err, s)
				}
			}
			if tt.as != nil && !tt.as(err) {
				t.Errorf("errors.As on %q did not find the expected type and fields", err)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "with description",
			err:  &qmp.Error{Class: "GenericError", Desc: "Device 'x' not found", Command: "stop", Socket: "/run/qmp.sock"},
			want: "qmp stop on /run/qmp.sock: GenericError: Device 'x' not found",
		},
		{
			name: "class only",
			err:  &qmp.Error{Class: "GenericError", Command: "stop", Socket: "/run/qmp.sock"},
			want: "qmp stop on /run/qmp.sock: GenericError",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExecuteWithFile(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"getfd": func(c *qmptest.Conn, req qmptest.Request) {
			if len(req.Files) != 1 {
				c.ReplyError(req, "GenericError", "No file descriptor supplied via SCM_RIGHTS")
				return
			}
			req.Files[0].Write([]byte("via qemu"))
			c.Reply(req, struct{}{})
		},
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	defer r.Close()
	defer w.Close()

	if err := c.GetFD(ctx, "pipe0", w); err != nil {
		t.Fatalf("GetFD: %v", err)
	}
	w.Close()
	srv.Close()
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "via qemu" {
		t.Errorf("read %q from the pipe, want what the server wrote to the passed descriptor", got)
	}

	if _, err := c.ExecuteWithFile(ctx, "getfd", nil, nil); err == nil {
		t.Error("ExecuteWithFile with a nil file succeeded, want an error")
	}
}
