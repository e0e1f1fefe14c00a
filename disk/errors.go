package disk

import (
	"errors"
	"fmt"
	"io/fs"
)

// OpError is the error returned by an operation that reached the
// filesystem. It keeps the cause, so errors.Is(err, fs.ErrNotExist),
// errors.Is(err, syscall.ENOSPC) and errors.Is(err, context.Canceled) work.
type OpError struct {
	// Op is the operation, such as "clone" or "decompress".
	Op string
	// Source is the file or directory read, or empty.
	Source string
	// Target is the file written, or empty.
	Target string
	// Err is the cause.
	Err error
}

func (e *OpError) Error() string {
	s := e.Op
	switch {
	case e.Source != "" && e.Target != "":
		s += " " + e.Source + " to " + e.Target
	case e.Source != "":
		s += " " + e.Source
	case e.Target != "":
		s += " " + e.Target
	}
	return s + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// ErrInvalidZstd is the cause when [Decompress] finds that its source is not
// zstd data, is corrupt or ends early. The error text keeps the decoder's
// reason.
var ErrInvalidZstd = errors.New("invalid zstd data")

// zstdError carries the decoder's reason and matches ErrInvalidZstd.
type zstdError struct{ err error }

func (e *zstdError) Error() string        { return ErrInvalidZstd.Error() + ": " + e.err.Error() }
func (e *zstdError) Unwrap() error        { return e.err }
func (e *zstdError) Is(target error) bool { return target == ErrInvalidZstd }

// ErrTargetExists is the cause when the target exists and
// [Options.Overwrite] is false. It matches fs.ErrExist.
var ErrTargetExists error = existsError{}

type existsError struct{}

func (existsError) Error() string        { return "target already exists" }
func (existsError) Is(target error) bool { return target == fs.ErrExist }

// ValidationError reports input rejected before anything was written. It
// matches fs.ErrInvalid.
type ValidationError struct {
	// Field names the input, such as "source" or "chunk size".
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
