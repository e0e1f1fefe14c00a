package firecracker_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

func TestWaitReadyServerAppearsLate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fc.sock")
	started := make(chan *fctest.Server, 1)
	time.AfterFunc(30*time.Millisecond, func() {
		srv, err := fctest.Listen(path, fctest.Config{ID: "late"})
		if err != nil {
			t.Errorf("start fake: %v", err)
		}
		started <- srv
	})
	t.Cleanup(func() {
		if srv := <-started; srv != nil {
			srv.Close()
		}
	})

	info, err := firecracker.WaitReady(testContext(t), path, nil)
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if info.ID != "late" || info.State != firecracker.StateNotStarted {
		t.Errorf("WaitReady returned %+v", info)
	}
}

func TestWaitReadyAlreadyUp(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	if _, err := c.WaitReady(testContext(t), nil); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("WaitReady on a ready server sent %d requests, want 1", n)
	}
}

func TestWaitReadyRetriesErrorStatus(t *testing.T) {
	c, srv := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /": {Status: 503, Fault: "starting"}}}, nil)
	var polls atomic.Int32
	go func() {
		for len(srv.Requests()) < 3 {
			time.Sleep(time.Millisecond)
		}
		polls.Store(int32(len(srv.Requests())))
		srv.ClearReply("GET", "/")
	}()
	if _, err := c.WaitReady(testContext(t), nil); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if polls.Load() < 3 {
		t.Errorf("WaitReady returned before the error replies ended")
	}
}

// exitedProcess starts true(1), or a copy of the test binary that runs no
// tests where true is missing. With reap it waits for the process, which
// removes it from the process table. Otherwise the process stays a zombie
// until the test ends.
func exitedProcess(t *testing.T, reap bool) *os.Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if path, err := exec.LookPath("true"); err == nil {
		cmd = exec.Command(path)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if reap {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	} else {
		t.Cleanup(func() { cmd.Wait() })
	}
	return cmd.Process
}

func TestWaitReadyProcessExited(t *testing.T) {
	tests := []struct {
		name string
		opts func(t *testing.T) *firecracker.WaitOptions
	}{
		{"reaped process", func(t *testing.T) *firecracker.WaitOptions {
			return &firecracker.WaitOptions{Process: exitedProcess(t, true)}
		}},
		{"zombie process", func(t *testing.T) *firecracker.WaitOptions {
			return &firecracker.WaitOptions{Process: exitedProcess(t, false)}
		}},
		{"zombie pid", func(t *testing.T) *firecracker.WaitOptions {
			return &firecracker.WaitOptions{PID: exitedProcess(t, false).Pid}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts(t)
			opts.Timeout = time.Minute
			path := filepath.Join(t.TempDir(), "never.sock")
			_, err := firecracker.WaitReady(testContext(t), path, opts)
			if !errors.Is(err, firecracker.ErrProcessExited) {
				t.Fatalf("WaitReady = %v, want ErrProcessExited", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitReady waited for its deadline: %v", err)
			}
			if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "last attempt: dial unix") {
				t.Errorf("error %q does not name the last attempt", err)
			}
		})
	}
}

func TestWaitReadyLiveProcess(t *testing.T) {
	// The test's own process is alive, so only the timeout ends the wait.
	path := filepath.Join(t.TempDir(), "never.sock")
	_, err := firecracker.WaitReady(testContext(t), path, &firecracker.WaitOptions{PID: os.Getpid(), Timeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, firecracker.ErrProcessExited) {
		t.Errorf("WaitReady = %v, want DeadlineExceeded", err)
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.sock")
	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	_, err := firecracker.WaitReady(ctx, path, nil)
	var opErr *firecracker.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v, want an OpError matching DeadlineExceeded", err)
	}
	want := "firecracker GET / on " + path + ": timed out: context deadline exceeded; last attempt: dial unix " + path + ": connect: no such file or directory"
	if err.Error() != want {
		t.Errorf("error text\n %q\nwant\n %q", err, want)
	}

	// Options.Timeout ends the wait without a context deadline.
	_, err = firecracker.WaitReady(testContext(t), path, &firecracker.WaitOptions{Timeout: 30 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReady with Timeout 30 ms = %v, want DeadlineExceeded", err)
	}
}

func TestWaitReadyLastAttemptAPIError(t *testing.T) {
	c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /": {Status: 500, Fault: "not yet"}}}, nil)
	_, err := c.WaitReady(testContext(t), &firecracker.WaitOptions{Timeout: 30 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), ": 500 Internal Server Error: not yet") {
		t.Errorf("WaitReady = %v, want DeadlineExceeded naming the 500 reply", err)
	}
}

func TestWaitReadyNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := firecracker.WaitReady(testContext(t), path, &firecracker.WaitOptions{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), path+" is not a Unix socket") || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReady on a regular file = %v, want an immediate error saying it is not a socket", err)
	}
}

func TestWaitReadyClosed(t *testing.T) {
	c, err := firecracker.New(filepath.Join(t.TempDir(), "never.sock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { c.Close() })
	_, err = c.WaitReady(testContext(t), nil)
	if !errors.Is(err, firecracker.ErrClosed) {
		t.Errorf("WaitReady during Close = %v, want ErrClosed", err)
	}
}
