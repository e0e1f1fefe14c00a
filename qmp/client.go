package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/smolvm/smolvm-core/internal/procstate"
)

// Client is one QMP session on a Unix socket. Its methods are safe for
// concurrent use; any number of calls may be in flight at once.
type Client struct {
	socket string
	opts   Options
	conn   *net.UnixConn

	greeting Greeting // set before Dial returns, read-only afterwards

	writeMu sync.Mutex // serialises writes so commands never interleave

	mu        sync.Mutex
	pending   map[string]*call
	abandoned map[string]uint64 // id to sequence number of calls whose caller gave up
	subs      map[*Subscription]struct{}
	closing   bool
	err       error // cause of the session end, nil while the session is up

	nextSeq   atomic.Uint64
	jobPrefix string // random part of generated job ids
	closeOnce sync.Once
	done      chan struct{} // closed when the reader goroutine returns
	greetCh   chan greetResult
	stats     counters

	// greeted is owned by the reader goroutine.
	greeted bool
}

// call is one command waiting for its reply.
type call struct {
	id      string
	command string
	seq     uint64
	ch      chan reply // buffered for the one reply it gets, so the reader never blocks
}

type reply struct {
	msg message
	err error
}

type greetResult struct {
	msg  message
	line []byte
	err  error
}

// Greeting is the QMP greeting that QEMU sends when a client connects.
type Greeting struct {
	// Version is QEMU's version.
	Version Version
	// Capabilities lists the optional protocol capabilities offered, such
	// as "oob". The client enables none of them.
	Capabilities []string
	// Raw is the greeting's "QMP" object.
	Raw json.RawMessage
}

// Version is QEMU's version as reported in the greeting and by
// query-version.
type Version struct {
	Major, Minor, Micro int
	// Package is the distribution's package version, such as
	// "Debian 1:7.2+dfsg-7+deb12u18+b3"; it may be empty.
	Package string
	// Raw is the undecoded version object.
	Raw json.RawMessage
}

// String returns the version as "MAJOR.MINOR.MICRO".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
}

type versionWire struct {
	QEMU struct {
		Major int `json:"major"`
		Minor int `json:"minor"`
		Micro int `json:"micro"`
	} `json:"qemu"`
	Package string `json:"package"`
}

func decodeVersion(raw json.RawMessage) (Version, error) {
	var w versionWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return Version{}, err
	}
	return Version{Major: w.QEMU.Major, Minor: w.QEMU.Minor, Micro: w.QEMU.Micro, Package: w.Package, Raw: raw}, nil
}

// Dial connects to the QMP socket at socketPath, reads the greeting and
// negotiates capabilities. While the socket is missing or refuses
// connections it retries with backoff, until ctx ends, Options.DialTimeout
// passes, or the process in Options.ProcessID exits. All three steps share
// that one deadline. opts may be nil.
//
// The returned error matches the reason the connection failed: the dial
// error with ErrTimeout, ErrProcessExited, ErrMonitorBusy when the socket
// accepted but sent no greeting, ErrGreeting, ErrNegotiation, or
// ErrDisconnected.
func Dial(ctx context.Context, socketPath string, opts *Options) (*Client, error) {
	o := opts.withDefaults()
	if o.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.DialTimeout)
		defer cancel()
	}

	conn, err := dialRetry(ctx, socketPath, o.ProcessID)
	if err != nil {
		return nil, fmt.Errorf("connect qmp %s: %w", socketPath, err)
	}

	c := &Client{
		socket:    socketPath,
		opts:      o,
		conn:      conn,
		pending:   make(map[string]*call),
		abandoned: make(map[string]uint64),
		subs:      make(map[*Subscription]struct{}),
		done:      make(chan struct{}),
		greetCh:   make(chan greetResult, 1),
		jobPrefix: randomHex(4),
	}
	go c.readLoop(newLineReader(conn, o.MaxLineSize))

	if err := c.handshake(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect qmp %s: %w", socketPath, err)
	}
	return c, nil
}

// handshake waits for the greeting and sends qmp_capabilities.
func (c *Client) handshake(ctx context.Context) error {
	var g greetResult
	select {
	case g = <-c.greetCh:
	case <-ctx.Done():
		if c.opts.ProcessID != 0 && procstate.Exited(c.opts.ProcessID) {
			return fmt.Errorf("pid %d: %w", c.opts.ProcessID, ErrProcessExited)
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w (another client may hold the monitor, or qemu is stopped): %w",
				ErrMonitorBusy, contextError(ctx.Err()))
		}
		return fmt.Errorf("wait for greeting: %w", ctx.Err())
	}

	if g.err != nil {
		if errors.Is(g.err, ErrDisconnected) && c.opts.ProcessID != 0 && procstate.Exited(c.opts.ProcessID) {
			return fmt.Errorf("pid %d: %w: %w", c.opts.ProcessID, ErrProcessExited, g.err)
		}
		if errors.Is(g.err, ErrDisconnected) || errors.Is(g.err, ErrMessageTooLarge) {
			return fmt.Errorf("read greeting: %w", g.err)
		}
		return fmt.Errorf("%w: %.80q", ErrGreeting, g.line)
	}
	greeting, err := decodeGreeting(g)
	if err != nil {
		return err
	}
	c.greeting = greeting

	if _, err := c.Execute(ctx, "qmp_capabilities", nil); err != nil {
		var qerr *Error
		if errors.As(err, &qerr) {
			return fmt.Errorf("%w: %w", ErrNegotiation, err)
		}
		return err
	}
	return nil
}

func decodeGreeting(g greetResult) (Greeting, error) {
	bad := func() error { return fmt.Errorf("%w: %.80q", ErrGreeting, g.line) }
	if len(g.msg.QMP) == 0 || g.msg.QMP[0] != '{' {
		return Greeting{}, bad()
	}
	var w struct {
		Version      json.RawMessage `json:"version"`
		Capabilities []string        `json:"capabilities"`
	}
	if err := json.Unmarshal(g.msg.QMP, &w); err != nil || len(w.Version) == 0 {
		return Greeting{}, bad()
	}
	v, err := decodeVersion(w.Version)
	if err != nil {
		return Greeting{}, bad()
	}
	return Greeting{Version: v, Capabilities: w.Capabilities, Raw: g.msg.QMP}, nil
}

// Greeting returns the greeting QEMU sent on connect.
func (c *Client) Greeting() Greeting { return c.greeting }

// SocketPath returns the path of the QMP socket.
func (c *Client) SocketPath() string { return c.socket }

// Done returns a channel that is closed when the session has ended, by
// Close or because the connection was lost.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the session ended: an error matching ErrClosed or
// ErrDisconnected, or nil while the session is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the session. Calls still waiting for a reply fail with
// ErrClosed, subscriptions are closed, and Close returns once the reader
// goroutine has exited. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.conn.Close()
	})
	<-c.done
	return nil
}
