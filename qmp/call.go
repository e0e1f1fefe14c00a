package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Execute sends command with args and returns the "return" payload of the
// reply. args may be nil or encode to JSON null for no "arguments", or be
// a json.RawMessage holding a JSON object, or any value that encodes to a
// JSON object.
//
// The call ends when the reply arrives, when ctx ends, or when the
// command's default timeout from Options passes. A call that ends early
// leaves the session usable: its reply is discarded when it arrives, and
// QEMU may still carry out the command. An error reply is returned as an
// *Error; a reply with neither "return" nor "error" as ErrProtocol.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	return c.execute(ctx, command, args, nil)
}

// execute runs one command, passing file as SCM_RIGHTS ancillary data in
// the same sendmsg as the command when it is not nil.
func (c *Client) execute(ctx context.Context, command string, args any, file *os.File) (json.RawMessage, error) {
	if command == "" {
		return nil, fmt.Errorf("qmp on %s: invalid command name: empty", c.socket)
	}
	rawArgs, err := encodeArguments(args)
	if err != nil {
		return nil, c.callError(command, err)
	}
	if d := c.opts.timeoutFor(command); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, c.callError(command, contextError(err))
	}

	cl, err := c.register(command)
	if err != nil {
		return nil, c.callError(command, sendError{err})
	}
	data, err := json.Marshal(request{Execute: command, Arguments: rawArgs, ID: cl.id})
	if err != nil {
		c.unregister(cl)
		return nil, c.callError(command, err)
	}
	if err := c.write(ctx, append(data, '\n'), file); err != nil {
		// A failed write may have sent part of the command, but then the
		// session ends, so no reply is expected either way.
		c.unregister(cl)
		return nil, c.callError(command, sendError{err})
	}

	select {
	case r := <-cl.ch:
		return c.result(cl, r)
	case <-ctx.Done():
		c.abandon(cl)
		return nil, c.callError(command, contextError(ctx.Err()))
	}
}

// register adds a pending call with a fresh id, unless the session ended.
func (c *Client) register(command string) (*call, error) {
	seq := c.nextSeq.Add(1)
	cl := &call{
		id:      "c" + strconv.FormatUint(seq, 10),
		command: command,
		seq:     seq,
		ch:      make(chan reply, 1),
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.closing {
		return nil, ErrClosed
	}
	c.pending[cl.id] = cl
	return cl, nil
}

// unregister removes a call that was never sent.
func (c *Client) unregister(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[cl.id] == cl {
		delete(c.pending, cl.id)
	}
}

// abandon removes a call whose caller stopped waiting, and remembers its
// id so that a reply arriving later is counted as late.
func (c *Client) abandon(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[cl.id] != cl {
		return
	}
	delete(c.pending, cl.id)
	if len(c.abandoned) >= maxAbandoned {
		var oldestID string
		var oldestSeq uint64
		for id, s := range c.abandoned {
			if oldestID == "" || s < oldestSeq {
				oldestID, oldestSeq = id, s
			}
		}
		delete(c.abandoned, oldestID)
	}
	c.abandoned[cl.id] = cl.seq
}

// result turns a routed reply into the value Execute returns.
func (c *Client) result(cl *call, r reply) (json.RawMessage, error) {
	if r.err != nil {
		return nil, c.callError(cl.command, r.err)
	}
	if e := r.msg.Error; e != nil {
		return nil, &Error{Class: e.Class, Desc: e.Desc, Command: cl.command, ID: cl.id, Socket: c.socket}
	}
	if r.msg.Return == nil {
		return nil, c.callError(cl.command, fmt.Errorf("%w: reply to id %s has neither return nor error", ErrProtocol, cl.id))
	}
	return r.msg.Return, nil
}

// write sends one encoded command. The write deadline is the earlier of
// ctx's deadline and Options.WriteTimeout. A write that stops part-way
// leaves half a command on the stream, so the connection is then closed
// and the session ends with ErrDisconnected.
func (c *Client) write(ctx context.Context, data []byte, file *os.File) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	var deadline time.Time
	if c.opts.WriteTimeout > 0 {
		deadline = time.Now().Add(c.opts.WriteTimeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if err := c.conn.SetWriteDeadline(deadline); err != nil {
		return c.sessionError(err)
	}

	var n int
	var err error
	if file == nil {
		n, err = c.conn.Write(data)
	} else {
		n, err = c.writeWithFile(data, file)
	}
	if err == nil {
		return nil
	}
	if n > 0 {
		c.conn.Close()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("write command: %w: %w", ErrTimeout, context.DeadlineExceeded)
	}
	return c.sessionError(err)
}

// writeWithFile sends data with file's descriptor attached as SCM_RIGHTS.
// QEMU takes the descriptor with the command whose first byte arrives in
// the same message.
func (c *Client) writeWithFile(data []byte, file *os.File) (int, error) {
	raw, err := file.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("pass file %s: %w", file.Name(), err)
	}
	var n int
	var werr error
	cerr := raw.Control(func(fd uintptr) {
		n, _, werr = c.conn.WriteMsgUnix(data, syscall.UnixRights(int(fd)), nil)
	})
	if cerr != nil {
		return 0, fmt.Errorf("pass file %s: %w", file.Name(), cerr)
	}
	if werr != nil || n == len(data) {
		return n, werr
	}
	m, err := c.conn.Write(data[n:])
	return n + m, err
}

// sessionError returns why the session ended when err comes from a closed
// connection, and err otherwise.
func (c *Client) sessionError(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return c.err
	case c.closing:
		return ErrClosed
	case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return fmt.Errorf("write command: %w", err)
}

// sendError marks an error that happened before the command was fully
// written, so QEMU cannot have run it.
type sendError struct{ err error }

func (e sendError) Error() string { return e.err.Error() }
func (e sendError) Unwrap() error { return e.err }
