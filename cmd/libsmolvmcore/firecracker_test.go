package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

// openFC returns the handle of a client for socket and closes it in
// t.Cleanup.
func openFC(t *testing.T, socket string) uint64 {
	t.Helper()
	value, errInfo := fcOpen(socket)
	if errInfo != nil {
		t.Fatalf("fcOpen: %+v", errInfo)
	}
	handle := value.(uint64)
	t.Cleanup(func() { fcClose(handle) })
	return handle
}

// requestFC sends a request and returns the reply, failing t on an error.
func requestFC(t *testing.T, handle uint64, method, path, body string) fcReply {
	t.Helper()
	value, errInfo := fcRequest(handle, method, path, body)
	if errInfo != nil {
		t.Fatalf("fcRequest %s %s: %+v", method, path, errInfo)
	}
	return value.(fcReply)
}

func TestFCRequest(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	handle := openFC(t, srv.SocketPath())

	put := requestFC(t, handle, "PUT", "/machine-config", `{"vcpu_count": 2, "mem_size_mib": 256}`)
	if put.Status != 204 || put.Payload != nil {
		t.Errorf("PUT /machine-config = %d %s, want 204 without a body", put.Status, put.Payload)
	}
	if got, want := respond(func() (any, *errorInfo) { return put, nil }), `{"ok":{"status":204,"payload":null}}`; got != want {
		t.Errorf("encoded reply = %s, want %s", got, want)
	}

	get := requestFC(t, handle, "GET", "/machine-config", "")
	var mc firecracker.MachineConfig
	if err := json.Unmarshal(get.Payload, &mc); err != nil {
		t.Fatalf("GET /machine-config payload %s: %v", get.Payload, err)
	}
	if get.Status != 200 || mc.VCPUCount != 2 || mc.MemSizeMiB != 256 {
		t.Errorf("GET /machine-config = %d %+v, want 200 with 2 vCPUs and 256 MiB", get.Status, mc)
	}

	requests := srv.Requests()
	if len(requests) != 2 || string(requests[0].Body) != `{"vcpu_count": 2, "mem_size_mib": 256}` || len(requests[1].Body) != 0 {
		t.Errorf("server received %+v, want the PUT body as sent and a GET without a body", requests)
	}
}

func TestFCRequestAPIError(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{Replies: map[string]fctest.Reply{
		"PUT /actions": {Status: 400, Fault: "The requested operation is not supported"},
		"GET /mmds":    {Status: 500, Body: `{"oops": 1}`},
	}})
	handle := openFC(t, srv.SocketPath())

	tests := []struct {
		name, method, path, body string
		wantDetails              map[string]any
		wantMessage              string
	}{
		{
			name: "fault message", method: "PUT", path: "/actions", body: `{"action_type": "InstanceStart"}`,
			wantDetails: map[string]any{
				"socket_path": srv.SocketPath(), "method": "PUT", "path": "/actions",
				"status_code": 400, "fault_message": "The requested operation is not supported",
			},
			wantMessage: "400 Bad Request: The requested operation is not supported",
		},
		{
			name: "body without fault message", method: "GET", path: "/mmds",
			wantDetails: map[string]any{
				"socket_path": srv.SocketPath(), "method": "GET", "path": "/mmds",
				"status_code": 500, "fault_message": nil, "body": `{"oops": 1}`,
			},
			wantMessage: "500 Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := fcRequest(handle, tt.method, tt.path, tt.body)

			if errInfo == nil || errInfo.Kind != kindFirecrackerAPI {
				t.Fatalf("fcRequest = %+v, want a firecracker_api error", errInfo)
			}
			if diff := cmp.Diff(tt.wantDetails, errInfo.Details); diff != "" {
				t.Errorf("error details (-want +got):\n%s", diff)
			}
			if !strings.Contains(errInfo.Message, tt.wantMessage) {
				t.Errorf("error message %q, want it to contain %q", errInfo.Message, tt.wantMessage)
			}
		})
	}
}

func TestFCRequestRejectsBadInput(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	handle := openFC(t, srv.SocketPath())

	tests := []struct{ name, method, path, body string }{
		{name: "lower-case method", method: "get", path: "/"},
		{name: "relative path", method: "GET", path: "machine-config"},
		{name: "query string", method: "GET", path: "/?x=1"},
		{name: "body not json", method: "PUT", path: "/actions", body: "{"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := fcRequest(handle, tt.method, tt.path, tt.body)
			if errInfo == nil || errInfo.Kind != kindValue {
				t.Errorf("fcRequest = %+v, want a value error", errInfo)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server received %d requests, want none", n)
	}
	if _, errInfo := fcOpen(""); errInfo == nil || errInfo.Kind != kindValue {
		t.Errorf("fcOpen of an empty path = %+v, want a value error", errInfo)
	}
}

func TestFCRequestWithoutReply(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /mmds":    {StreamBytes: 2 << 20},
		"GET /version": {CloseEarly: true},
	}})
	handle := openFC(t, srv.SocketPath())
	missing := openFC(t, t.TempDir()+"/missing.sock")

	tests := []struct {
		name      string
		handle    uint64
		path      string
		wantErrno int
		wantText  string
	}{
		{name: "missing socket", handle: missing, path: "/", wantErrno: int(syscall.ENOENT), wantText: "no such file or directory"},
		{name: "reply too large", handle: handle, path: "/mmds", wantText: "too large"},
		{name: "connection closed", handle: handle, path: "/version", wantText: "firecracker GET /version on "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := fcRequest(tt.handle, "GET", tt.path, "")

			if errInfo == nil || errInfo.Kind != kindOS || errInfo.Errno != tt.wantErrno {
				t.Fatalf("fcRequest = %+v, want kind os with errno %d", errInfo, tt.wantErrno)
			}
			if !strings.Contains(errInfo.Message, tt.wantText) {
				t.Errorf("error message %q, want it to contain %q", errInfo.Message, tt.wantText)
			}
		})
	}
}

func TestFCClosedHandle(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	handle := openFC(t, srv.SocketPath())

	if _, errInfo := fcClose(handle); errInfo != nil {
		t.Fatalf("fcClose: %+v", errInfo)
	}
	if _, errInfo := fcClose(handle); errInfo != nil {
		t.Errorf("second fcClose: %+v", errInfo)
	}
	_, errInfo := fcRequest(handle, "GET", "/", "")
	if errInfo == nil || errInfo.Kind != kindOS || errInfo.Message != "firecracker client closed" {
		t.Errorf("fcRequest on a closed handle = %+v, want an os error", errInfo)
	}
	if _, errInfo := fcWait(0, 1, 0); errInfo == nil {
		t.Error("fcWait on handle 0 succeeded")
	}
}

func TestFCHandleOfAnotherKind(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	handle := openFC(t, srv.SocketPath())

	if _, errInfo := qmpQueryStatus(handle); errInfo == nil || errInfo.Kind != kindQMP {
		t.Errorf("qmpQueryStatus with a Firecracker handle = %+v, want a QMP error", errInfo)
	}
}

func TestFCWait(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{ID: "sandbox-1"})
	handle := openFC(t, srv.SocketPath())

	got, errInfo := fcWait(handle, 10, 0)

	if errInfo != nil {
		t.Fatalf("fcWait: %+v", errInfo)
	}
	want := firecracker.InstanceInfo{ID: "sandbox-1", State: fctest.StateNotStarted, VMMVersion: fctest.DefaultVMMVersion, AppName: "Firecracker"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fcWait (-want +got):\n%s", diff)
	}
}

func TestFCWaitFails(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}

	tests := []struct {
		name      string
		timeout   float64
		pid       int64
		wantErrno syscall.Errno
		wantText  string
	}{
		{name: "timeout", timeout: 0.2, wantErrno: syscall.ETIMEDOUT, wantText: "timed out"},
		{name: "process exited", timeout: 10, pid: int64(exited.Process.Pid), wantErrno: syscall.ESRCH, wantText: "process exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handle := openFC(t, t.TempDir()+"/missing.sock")

			_, errInfo := fcWait(handle, tt.timeout, tt.pid)

			if errInfo == nil || errInfo.Kind != kindOS || errInfo.Errno != int(tt.wantErrno) {
				t.Fatalf("fcWait = %+v, want kind os with errno %d", errInfo, tt.wantErrno)
			}
			for _, text := range []string{tt.wantText, "no such file or directory"} {
				if !strings.Contains(errInfo.Message, text) {
					t.Errorf("error message %q, want it to contain %q", errInfo.Message, text)
				}
			}
		})
	}
}

func TestFCWaitRejectsBadInput(t *testing.T) {
	handle := openFC(t, t.TempDir()+"/missing.sock")

	for _, tt := range []struct {
		timeout float64
		pid     int64
	}{{timeout: 0}, {timeout: -1}, {timeout: 1, pid: -1}, {timeout: 1, pid: 1 << 40}} {
		t.Run(fmt.Sprintf("timeout %v pid %d", tt.timeout, tt.pid), func(t *testing.T) {
			if _, errInfo := fcWait(handle, tt.timeout, tt.pid); errInfo == nil || errInfo.Kind != kindValue {
				t.Errorf("fcWait = %+v, want a value error", errInfo)
			}
		})
	}
}

func TestFirecrackerErrno(t *testing.T) {
	op := func(err error) error {
		return &firecracker.OpError{Method: "GET", Path: "/", Socket: "/run/fc.sock", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{name: "missing socket", err: op(fmt.Errorf("dial: %w", syscall.ENOENT)), want: syscall.ENOENT},
		{name: "refused", err: op(fmt.Errorf("dial: %w", syscall.ECONNREFUSED)), want: syscall.ECONNREFUSED},
		{name: "timeout before last attempt", err: op(fmt.Errorf("%w; last attempt: %w", context.DeadlineExceeded, syscall.ENOENT)), want: syscall.ETIMEDOUT},
		{name: "exited before last attempt", err: op(fmt.Errorf("%w; last attempt: %w", firecracker.ErrProcessExited, syscall.ENOENT)), want: syscall.ESRCH},
		{name: "closed", err: op(fmt.Errorf("%w; last attempt: %w", firecracker.ErrClosed, syscall.ENOENT)), want: 0},
		{name: "invalid reply", err: op(firecracker.ErrInvalidReply), want: 0},
		{name: "other", err: op(errors.New("unexpected EOF")), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firecrackerErrno(tt.err); got != int(tt.want) {
				t.Errorf("firecrackerErrno(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
