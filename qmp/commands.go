package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Status is the run state from query-status.
type Status struct {
	// Status is QEMU's run state, such as "running", "paused",
	// "prelaunch" or "shutdown".
	Status string `json:"status"`
	// Running reports whether the guest CPUs run.
	Running bool `json:"running"`
	// Singlestep is reported by QEMU up to 8.0 and false when absent.
	Singlestep bool `json:"singlestep"`
	// Raw is the undecoded reply.
	Raw json.RawMessage `json:"-"`
}

// decodeReturn decodes a reply payload into out, ignoring unknown fields.
func (c *Client) decodeReturn(command string, raw json.RawMessage, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return c.callError(command, fmt.Errorf("%w: decode reply: %w", ErrProtocol, err))
	}
	return nil
}

// QueryStatus returns the VM's run state (query-status).
func (c *Client) QueryStatus(ctx context.Context) (Status, error) {
	raw, err := c.Execute(ctx, "query-status", nil)
	if err != nil {
		return Status{}, err
	}
	var s Status
	if err := c.decodeReturn("query-status", raw, &s); err != nil {
		return Status{}, err
	}
	s.Raw = raw
	return s, nil
}

// QueryVersion returns QEMU's version (query-version).
func (c *Client) QueryVersion(ctx context.Context) (Version, error) {
	raw, err := c.Execute(ctx, "query-version", nil)
	if err != nil {
		return Version{}, err
	}
	v, err := decodeVersion(raw)
	if err != nil {
		return Version{}, c.callError("query-version", fmt.Errorf("%w: decode reply: %w", ErrProtocol, err))
	}
	return v, nil
}

// Stop pauses the guest CPUs (stop). QEMU also sends a STOP event.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.Execute(ctx, "stop", nil)
	return err
}

// Cont resumes the guest CPUs (cont). QEMU also sends a RESUME event.
func (c *Client) Cont(ctx context.Context) error {
	_, err := c.Execute(ctx, "cont", nil)
	return err
}

// Quit makes QEMU exit at once, without a guest shutdown (quit). It
// succeeds when QEMU replies, and also when the connection drops after the
// command was sent, because QEMU may exit before its reply is read; QEMU
// 7.2 resets the connection. The session is unusable afterwards.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.Execute(ctx, "quit", nil)
	var notSent sendError
	if errors.Is(err, ErrDisconnected) && !errors.As(err, &notSent) {
		return nil
	}
	return err
}
