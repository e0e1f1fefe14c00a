package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/qmptest"
)

// open connects to srv through qmpOpen and closes the handle in t.Cleanup.
func open(t *testing.T, srv *qmptest.Server) uint64 {
	t.Helper()
	value, errInfo := qmpOpen(srv.SocketPath(), 10, 10)
	if errInfo != nil {
		t.Fatalf("qmpOpen: %+v", errInfo)
	}
	handle := value.(uint64)
	t.Cleanup(func() { qmpClose(handle) })
	return handle
}

// jobsHandler replies to query-jobs with jobs and to job-dismiss with
// success.
func jobsHandler(jobs ...map[string]any) map[string]qmptest.Handler {
	return map[string]qmptest.Handler{
		"query-jobs":  func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, jobs) },
		"job-dismiss": func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, map[string]any{}) },
	}
}

func TestQMPExecute(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{})
	handle := open(t, srv)

	got, errInfo := qmpQueryStatus(handle)
	if errInfo != nil {
		t.Fatalf("qmpQueryStatus: %+v", errInfo)
	}
	var status struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(got.(json.RawMessage), &status); err != nil || status.Status == "" {
		t.Errorf("qmpQueryStatus = %s, %v, want a status", got, err)
	}

	_, errInfo = qmpExecute(handle, "no-such-command", `{"a": 1}`)
	if errInfo == nil {
		t.Fatal("qmpExecute of an unknown command succeeded")
	}
	wantDetails := map[string]any{
		"socket_path": srv.SocketPath(),
		"command":     "no-such-command",
		"class":       "CommandNotFound",
		"desc":        "The command no-such-command has not been found",
	}
	if diff := cmp.Diff(wantDetails, errInfo.Details); diff != "" {
		t.Errorf("error details (-want +got):\n%s", diff)
	}
	if errInfo.Kind != kindQMP || !strings.Contains(errInfo.Message, "has not been found") {
		t.Errorf("error = %+v, want kind qmp with QEMU's description", errInfo)
	}
}

func TestQMPExecuteRejectsBadArguments(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{})
	handle := open(t, srv)

	_, errInfo := qmpExecute(handle, "query-status", `[1]`)
	if errInfo == nil || errInfo.Kind != kindQMP || errInfo.Details["command"] != "query-status" {
		t.Errorf("qmpExecute with a JSON array = %+v, want a QMP error naming the command", errInfo)
	}
	_, errInfo = qmpExecute(handle, "", "")
	if errInfo == nil || errInfo.Kind != kindValue {
		t.Errorf("qmpExecute without a command = %+v, want a value error", errInfo)
	}
}

func TestQMPWaitJob(t *testing.T) {
	tests := []struct {
		name        string
		jobs        []map[string]any
		timeout     float64
		wantJob     any
		wantDetails map[string]any
		wantMessage string
	}{
		{
			name: "concluded",
			jobs: []map[string]any{{
				"id": "j1", "type": "snapshot-save", "status": "concluded",
				"current-progress": 1, "total-progress": 1,
			}},
			timeout: 10,
			wantJob: jobRecord{JobID: "j1", JobType: "snapshot-save", Status: "concluded", CurrentProgress: 1, TotalProgress: 1},
		},
		{
			name: "failed",
			jobs: []map[string]any{{
				"id": "j1", "type": "snapshot-save", "status": "concluded",
				"current-progress": 1, "total-progress": 1, "error": "Device 'nope' not found",
			}},
			timeout: 10,
			wantDetails: map[string]any{
				"job_id": "j1", "job_type": "snapshot-save", "status": "concluded", "error": "Device 'nope' not found",
			},
			wantMessage: "job failed with status concluded: Device 'nope' not found",
		},
		{
			name:        "not found",
			timeout:     10,
			wantDetails: map[string]any{"job_id": "j1", "last_status": nil},
			wantMessage: "job not found",
		},
		{
			name: "timeout",
			jobs: []map[string]any{{
				"id": "j1", "type": "backup", "status": "pending", "current-progress": 0, "total-progress": 1,
			}},
			timeout:     0.2,
			wantDetails: map[string]any{"job_id": "j1", "last_status": "pending"},
			wantMessage: "did not conclude within 200ms (last status pending)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmptest.NewServer(t, qmptest.Config{Handlers: jobsHandler(tt.jobs...)})
			handle := open(t, srv)

			got, errInfo := qmpWaitJob(handle, "j1", tt.timeout)

			if tt.wantDetails == nil {
				if errInfo != nil {
					t.Fatalf("qmpWaitJob: %+v", errInfo)
				}
				if diff := cmp.Diff(tt.wantJob, got); diff != "" {
					t.Errorf("qmpWaitJob (-want +got):\n%s", diff)
				}
				return
			}
			if errInfo == nil {
				t.Fatalf("qmpWaitJob = %v, want an error", got)
			}
			tt.wantDetails["socket_path"] = srv.SocketPath()
			if diff := cmp.Diff(tt.wantDetails, errInfo.Details); diff != "" {
				t.Errorf("error details (-want +got):\n%s", diff)
			}
			if !strings.Contains(errInfo.Message, tt.wantMessage) {
				t.Errorf("error message %q, want it to contain %q", errInfo.Message, tt.wantMessage)
			}
		})
	}
}

func TestQMPQueryJobs(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: jobsHandler(
		map[string]any{"id": "a", "type": "backup", "status": "running", "current-progress": 5, "total-progress": 10},
		map[string]any{"id": "b", "type": "snapshot-save", "status": "concluded", "error": "failed"},
	)})
	handle := open(t, srv)

	got, errInfo := qmpQueryJobs(handle)
	if errInfo != nil {
		t.Fatalf("qmpQueryJobs: %+v", errInfo)
	}
	failed := "failed"
	want := []jobRecord{
		{JobID: "a", JobType: "backup", Status: "running", CurrentProgress: 5, TotalProgress: 10},
		{JobID: "b", JobType: "snapshot-save", Status: "concluded", Error: &failed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("qmpQueryJobs (-want +got):\n%s", diff)
	}
}

func TestQMPClosedHandle(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{})
	handle := open(t, srv)

	if _, errInfo := qmpClose(handle); errInfo != nil {
		t.Fatalf("qmpClose: %+v", errInfo)
	}
	if _, errInfo := qmpClose(handle); errInfo != nil {
		t.Errorf("second qmpClose: %+v", errInfo)
	}
	_, errInfo := qmpStop(handle)
	if errInfo == nil || errInfo.Kind != kindQMP || errInfo.Message != "QMP client is not connected" {
		t.Errorf("qmpStop on a closed handle = %+v, want a QMP error", errInfo)
	}
	if _, errInfo := qmpCont(0); errInfo == nil {
		t.Error("qmpCont on handle 0 succeeded")
	}
}

func TestQMPOpenRejectsBadInput(t *testing.T) {
	tests := []struct {
		name                 string
		socket               string
		timeout, readTimeout float64
	}{
		{name: "zero timeout", socket: "/tmp/x.sock", timeout: 0, readTimeout: 1},
		{name: "negative read timeout", socket: "/tmp/x.sock", timeout: 1, readTimeout: -1},
		{name: "nan", socket: "/tmp/x.sock", timeout: math.NaN(), readTimeout: 1},
		{name: "infinite", socket: "/tmp/x.sock", timeout: math.Inf(1), readTimeout: 1},
		{name: "too long", socket: "/tmp/x.sock", timeout: 1e300, readTimeout: 1},
		{name: "empty socket", socket: "", timeout: 1, readTimeout: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := qmpOpen(tt.socket, tt.timeout, tt.readTimeout)
			if errInfo == nil || errInfo.Kind != kindValue {
				t.Errorf("qmpOpen = %+v, want a value error", errInfo)
			}
		})
	}
}

func TestQMPOpenTimesOut(t *testing.T) {
	socket := t.TempDir() + "/missing.sock"

	_, errInfo := qmpOpen(socket, 0.1, 1)

	if errInfo == nil || errInfo.Kind != kindQMP {
		t.Fatalf("qmpOpen of a missing socket = %+v, want a QMP error", errInfo)
	}
	if diff := cmp.Diff(map[string]any{"socket_path": socket}, errInfo.Details); diff != "" {
		t.Errorf("error details (-want +got):\n%s", diff)
	}
	if !strings.Contains(errInfo.Message, "timed out") {
		t.Errorf("error message %q does not say that it timed out", errInfo.Message)
	}
}
