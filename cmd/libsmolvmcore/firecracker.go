package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"syscall"

	"github.com/smolvm/smolvm-core/firecracker"
)

// fcClients maps handles to Firecracker API clients.
var fcClients handleTable[*firecracker.Client]

// fcOpen returns the handle of a new client for the API socket at socket.
// It does not connect, because every request dials the socket itself, so
// it succeeds before Firecracker has created the socket.
func fcOpen(socket string) (any, *errorInfo) {
	if socket == "" {
		return nil, valueError("socket_path must not be empty")
	}
	c, err := firecracker.New(socket, nil)
	if err != nil {
		return nil, firecrackerError(err)
	}
	return fcClients.add(c), nil
}

// fcClose closes the client of handle, which makes its requests in flight
// fail. Closing a closed or unknown handle succeeds.
func fcClose(handle uint64) (any, *errorInfo) {
	if c, ok := fcClients.remove(handle); ok {
		// Close always returns nil.
		_ = c.Close()
	}
	return nil, nil
}

// fcClient returns the open client of handle.
func fcClient(handle uint64) (*firecracker.Client, *errorInfo) {
	if c, ok := fcClients.get(handle); ok {
		return c, nil
	}
	msg := firecracker.ErrClosed.Error()
	return nil, &errorInfo{Kind: kindOS, Message: msg, Detail: msg}
}

// fcReply is the result of fcRequest. Payload is the reply's JSON body,
// passed through undecoded, and null when the body is empty.
type fcReply struct {
	Status  int             `json:"status"`
	Payload json.RawMessage `json:"payload"`
}

// fcRequest sends one request. body is the JSON to send, or empty for no
// body. The client's default timeouts bound it: 30 s, or 10 min for
// /snapshot/ paths.
func fcRequest(handle uint64, method, path, body string) (any, *errorInfo) {
	c, errInfo := fcClient(handle)
	if errInfo != nil {
		return nil, errInfo
	}
	// A nil interface, not a nil json.RawMessage, sends no body.
	var data any
	if body != "" {
		data = json.RawMessage(body)
	}
	status, payload, err := c.Do(context.Background(), method, path, data)
	if err != nil {
		return nil, firecrackerError(err)
	}
	return fcReply{Status: status, Payload: payload}, nil
}

// fcWait polls the API socket of handle until GET / returns 200, for at
// most timeout seconds, and returns the instance info. A pid above 0 names
// the Firecracker process, and the wait stops early once it has exited.
func fcWait(handle uint64, timeout float64, pid int64) (any, *errorInfo) {
	wait, errInfo := seconds("timeout", timeout)
	if errInfo != nil {
		return nil, errInfo
	}
	if pid < 0 || pid > math.MaxInt32 {
		return nil, valueError("pid must be from 1 to %d, or None, got %d", math.MaxInt32, pid)
	}
	c, errInfo := fcClient(handle)
	if errInfo != nil {
		return nil, errInfo
	}
	info, err := c.WaitReady(context.Background(), &firecracker.WaitOptions{Timeout: wait, PID: int(pid)})
	if err != nil {
		return nil, firecrackerError(err)
	}
	return info, nil
}

// firecrackerError maps an error of the firecracker package: a reply with
// an error status to kind "firecracker_api", invalid input to kind
// "value", and a request without a usable reply to kind "os".
func firecrackerError(err error) *errorInfo {
	var (
		apiErr *firecracker.APIError
		verr   *firecracker.ValidationError
	)
	switch {
	case errors.As(err, &apiErr):
		details := map[string]any{
			"socket_path":   apiErr.Socket,
			"method":        apiErr.Method,
			"path":          apiErr.Path,
			"status_code":   apiErr.StatusCode,
			"fault_message": nil,
		}
		if apiErr.FaultMessage != "" {
			details["fault_message"] = apiErr.FaultMessage
		}
		if len(apiErr.Body) > 0 {
			details["body"] = string(apiErr.Body)
		}
		return &errorInfo{Kind: kindFirecrackerAPI, Message: err.Error(), Details: details}
	case errors.As(err, &verr):
		return valueError("%s", verr.Error())
	}
	return &errorInfo{Kind: kindOS, Errno: firecrackerErrno(err), Message: err.Error(), Detail: err.Error()}
}

// firecrackerErrno returns the errno that Python raises for a request
// without a usable reply. The conditions that end a wait come first,
// because a wait's error also wraps the errno of its last attempt, such as
// ENOENT while the socket did not exist yet.
func firecrackerErrno(err error) int {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return int(syscall.ETIMEDOUT)
	case errors.Is(err, firecracker.ErrProcessExited):
		return int(syscall.ESRCH)
	case errors.Is(err, firecracker.ErrClosed),
		errors.Is(err, firecracker.ErrInvalidReply),
		errors.Is(err, firecracker.ErrResponseTooLarge):
		return 0
	}
	return errnoOf(err)
}
