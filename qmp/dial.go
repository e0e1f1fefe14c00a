package qmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// dialRetry connects to the Unix socket at path. QEMU creates the socket
// and listens on it some time after it starts, so a missing socket
// (ENOENT) or one without a listener (ECONNREFUSED) is retried with
// exponential backoff. Other errors are returned at once.
func dialRetry(ctx context.Context, path string, pid int) (*net.UnixConn, error) {
	var d net.Dialer
	backoff := defaultRetryMin
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return conn.(*net.UnixConn), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", err, contextError(ctx.Err()))
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
		if pid != 0 && processExited(pid) {
			return nil, fmt.Errorf("pid %d: %w: %w", pid, ErrProcessExited, err)
		}

		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w: %w", err, contextError(ctx.Err()))
		}
		backoff = min(2*backoff, defaultRetryMax)
	}
}

// processExited reports whether the process with the given pid is gone or
// a zombie. It reads /proc/PID/stat, so it does not reap a child of the
// caller; without /proc it falls back to kill(pid, 0), which cannot see
// zombies.
func processExited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		// The state follows the command name, which is in parentheses and
		// may itself contain ") ".
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return false
		}
		state := stat[i+2]
		return state == 'Z' || state == 'X'
	}
	if _, serr := os.Stat("/proc/self"); serr == nil {
		return errors.Is(err, os.ErrNotExist)
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
