package firewall

import (
	"errors"
	"fmt"
	"io/fs"
)

// OpError is the error returned by a firewall operation that reached
// nftables, through netlink or through the nft command. It keeps the cause,
// so errors.Is(err, fs.ErrPermission) and errors.Is(err, fs.ErrExist) work.
type OpError struct {
	// Op is the operation, such as "add forward" or "set egress".
	Op string
	// Object names the thing the operation acted on, such as "host port 8080" or
	// "tap tap0".
	Object string
	// Err is the cause.
	Err error
}

func (e *OpError) Error() string {
	if e.Object == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + " " + e.Object + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// ErrClosed is the cause when an operation runs after [Manager.Close].
var ErrClosed = errors.New("firewall manager is closed")

// ErrNotAvailable is the cause of every error that the native path returns
// on a platform without nftables. It matches errors.ErrUnsupported.
var ErrNotAvailable error = notAvailableError{}

type notAvailableError struct{}

func (notAvailableError) Error() string        { return "Not available on this platform" }
func (notAvailableError) Is(target error) bool { return target == errors.ErrUnsupported }

// ConflictError is the cause when a port forward would replace another one
// whose sandbox still exists. It matches fs.ErrExist.
type ConflictError struct {
	// Existing is the forward that holds the host port.
	Existing Forward
}

func (e *ConflictError) Error() string {
	owner := ""
	if e.Existing.TAP != "" {
		owner = " of tap " + e.Existing.TAP
	}
	return fmt.Sprintf("host port %d already forwards to %s%s; remove that forward first",
		e.Existing.HostPort, e.Existing.Guest, owner)
}

// Is reports whether target is fs.ErrExist.
func (e *ConflictError) Is(target error) bool { return target == fs.ErrExist }

// ValidationError reports input rejected before anything reached nftables.
// It matches fs.ErrInvalid.
type ValidationError struct {
	// Field names the input, such as "tap name" or "host port".
	Field string
	// Value is the rejected input as the caller gave it.
	Value string
	// Reason is the rule the value breaks.
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == fs.ErrInvalid }

func invalid(field, value, format string, args ...any) error {
	return &ValidationError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}
