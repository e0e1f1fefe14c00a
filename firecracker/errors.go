package firecracker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
)

// Sentinel errors for the conditions callers branch on. Match them with
// errors.Is. The returned errors wrap them together with the method, the
// path and the socket.
var (
	// ErrClosed reports a request made on, or still in flight when, Close
	// ran.
	ErrClosed = errors.New("firecracker client closed")

	// ErrResponseTooLarge reports a reply body longer than
	// Options.MaxResponseSize.
	ErrResponseTooLarge = errors.New("firecracker reply too large")

	// ErrInvalidReply reports a successful reply whose body is not JSON,
	// or not the JSON shape that a typed helper expects.
	ErrInvalidReply = errors.New("invalid firecracker reply")

	// ErrProcessExited reports that the Firecracker process given in
	// WaitOptions has exited before its API replied.
	ErrProcessExited = errors.New("firecracker process exited")
)

// APIError is a reply from Firecracker with a status code outside 2xx.
// Firecracker sends the reason as {"fault_message": "..."}.
type APIError struct {
	// Method and Path are the request's, such as "PUT" and "/actions".
	Method string
	Path   string
	// Socket is the path of the API socket.
	Socket string
	// StatusCode is the HTTP status, such as 400.
	StatusCode int
	// FaultMessage is Firecracker's fault_message, empty when the body
	// has none.
	FaultMessage string
	// Body is the reply body as received, for replies without a fault
	// message.
	Body []byte
}

// maxBodyInError is how much of a body without a fault message an
// APIError shows in its text, in bytes.
const maxBodyInError = 200

// Error formats the error as
// "firecracker METHOD PATH on SOCKET: STATUS TEXT: FAULT".
func (e *APIError) Error() string {
	msg := "firecracker " + e.Method + " " + e.Path + " on " + e.Socket + ": " + statusText(e.StatusCode)
	switch {
	case e.FaultMessage != "":
		msg += ": " + e.FaultMessage
	case len(e.Body) > maxBodyInError:
		msg += fmt.Sprintf(": body %q (%d bytes)", e.Body[:maxBodyInError], len(e.Body))
	case len(e.Body) > 0:
		msg += fmt.Sprintf(": body %q", e.Body)
	}
	return msg
}

// statusText returns "400 Bad Request", or the bare number for a code
// net/http does not name.
func statusText(code int) string {
	if text := http.StatusText(code); text != "" {
		return strconv.Itoa(code) + " " + text
	}
	return strconv.Itoa(code)
}

// OpError is a request that got no usable reply: the socket could not be
// reached, the connection broke, the context ended, or the reply was too
// large or not JSON. Err is the cause, so errors.Is works with ErrClosed,
// ErrResponseTooLarge, ErrInvalidReply, context.DeadlineExceeded,
// context.Canceled and the errno of a failed connect, such as
// syscall.ENOENT when the socket does not exist.
type OpError struct {
	// Method and Path are the request's.
	Method string
	Path   string
	// Socket is the path of the API socket.
	Socket string
	// Err is the cause.
	Err error
}

// Error formats the error as "firecracker METHOD PATH on SOCKET: CAUSE".
func (e *OpError) Error() string {
	return "firecracker " + e.Method + " " + e.Path + " on " + e.Socket + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// ResponseTooLargeError is a reply body longer than the limit in force. It
// matches ErrResponseTooLarge.
type ResponseTooLargeError struct {
	// Limit is the maximum in force, in bytes.
	Limit int64
	// ContentLength is the size the server announced in bytes, or -1 when
	// it sent none and the client stopped reading at the limit.
	ContentLength int64
}

// Error formats the error with the size and the limit.
func (e *ResponseTooLargeError) Error() string {
	if e.ContentLength >= 0 {
		return fmt.Sprintf("%v: body of %d bytes exceeds the maximum of %d bytes", ErrResponseTooLarge, e.ContentLength, e.Limit)
	}
	return fmt.Sprintf("%v: body exceeds the maximum of %d bytes", ErrResponseTooLarge, e.Limit)
}

// Unwrap returns ErrResponseTooLarge.
func (e *ResponseTooLargeError) Unwrap() error { return ErrResponseTooLarge }

// ValidationError reports input rejected before any request is sent. It
// matches fs.ErrInvalid.
type ValidationError struct {
	// Field names the input, such as "drive_id" or "path".
	Field string
	// Value is the rejected input as the caller gave it.
	Value string
	// Reason is the rule the value breaks.
	Reason string
}

// Error formats the error as `invalid FIELD "VALUE": REASON`.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == fs.ErrInvalid }

func invalid(field, value, format string, args ...any) error {
	return &ValidationError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// contextError describes why ctx ended: ErrClosed when Close cancelled
// it, else the context's error, which stays matchable with errors.Is
// (context.DeadlineExceeded or context.Canceled). A cause set with
// context.WithDeadlineCause or WithCancelCause is kept as well.
func contextError(ctx context.Context) error {
	err := ctx.Err()
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out: %w", err)
	}
	if cause != nil && cause != ctx.Err() {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
