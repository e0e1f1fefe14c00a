package fctest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/fctest"
)

// rawClient returns a bare net/http client for the server's socket, so
// these tests do not depend on the client under test elsewhere.
func rawClient(t *testing.T, srv *fctest.Server) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.SocketPath())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func do(t *testing.T, hc *http.Client, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, string(data)
}

func TestDefaultBehaviour(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{})
	hc := rawClient(t, srv)
	steps := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string
	}{
		{"GET", "/", "", 200, `"state":"Not started"`},
		{"PUT", "/actions", `{"action_type":"InstanceStart"}`, 400, "without a boot source"},
		{"PUT", "/machine-config", `{"vcpu_count":2,"mem_size_mib":256,"bogus":1}`, 400, `unknown field \"bogus\"`},
		{"PUT", "/machine-config", `{"vcpu_count":2,"mem_size_mib":256}`, 204, ""},
		{"GET", "/machine-config", "", 200, `"vcpu_count":2`},
		{"PUT", "/drives/a", `{"drive_id":"b","path_on_host":"/x","is_root_device":true,"is_read_only":false}`, 400, "differs"},
		{"PUT", "/boot-source", `{"kernel_image_path":"/k"}`, 204, ""},
		{"PUT", "/actions", `{"action_type":"InstanceStart"}`, 204, ""},
		{"PUT", "/boot-source", `{"kernel_image_path":"/k"}`, 400, "after the microVM started"},
		{"PUT", "/snapshot/create", `{"snapshot_path":"s","mem_file_path":"m"}`, 400, "must be paused"},
		{"PATCH", "/vm", `{"state":"Paused"}`, 204, ""},
		{"GET", "/", "", 200, `"state":"Paused"`},
		{"DELETE", "/", "", 400, "unknown request: DELETE /"},
	}
	for _, s := range steps {
		status, body := do(t, hc, s.method, s.path, s.body)
		if status != s.wantStatus || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s %s %s = %d %q, want %d and a body with %q", s.method, s.path, s.body, status, body, s.wantStatus, s.wantBody)
		}
	}
	if n := len(srv.Requests()); n != len(steps) {
		t.Errorf("recorded %d requests, want %d", n, len(steps))
	}
}

func TestScriptedReplies(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /": {Status: 500, Fault: "boom"}}})
	hc := rawClient(t, srv)
	if status, body := do(t, hc, "GET", "/", ""); status != 500 || body != `{"fault_message":"boom"}` {
		t.Errorf("scripted GET / = %d %q", status, body)
	}
	srv.ClearReply("GET", "/")
	if status, _ := do(t, hc, "GET", "/", ""); status != 200 {
		t.Errorf("GET / after ClearReply = %d, want 200", status)
	}
	srv.SetReply("GET", "/big", fctest.Reply{StreamBytes: 100 << 10})
	if status, body := do(t, hc, "GET", "/big", ""); status != 200 || len(body) != 100<<10 {
		t.Errorf("streamed GET /big = %d with %d bytes, want 200 and %d", status, len(body), 100<<10)
	}
}

func TestCloseEndsSlowReplies(t *testing.T) {
	srv := fctest.NewServer(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /": {Delay: time.Hour}}})
	hc := rawClient(t, srv)
	go hc.Get("http://localhost/")
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		srv.Close()
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return within 20 s while a reply was delayed")
	}
}
