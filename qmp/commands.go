package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// executeInto runs a command and decodes its reply into out.
func (c *Client) executeInto(ctx context.Context, command string, args, out any) error {
	raw, err := c.Execute(ctx, command, args)
	if err != nil {
		return err
	}
	return c.decodeReturn(command, raw, out)
}

// ExecuteAndWait runs a command whose result is an event, such as
// system_powerdown and POWERDOWN. It subscribes with filter before it
// sends the command, so the event cannot be missed, and returns the reply
// and the first matching event that arrives after the subscription. When
// ctx has no deadline, the command's default timeout from Options bounds
// the wait for the event too.
func (c *Client) ExecuteAndWait(ctx context.Context, command string, args any, filter EventFilter) (json.RawMessage, Event, error) {
	sub, err := c.Subscribe(filter)
	if err != nil {
		return nil, Event{}, err
	}
	defer sub.Close()

	ret, err := c.Execute(ctx, command, args)
	if err != nil {
		return nil, Event{}, err
	}

	// Without a deadline of the caller's, the wait for the event gets the
	// command's default timeout, so a missing event cannot block forever.
	if _, ok := ctx.Deadline(); !ok {
		if d := c.opts.timeoutFor(command); d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
	}
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			return ret, Event{}, c.callError(command, c.sessionEnd())
		}
		return ret, ev, nil
	case <-ctx.Done():
		return ret, Event{}, c.callError(command, fmt.Errorf("wait for event: %w", contextError(ctx.Err())))
	}
}

// CommandSet is the set of command names from query-commands.
type CommandSet map[string]struct{}

// Has reports whether the set contains the command name.
func (s CommandSet) Has(name string) bool {
	_, ok := s[name]
	return ok
}

// QueryCommands returns the commands QEMU supports (query-commands).
func (c *Client) QueryCommands(ctx context.Context) (CommandSet, error) {
	var list []struct {
		Name string `json:"name"`
	}
	if err := c.executeInto(ctx, "query-commands", nil, &list); err != nil {
		return nil, err
	}
	set := make(CommandSet, len(list))
	for _, cmd := range list {
		set[cmd.Name] = struct{}{}
	}
	return set, nil
}

// KVMInfo is the reply of query-kvm.
type KVMInfo struct {
	// Enabled reports whether this VM uses KVM.
	Enabled bool `json:"enabled"`
	// Present reports whether the host offers KVM.
	Present bool `json:"present"`
}

// QueryKVM returns whether KVM is present and in use (query-kvm).
func (c *Client) QueryKVM(ctx context.Context) (KVMInfo, error) {
	var info KVMInfo
	err := c.executeInto(ctx, "query-kvm", nil, &info)
	return info, err
}

// SystemPowerdown presses the guest's ACPI power button
// (system_powerdown). It returns once QEMU accepted the request; the guest
// may ignore it. Use ExecuteAndWait to wait for the POWERDOWN or SHUTDOWN
// event.
func (c *Client) SystemPowerdown(ctx context.Context) error {
	_, err := c.Execute(ctx, "system_powerdown", nil)
	return err
}

// HMPErrorPrefixed reports whether HMP output starts with "Error: " or
// "unknown command: ", the texts QEMU 7.2 prints for a failed QMP-backed
// HMP command and for an unknown command. Other HMP commands print their
// own texts, such as "Device 'x' not found" from drive_del, which this
// check does not catch.
func HMPErrorPrefixed(output string) bool {
	return strings.HasPrefix(output, "Error: ") || strings.HasPrefix(output, "unknown command: ")
}

// HumanMonitorCommand runs a human monitor (HMP) command line and returns
// its raw output (human-monitor-command). QEMU reports HMP failures only in
// the output text, so when isError is not nil and returns true for the
// output, the output is also returned as an *Error of class "HMPError".
// HMPErrorPrefixed is a ready check for common failures.
func (c *Client) HumanMonitorCommand(ctx context.Context, commandLine string, isError func(output string) bool) (string, error) {
	var out string
	if err := c.executeInto(ctx, "human-monitor-command", map[string]string{"command-line": commandLine}, &out); err != nil {
		return "", err
	}
	if isError != nil && isError(out) {
		return out, &Error{Class: "HMPError", Desc: strings.TrimSpace(out), Command: "human-monitor-command", Socket: c.socket}
	}
	return out, nil
}
