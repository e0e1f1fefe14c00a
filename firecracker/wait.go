package firecracker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/smolvm/smolvm-core/internal/procstate"
)

// Defaults of WaitOptions. A sandbox is expected to be ready tens of
// milliseconds after Firecracker starts, so the first polls come quickly,
// because a fixed 50 ms interval would add up to 50 ms to every start.
// The interval doubles up to DefaultPollMax, which bounds the delay
// between the API replying and WaitReady returning. A poll of a socket
// that does not exist yet costs one failed connect(2), so the cap is kept
// low. BENCHMARKS.md in this folder measures the delay.
const (
	DefaultWaitTimeout = 30 * time.Second
	DefaultPollMin     = time.Millisecond
	DefaultPollMax     = 10 * time.Millisecond
)

// WaitOptions configures WaitReady. The zero value is usable, and zero
// fields take the defaults above.
type WaitOptions struct {
	// Process is the Firecracker process behind the socket, such as
	// exec.Cmd.Process. WaitReady checks it between polls and stops with
	// ErrProcessExited once it has exited, been reaped or become a zombie.
	Process *os.Process

	// PID is the process id to check the same way when Process is nil;
	// zero checks nothing.
	PID int

	// Timeout bounds the whole wait, in addition to ctx. A negative value
	// leaves only ctx.
	Timeout time.Duration

	// PollMin is the interval after the first failed poll. It doubles
	// after each further failure, up to PollMax.
	PollMin time.Duration
	PollMax time.Duration
}

func (o *WaitOptions) withDefaults() WaitOptions {
	var out WaitOptions
	if o != nil {
		out = *o
	}
	if out.Timeout == 0 {
		out.Timeout = DefaultWaitTimeout
	}
	if out.PollMin <= 0 {
		out.PollMin = DefaultPollMin
	}
	if out.PollMax <= 0 {
		out.PollMax = DefaultPollMax
	}
	out.PollMax = max(out.PollMax, out.PollMin)
	return out
}

// WaitReady polls the API socket at socketPath until GET / returns 200 and
// returns the instance info from that reply. It uses a client of its own
// with default Options and closes it before returning.
func WaitReady(ctx context.Context, socketPath string, opts *WaitOptions) (InstanceInfo, error) {
	c, err := New(socketPath, nil)
	if err != nil {
		return InstanceInfo{}, err
	}
	defer c.Close()
	return c.WaitReady(ctx, opts)
}

// WaitReady polls until GET / returns 200 and returns the instance info
// from that reply. A missing socket, a refused or broken connection and an
// error status are retried. The wait ends early with an error when ctx
// ends or the timeout passes (matching context.DeadlineExceeded), when the
// process in opts has exited (ErrProcessExited), when the socket path
// exists but is not a socket, or when Close runs (ErrClosed). The error
// names the last failed attempt.
func (c *Client) WaitReady(ctx context.Context, opts *WaitOptions) (InstanceInfo, error) {
	o := opts.withDefaults()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}

	interval := o.PollMin
	var last error
	for {
		info, err := c.InstanceInfo(ctx)
		if err == nil {
			return info, nil
		}
		if errors.Is(err, ErrClosed) {
			return InstanceInfo{}, err
		}
		if ctx.Err() == nil {
			last = err
		}
		if stop := c.stopWaiting(ctx, &o, err); stop != nil {
			return InstanceInfo{}, c.waitError(stop, last)
		}

		timer := time.NewTimer(interval)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return InstanceInfo{}, c.waitError(contextError(ctx), last)
		case <-c.closed.Done():
			timer.Stop()
			return InstanceInfo{}, c.waitError(ErrClosed, last)
		}
		interval = min(2*interval, o.PollMax)
	}
}

// stopWaiting returns why polling cannot succeed after the failed attempt
// err, or nil to poll again.
func (c *Client) stopWaiting(ctx context.Context, o *WaitOptions, err error) error {
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		// connect(2) on a path that is not a socket is refused, which looks
		// like a socket without a listener yet.
		if fi, serr := os.Stat(c.socket); serr == nil && fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("%s is not a Unix socket", c.socket)
		}
	}
	if pid, exited := o.processExited(); exited {
		return fmt.Errorf("pid %d: %w", pid, ErrProcessExited)
	}
	return nil
}

// waitError joins why the wait stopped with the last failed attempt,
// without repeating the method, path and socket of the attempt's error.
func (c *Client) waitError(stop, last error) error {
	err := stop
	var opErr *OpError
	var apiErr *APIError
	switch {
	case errors.As(last, &opErr):
		err = fmt.Errorf("%w; last attempt: %w", stop, opErr.Err)
	case errors.As(last, &apiErr):
		err = fmt.Errorf("%w; last attempt: %s", stop, apiErr.Error())
	}
	return &OpError{Method: http.MethodGet, Path: "/", Socket: c.socket, Err: err}
}

// processExited reports whether the process in o is gone, and its pid.
func (o *WaitOptions) processExited() (int, bool) {
	pid := o.PID
	if o.Process != nil {
		// Signal reports ErrProcessDone once Wait has reaped the process.
		if errors.Is(o.Process.Signal(syscall.Signal(0)), os.ErrProcessDone) {
			return o.Process.Pid, true
		}
		pid = o.Process.Pid
	}
	if pid <= 0 {
		return pid, false
	}
	return pid, procstate.Exited(pid)
}
