package qmp_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// exitedPID returns the pid of a process that has exited and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	return cmd.Process.Pid
}

// refusingSocket returns the path of a socket file with no listener.
func refusingSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	return path
}

func TestDialErrors(t *testing.T) {
	closeAtOnce := func(c *qmptest.Conn) { c.Close() }
	refuse := func(c *qmptest.Conn, req qmptest.Request) {
		c.ReplyError(req, "GenericError", "Capabilities negotiation is already complete")
	}

	tests := []struct {
		name    string
		socket  func(t *testing.T) string
		opts    qmp.Options
		targets []error
	}{
		{
			name:    "socket missing",
			socket:  func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.sock") },
			targets: []error{fs.ErrNotExist, qmp.ErrTimeout, context.DeadlineExceeded},
		},
		{
			name:    "socket refusing",
			socket:  refusingSocket,
			targets: []error{syscall.ECONNREFUSED, qmp.ErrTimeout, context.DeadlineExceeded},
		},
		{
			name:    "process exited",
			socket:  refusingSocket,
			opts:    qmp.Options{ProcessID: exitedPID(t), DialTimeout: time.Minute},
			targets: []error{qmp.ErrProcessExited, syscall.ECONNREFUSED},
		},
		{
			name: "no greeting",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{NoGreeting: true}).SocketPath()
			},
			targets: []error{qmp.ErrMonitorBusy, qmp.ErrTimeout, context.DeadlineExceeded},
		},
		{
			name: "hmp banner",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{Greeting: "QEMU 7.2.22 monitor - type 'help' for more information"}).SocketPath()
			},
			targets: []error{qmp.ErrGreeting},
		},
		{
			name: "json without qmp key",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{Greeting: `{"hello": 1}`}).SocketPath()
			},
			targets: []error{qmp.ErrGreeting},
		},
		{
			name: "greeting without version",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{Greeting: `{"QMP": {"capabilities": []}}`}).SocketPath()
			},
			targets: []error{qmp.ErrGreeting},
		},
		{
			name: "greeting too long",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{Greeting: `{"QMP": {"x": ` + bigString(8192) + `}}`}).SocketPath()
			},
			opts:    qmp.Options{MaxLineSize: 4096},
			targets: []error{qmp.ErrMessageTooLarge},
		},
		{
			name: "closed before greeting",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{BeforeGreeting: closeAtOnce}).SocketPath()
			},
			targets: []error{qmp.ErrDisconnected},
		},
		{
			name: "negotiation rejected",
			socket: func(t *testing.T) string {
				return qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{"qmp_capabilities": refuse}}).SocketPath()
			},
			targets: []error{qmp.ErrNegotiation},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			opts := tt.opts
			c, err := qmp.Dial(ctx, tt.socket(t), &opts)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			t.Logf("Dial error: %v", err)
			for _, target := range tt.targets {
				if !errors.Is(err, target) {
					t.Errorf("Dial error = %v, want it to match %v", err, target)
				}
			}
		})
	}
}

func TestDialNegotiationErrorKeepsQEMUError(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"qmp_capabilities": func(c *qmptest.Conn, req qmptest.Request) {
			c.ReplyError(req, "GenericError", "no")
		},
	}})
	_, err := qmp.Dial(testContext(t), srv.SocketPath(), nil)
	var qerr *qmp.Error
	if !errors.As(err, &qerr) || qerr.Command != "qmp_capabilities" || qerr.Class != "GenericError" {
		t.Errorf("Dial error = %v, want a *qmp.Error for qmp_capabilities", err)
	}
}

func TestDialWaitsForSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.sock")
	type result struct {
		c   *qmp.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := qmp.Dial(context.Background(), path, nil)
		done <- result{c, err}
	}()

	time.Sleep(100 * time.Millisecond)
	qmptest.NewServerAt(t, path, qmptest.Config{})
	r := <-done
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	defer r.c.Close()
	if _, err := r.c.QueryStatus(testContext(t)); err != nil {
		t.Errorf("QueryStatus: %v", err)
	}
}

func TestDialCancelled(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{NoGreeting: true})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)

	_, err := qmp.Dial(ctx, srv.SocketPath(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Dial error = %v, want context.Canceled", err)
	}
	if errors.Is(err, qmp.ErrTimeout) {
		t.Errorf("Dial error = %v, want no ErrTimeout for a cancelled context", err)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()

	srv := qmptest.NewServer(t, qmptest.Config{})
	busy := qmptest.NewServer(t, qmptest.Config{NoGreeting: true})
	for range 20 {
		c := dial(t, srv, nil)
		sub, err := c.Subscribe(qmp.EventFilter{})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		if _, err := c.QueryStatus(testContext(t)); err != nil {
			t.Fatalf("QueryStatus: %v", err)
		}
		c.Close()
		sub.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if _, err := qmp.Dial(ctx, busy.SocketPath(), nil); err == nil {
			t.Fatal("Dial on a silent server succeeded")
		}
		cancel()
	}
	srv.Close()
	busy.Close()

	// Goroutines of closed clients and servers need a moment to be
	// scheduled out; wait for the count to settle instead of timing it.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after; stacks:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
