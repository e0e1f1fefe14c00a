package qmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/smolvm/smolvm-core/internal/procstate"
)

// dialRetry connects to the Unix socket at path. QEMU creates the socket
// and listens on it some time after it starts, so a missing socket
// (ENOENT) or one without a listener (ECONNREFUSED) is retried with
// exponential backoff. So is a full listen queue (EAGAIN). QEMU accepts
// one client per monitor and queues only a few more, so further clients
// are refused until the holder disconnects. If that lasts until ctx ends,
// the error matches ErrMonitorBusy. A path that exists but is not a socket
// and other errors are returned at once.
func dialRetry(ctx context.Context, path string, pid int) (*net.UnixConn, error) {
	var d net.Dialer
	backoff := defaultRetryMin
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return conn.(*net.UnixConn), nil
		}
		if errors.Is(err, syscall.EAGAIN) {
			err = fmt.Errorf("%w (the listen queue is full): %w", ErrMonitorBusy, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", err, contextError(ctx.Err()))
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			if fi, serr := os.Stat(path); serr == nil && fi.Mode().Type() != os.ModeSocket {
				return nil, fmt.Errorf("%s is not a Unix socket: %w", path, err)
			}
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EAGAIN) {
			return nil, err
		}
		if pid != 0 && procstate.Exited(pid) {
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
