package firecracker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestContextError(t *testing.T) {
	errCustom := errors.New("sandbox start budget spent")

	deadline, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	withCause, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), errCustom)
	defer cancel()
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	closed, closeNow := context.WithCancelCause(context.Background())
	closeNow(ErrClosed)

	tests := []struct {
		name     string
		ctx      context.Context
		wantText string
		wantIs   []error
	}{
		{"deadline", deadline, "timed out: context deadline exceeded", []error{context.DeadlineExceeded}},
		{"deadline with cause", withCause, "timed out: context deadline exceeded: sandbox start budget spent", []error{context.DeadlineExceeded, errCustom}},
		{"cancelled", cancelled, "context canceled", []error{context.Canceled}},
		{"closed", closed, "firecracker client closed", []error{ErrClosed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := contextError(tt.ctx)
			if err.Error() != tt.wantText {
				t.Errorf("text = %q, want %q", err, tt.wantText)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("%v does not match %v", err, target)
				}
			}
		})
	}
}

func TestOpErrorUnwrap(t *testing.T) {
	err := &OpError{Method: "PUT", Path: "/actions", Socket: "/run/fc.sock", Err: &ResponseTooLargeError{Limit: 10, ContentLength: 20}}
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("%v does not match ErrResponseTooLarge", err)
	}
	want := "firecracker PUT /actions on /run/fc.sock: firecracker reply too large: body of 20 bytes exceeds the maximum of 10 bytes"
	if err.Error() != want {
		t.Errorf("text = %q, want %q", err, want)
	}
}
