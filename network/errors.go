package network

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// OpError is the error returned by a network operation that reached the
// kernel (or the platform layer). It keeps the kernel's error as its cause,
// so errors.Is(err, fs.ErrExist) and errors.Is(err, syscall.EBUSY) work.
type OpError struct {
	// Op is the operation, such as "create tap" or "add route".
	Op string
	// Object is the device, address or key acted on, such as "tap0" or
	// "172.16.0.2/32 dev tap0".
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

// ErrNotAvailable is the cause of every error that a network operation
// returns on a platform without native support. It matches
// errors.ErrUnsupported.
var ErrNotAvailable error = notAvailableError{}

type notAvailableError struct{}

func (notAvailableError) Error() string        { return "Not available on this platform" }
func (notAvailableError) Is(target error) bool { return target == errors.ErrUnsupported }

// ErrNoDevice is the cause when a named network device does not exist. It
// matches fs.ErrNotExist and syscall.ENODEV.
var ErrNoDevice error = noDeviceError{}

type noDeviceError struct{}

func (noDeviceError) Error() string { return "no such device" }
func (noDeviceError) Is(target error) bool {
	return target == fs.ErrNotExist || target == syscall.ENODEV
}

// ErrNoDefaultRoute is the cause returned by [Manager.DefaultInterface] when
// the routing table has no route towards the probe address, which in practice
// means the host has no default route for that family. It matches
// syscall.ENETUNREACH.
var ErrNoDefaultRoute error = noDefaultRouteError{}

type noDefaultRouteError struct{}

func (noDefaultRouteError) Error() string        { return "no default route" }
func (noDefaultRouteError) Is(target error) bool { return target == syscall.ENETUNREACH }

// ErrClosed is the cause when an operation runs after [Manager.Close].
var ErrClosed = errors.New("network manager is closed")

// ErrNotTAP is the cause when an operation on a TAP finds a device of
// another kind under that name. It matches fs.ErrInvalid.
var ErrNotTAP error = &conflictError{msg: "not a tap device", target: fs.ErrInvalid}

// conflictError is a cause with its own text that matches one standard
// error, such as "exists with owner 1000" matching fs.ErrExist.
type conflictError struct {
	msg    string
	target error
}

func (e *conflictError) Error() string        { return e.msg }
func (e *conflictError) Is(target error) bool { return target == e.target }

// existsError returns a cause that matches fs.ErrExist.
func existsError(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...), target: fs.ErrExist}
}

// notTAPError returns a cause for a create that finds another kind of
// device: it matches both fs.ErrExist and ErrNotTAP.
func notTAPError(format string, args ...any) error {
	return &notTAPExists{msg: fmt.Sprintf(format, args...)}
}

type notTAPExists struct{ msg string }

func (e *notTAPExists) Error() string { return e.msg }
func (e *notTAPExists) Is(target error) bool {
	return target == fs.ErrExist || target == ErrNotTAP
}

// busyError returns a cause that matches syscall.EBUSY.
func busyError(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...), target: syscall.EBUSY}
}

// ValidationError reports input rejected before any kernel call. It matches
// fs.ErrInvalid.
type ValidationError struct {
	// Field names the input, such as "interface name" or "uid".
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
