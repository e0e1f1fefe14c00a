package qmp

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors for the conditions callers branch on. Match them with
// errors.Is; the returned errors wrap them together with the command, the
// socket path and the cause.
var (
	// ErrClosed reports a call made on, or still pending when, Close ran.
	ErrClosed = errors.New("qmp client closed")

	// ErrDisconnected reports that the connection to QEMU ended, for
	// example because QEMU exited or closed the monitor.
	ErrDisconnected = errors.New("connection to qemu lost")

	// ErrTimeout reports that a deadline passed. Errors that wrap it also
	// match context.DeadlineExceeded.
	ErrTimeout = errors.New("timed out")

	// ErrProtocol reports a message that breaks the QMP protocol, such as
	// a reply with neither "return" nor "error".
	ErrProtocol = errors.New("qmp protocol violation")

	// ErrGreeting reports that the first line from the socket is not a
	// QMP greeting, for example because the socket is an HMP monitor.
	ErrGreeting = errors.New("invalid qmp greeting")

	// ErrNegotiation reports that QEMU rejected qmp_capabilities.
	ErrNegotiation = errors.New("qmp capabilities negotiation rejected")

	// ErrMessageTooLarge reports a line longer than Options.MaxLineSize.
	ErrMessageTooLarge = errors.New("qmp message too large")

	// ErrMonitorBusy reports a connection that never received a greeting:
	// QEMU accepts one client per monitor, so another client may hold it,
	// or the QEMU process is stopped.
	ErrMonitorBusy = errors.New("qmp monitor sent no greeting")

	// ErrProcessExited reports that the QEMU process given in
	// Options.ProcessID has exited.
	ErrProcessExited = errors.New("qemu process exited")

	// ErrCommandNotFound matches an *Error of class CommandNotFound.
	ErrCommandNotFound = errors.New("command not found")

	// ErrJobFailed matches a *JobError for a job that concluded with an
	// error.
	ErrJobFailed = errors.New("job failed")

	// ErrJobNotFound matches a *JobError for a job that QEMU does not
	// list.
	ErrJobNotFound = errors.New("job not found")
)

// Error is an error reply from QEMU.
type Error struct {
	// Class is QEMU's error class, such as "GenericError" or
	// "CommandNotFound". It is kept even when Desc is empty.
	Class string
	// Desc is QEMU's human-readable description.
	Desc string
	// Command is the command that QEMU rejected.
	Command string
	// ID is the id that the command carried.
	ID string
	// Socket is the path of the QMP socket.
	Socket string
}

// Error formats the error as "qmp COMMAND on SOCKET: CLASS: DESC".
func (e *Error) Error() string {
	msg := "qmp " + e.Command + " on " + e.Socket + ": " + e.Class
	if e.Desc != "" {
		msg += ": " + e.Desc
	}
	return msg
}

// Is reports whether the error matches target. An error of class
// CommandNotFound matches ErrCommandNotFound.
func (e *Error) Is(target error) bool {
	return target == ErrCommandNotFound && e.Class == "CommandNotFound"
}

// JobError is a QEMU job that failed or does not exist. It matches
// ErrJobFailed or ErrJobNotFound.
type JobError struct {
	// ID is the job id.
	ID string
	// Type is the job type, such as "snapshot-save"; empty when unknown.
	Type string
	// Status is the last status seen; empty when the job was not found.
	Status string
	// Desc is QEMU's error text for the job; empty when not found.
	Desc string
	// Socket is the path of the QMP socket.
	Socket string

	err error // ErrJobFailed or ErrJobNotFound
}

// Error formats the error with the job id, type, status and QEMU's text.
func (e *JobError) Error() string {
	msg := "qmp job " + e.ID
	if e.Type != "" {
		msg += " (" + e.Type + ")"
	}
	msg += " on " + e.Socket + ": " + e.err.Error()
	if e.Status != "" {
		msg += " with status " + e.Status
	}
	if e.Desc != "" {
		msg += ": " + e.Desc
	}
	return msg
}

// Unwrap returns ErrJobFailed or ErrJobNotFound.
func (e *JobError) Unwrap() error { return e.err }

// MessageTooLargeError is a line from QEMU longer than
// Options.MaxLineSize. It matches ErrMessageTooLarge.
type MessageTooLargeError struct {
	// Size is the length of the line in bytes, without the line ending.
	Size int64
	// Limit is the maximum in force, in bytes.
	Limit int
}

// Error formats the error with the line length and the limit.
func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("%v: line of %d bytes exceeds the maximum of %d bytes", ErrMessageTooLarge, e.Size, e.Limit)
}

// Unwrap returns ErrMessageTooLarge.
func (e *MessageTooLargeError) Unwrap() error { return ErrMessageTooLarge }

// callError wraps err with the command and socket path.
func (c *Client) callError(command string, err error) error {
	return fmt.Errorf("qmp %s on %s: %w", command, c.socket, err)
}

// contextError turns a context error into one that also matches
// ErrTimeout when the deadline passed.
func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
