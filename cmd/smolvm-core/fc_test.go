package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/fctest"
)

func TestFCCommands(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{ID: "sandbox-7"})
	fc := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"fc", "--socket", srv.SocketPath()}, args...)...)
	}

	code, stdout, stderr := fc("wait", "--timeout", "10s")
	if code != 0 {
		t.Fatalf("fc wait: exit %d, stderr %q", code, stderr)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(stdout), &info); err != nil || info["id"] != "sandbox-7" || info["state"] != "Not started" {
		t.Errorf("fc wait printed %q (%v), want the instance info", stdout, err)
	}

	steps := [][]string{
		{"put", "/machine-config", `{"vcpu_count": 2, "mem_size_mib": 256}`},
		{"put", "/boot-source", `{"kernel_image_path": "/srv/vmlinux"}`},
		{"put", "/actions", `{"action_type": "InstanceStart"}`},
		{"patch", "/vm", `{"state": "Paused"}`},
	}
	for _, args := range steps {
		code, stdout, stderr := fc(args...)
		if code != 0 || strings.TrimSpace(stdout) != "{\n  \"status\": 204\n}" || stderr != "" {
			t.Errorf("fc %v: exit %d, stdout %q, stderr %q, want 0 and {\"status\": 204}", args, code, stdout, stderr)
		}
	}

	code, stdout, stderr = fc("get", "/machine-config")
	if code != 0 {
		t.Fatalf("fc get /machine-config: exit %d, stderr %q", code, stderr)
	}
	var mc map[string]any
	if err := json.Unmarshal([]byte(stdout), &mc); err != nil || mc["vcpu_count"] != 2.0 || mc["mem_size_mib"] != 256.0 {
		t.Errorf("fc get /machine-config printed %q (%v)", stdout, err)
	}
	if code, stdout, _ := fc("get", "/"); code != 0 || !strings.Contains(stdout, `"state": "Paused"`) {
		t.Errorf("fc get / after pause: exit %d, stdout %q", code, stdout)
	}

	// Firecracker's fault is exit status 1 with the fault on stderr.
	code, stdout, stderr = fc("put", "/boot-source", `{"kernel_image_path": "/srv/other"}`)
	want := "smolvm-core: firecracker PUT /boot-source on " + srv.SocketPath() + ": 400 Bad Request: boot-source is not allowed after the microVM started\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("rejected put: exit %d, stdout %q, stderr %q, want 1 and %q", code, stdout, stderr, want)
	}
}

func TestFCFailures(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /slow":   {Delay: time.Minute},
		"GET /broken": {CloseEarly: true},
	}})
	missing := filepath.Join(t.TempDir(), "none.sock")
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"timeout", []string{"fc", "--socket", srv.SocketPath(), "--timeout", "50ms", "get", "/slow"}, "timed out: context deadline exceeded"},
		{"closed connection", []string{"fc", "--socket", srv.SocketPath(), "get", "/broken"}, "firecracker GET /broken on " + srv.SocketPath() + ": EOF"},
		{"missing socket", []string{"fc", "--socket", missing, "get", "/"}, "connect: no such file or directory"},
		{"wait timeout", []string{"fc", "--socket", missing, "--timeout", "50ms", "wait"}, "last attempt: dial unix " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.message) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q, want 1 and one line with %q", code, stdout, stderr, tt.message)
			}
		})
	}
}

func TestFCWaitProcessExited(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if path, err := exec.LookPath("true"); err == nil {
		cmd = exec.Command(path)
	}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	code, _, stderr := runCLI(t, "fc", "--socket", sock, "--timeout", "1m", "wait", "--pid", strconv.Itoa(cmd.Process.Pid))
	if code != 1 || !strings.Contains(stderr, "firecracker process exited") {
		t.Errorf("fc wait --pid of an exited process: exit %d, stderr %q", code, stderr)
	}
}

func TestFCUsageErrors(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	sock := srv.SocketPath()
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"no socket", []string{"fc", "get", "/"}, "--socket is required"},
		{"netns", []string{"--netns", "x", "fc", "--socket", sock, "get", "/"}, "--netns applies to network commands only, not to fc get"},
		{"no subcommand", []string{"fc"}, "fc needs a subcommand"},
		{"get without path", []string{"fc", "--socket", sock, "get"}, "fc get takes the arguments PATH, got 0"},
		{"put without body", []string{"fc", "--socket", sock, "put", "/actions"}, "fc put takes the arguments PATH JSON, got 1"},
		{"relative path", []string{"fc", "--socket", sock, "get", "machine-config"}, `invalid path "machine-config": must start with "/"`},
		{"path traversal", []string{"fc", "--socket", sock, "put", "/drives/..", "{}"}, `invalid path "/drives/.."`},
		{"path with query", []string{"fc", "--socket", sock, "get", "/?x"}, `invalid path "/?x"`},
		{"body not an object", []string{"fc", "--socket", sock, "put", "/actions", "[1]"}, "must be a JSON object"},
		{"body broken", []string{"fc", "--socket", sock, "patch", "/vm", "{"}, "unexpected end of JSON input"},
		{"negative timeout", []string{"fc", "--socket", sock, "--timeout", "-1s", "get", "/"}, "invalid --timeout -1s"},
		{"negative pid", []string{"fc", "--socket", sock, "wait", "--pid", "-3"}, "invalid --pid -3"},
		{"wait with argument", []string{"fc", "--socket", sock, "wait", "x"}, "fc wait takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tt.message) {
				t.Errorf("exit %d, stdout %q, stderr %q, want 2 and %q", code, stdout, stderr, tt.message)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("usage errors sent %d requests, want 0", n)
	}
}
