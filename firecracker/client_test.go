package firecracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

// newClient starts a fake API and returns a client for it, closed when t
// ends.
func newClient(t *testing.T, cfg fctest.Config, opts *firecracker.Options) (*firecracker.Client, *fctest.Server) {
	t.Helper()
	srv := fctest.NewServer(t, cfg)
	c, err := firecracker.New(srv.SocketPath(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// testContext returns a context that ends with the test or after 30 s,
// so a hang fails the test instead of stalling the run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sent is a request as the fake received it, with the body decoded.
type sent struct {
	Method string
	Path   string
	Body   any
}

func sentRequests(t *testing.T, srv *fctest.Server) []sent {
	t.Helper()
	var out []sent
	for _, r := range srv.Requests() {
		s := sent{Method: r.Method, Path: r.Path}
		if len(r.Body) > 0 {
			if err := json.Unmarshal(r.Body, &s.Body); err != nil {
				t.Fatalf("%s %s: body %q is not JSON: %v", r.Method, r.Path, r.Body, err)
			}
		}
		out = append(out, s)
	}
	return out
}

func TestBootSequence(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)

	steps := []struct {
		name string
		run  func() error
	}{
		{"machine config", func() error {
			return c.PutMachineConfig(ctx, firecracker.MachineConfig{VCPUCount: 2, MemSizeMiB: 256, TrackDirtyPages: true})
		}},
		{"boot source", func() error {
			return c.PutBootSource(ctx, firecracker.BootSource{KernelImagePath: "/srv/vmlinux", BootArgs: "console=ttyS0 reboot=k"})
		}},
		{"drive", func() error {
			return c.PutDrive(ctx, firecracker.Drive{DriveID: "rootfs", PathOnHost: "/srv/rootfs.ext4", IsRootDevice: true})
		}},
		{"network interface", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "tap0", GuestMAC: "06:00:ac:10:00:02"})
		}},
		{"start", func() error { return c.StartInstance(ctx) }},
		{"pause", func() error { return c.Pause(ctx) }},
		{"snapshot", func() error {
			return c.CreateSnapshot(ctx, firecracker.SnapshotCreateParams{SnapshotPath: "/srv/vm.snap", MemFilePath: "/srv/vm.mem"})
		}},
		{"resume", func() error { return c.Resume(ctx) }},
		{"ctrl-alt-del", func() error { return c.SendCtrlAltDel(ctx) }},
		{"flush metrics", func() error { return c.FlushMetrics(ctx) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}

	want := []sent{
		{"PUT", "/machine-config", map[string]any{"vcpu_count": 2.0, "mem_size_mib": 256.0, "track_dirty_pages": true}},
		{"PUT", "/boot-source", map[string]any{"kernel_image_path": "/srv/vmlinux", "boot_args": "console=ttyS0 reboot=k"}},
		{"PUT", "/drives/rootfs", map[string]any{"drive_id": "rootfs", "path_on_host": "/srv/rootfs.ext4", "is_root_device": true, "is_read_only": false}},
		{"PUT", "/network-interfaces/eth0", map[string]any{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}},
		{"PUT", "/actions", map[string]any{"action_type": "InstanceStart"}},
		{"PATCH", "/vm", map[string]any{"state": "Paused"}},
		{"PUT", "/snapshot/create", map[string]any{"snapshot_path": "/srv/vm.snap", "mem_file_path": "/srv/vm.mem"}},
		{"PATCH", "/vm", map[string]any{"state": "Resumed"}},
		{"PUT", "/actions", map[string]any{"action_type": "SendCtrlAltDel"}},
		{"PUT", "/actions", map[string]any{"action_type": "FlushMetrics"}},
	}
	if diff := cmp.Diff(want, sentRequests(t, srv)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range srv.Requests() {
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type = %q, want application/json", r.Method, r.Path, got)
		}
	}
}

func TestGetters(t *testing.T) {
	c, _ := newClient(t, fctest.Config{ID: "sandbox-1", VMMVersion: "1.9.1"}, nil)
	ctx := testContext(t)

	info, err := c.InstanceInfo(ctx)
	if err != nil {
		t.Fatalf("InstanceInfo: %v", err)
	}
	wantInfo := firecracker.InstanceInfo{ID: "sandbox-1", State: firecracker.StateNotStarted, VMMVersion: "1.9.1", AppName: "Firecracker"}
	if diff := cmp.Diff(wantInfo, info); diff != "" {
		t.Errorf("InstanceInfo (-want +got):\n%s", diff)
	}

	mc, err := c.MachineConfig(ctx)
	if err != nil {
		t.Fatalf("MachineConfig: %v", err)
	}
	if diff := cmp.Diff(firecracker.MachineConfig{VCPUCount: 1, MemSizeMiB: 128}, mc); diff != "" {
		t.Errorf("default MachineConfig (-want +got):\n%s", diff)
	}
	set := firecracker.MachineConfig{VCPUCount: 4, MemSizeMiB: 1024, SMT: true, HugePages: "2M"}
	if err := c.PutMachineConfig(ctx, set); err != nil {
		t.Fatalf("PutMachineConfig: %v", err)
	}
	mc, err = c.MachineConfig(ctx)
	if err != nil {
		t.Fatalf("MachineConfig after PUT: %v", err)
	}
	if diff := cmp.Diff(set, mc); diff != "" {
		t.Errorf("MachineConfig after PUT (-want +got):\n%s", diff)
	}

	version, err := c.Version(ctx)
	if err != nil || version != "1.9.1" {
		t.Errorf("Version = %q, %v, want 1.9.1", version, err)
	}
}

func TestLoadSnapshot(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)
	p := firecracker.SnapshotLoadParams{
		SnapshotPath:     "/srv/vm.snap",
		MemBackend:       &firecracker.MemoryBackend{BackendType: "File", BackendPath: "/srv/vm.mem"},
		ResumeVM:         true,
		NetworkOverrides: []firecracker.NetworkOverride{{IfaceID: "eth0", HostDevName: "tap7"}},
	}
	if err := c.LoadSnapshot(ctx, p); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	if got := srv.State(); got != fctest.StateRunning {
		t.Errorf("state after load with resume_vm = %q, want %q", got, fctest.StateRunning)
	}
	want := []sent{{"PUT", "/snapshot/load", map[string]any{
		"snapshot_path":     "/srv/vm.snap",
		"mem_backend":       map[string]any{"backend_type": "File", "backend_path": "/srv/vm.mem"},
		"resume_vm":         true,
		"network_overrides": []any{map[string]any{"iface_id": "eth0", "host_dev_name": "tap7"}},
	}}}
	if diff := cmp.Diff(want, sentRequests(t, srv)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// A second load is rejected by the fake as by Firecracker, and the
	// fault comes back in an APIError.
	err := c.LoadSnapshot(ctx, firecracker.SnapshotLoadParams{SnapshotPath: "/srv/vm.snap", MemFilePath: "/srv/vm.mem"})
	var apiErr *firecracker.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.FaultMessage == "" {
		t.Errorf("second LoadSnapshot error = %v, want an APIError with status 400 and a fault message", err)
	}
}

func TestDoBodies(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)
	bodies := []any{
		json.RawMessage(`{"action_type":"FlushMetrics"}`),
		[]byte(`{"action_type": "FlushMetrics"}`),
		map[string]string{"action_type": "FlushMetrics"},
	}
	for _, body := range bodies {
		status, payload, err := c.Do(ctx, "PUT", "/actions", body)
		if err != nil || status != http.StatusNoContent || payload != nil {
			t.Errorf("Do PUT /actions with %T = %d, %q, %v, want 204, nil, nil", body, status, payload, err)
		}
	}
	for i, r := range srv.Requests() {
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil || got["action_type"] != "FlushMetrics" {
			t.Errorf("request %d body %q, want action_type FlushMetrics", i, r.Body)
		}
	}

	status, payload, err := c.Do(ctx, "GET", "/", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Do GET / = %d, %v", status, err)
	}
	var info firecracker.InstanceInfo
	if err := json.Unmarshal(payload, &info); err != nil || info.AppName != "Firecracker" {
		t.Errorf("GET / payload %s: %v", payload, err)
	}
	if got := srv.Requests()[len(bodies)]; len(got.Body) != 0 || got.Header.Get("Content-Type") != "" {
		t.Errorf("GET without a body sent body %q with Content-Type %q", got.Body, got.Header.Get("Content-Type"))
	}
}

func TestReplies(t *testing.T) {
	tests := []struct {
		name        string
		reply       fctest.Reply
		wantStatus  int
		wantPayload string
	}{
		{"no content", fctest.Reply{}, 204, ""},
		{"200 empty body", fctest.Reply{Status: 200}, 200, ""},
		{"200 whitespace body", fctest.Reply{Body: " \r\n"}, 200, ""},
		{"200 object", fctest.Reply{Body: `{"a": 1}`}, 200, `{"a": 1}`},
		{"201 with padding", fctest.Reply{Status: 201, Body: "\n[1,2]\n"}, 201, `[1,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /x": tt.reply}}, nil)
			status, payload, err := c.Do(testContext(t), "GET", "/x", nil)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if string(payload) != tt.wantPayload {
				t.Errorf("payload = %q, want %q", payload, tt.wantPayload)
			}
			if tt.wantPayload == "" && payload != nil {
				t.Errorf("payload = %#v, want nil", payload)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	const sock = "SOCK"
	tests := []struct {
		name      string
		reply     fctest.Reply
		wantFault string
		wantBody  string
		wantText  string
	}{
		{
			name:      "fault",
			reply:     fctest.Reply{Fault: "The requested operation is not supported after starting the microVM."},
			wantFault: "The requested operation is not supported after starting the microVM.",
			wantText:  "firecracker PUT /x on SOCK: 400 Bad Request: The requested operation is not supported after starting the microVM.",
		},
		{
			name:      "500 fault",
			reply:     fctest.Reply{Status: 500, Fault: "Internal error"},
			wantFault: "Internal error",
			wantText:  "firecracker PUT /x on SOCK: 500 Internal Server Error: Internal error",
		},
		{
			name:     "404 without body",
			reply:    fctest.Reply{Status: 404},
			wantText: "firecracker PUT /x on SOCK: 404 Not Found",
		},
		{
			name:     "body not JSON",
			reply:    fctest.Reply{Status: 400, Body: "bad\x00thing"},
			wantBody: "bad\x00thing",
			wantText: `firecracker PUT /x on SOCK: 400 Bad Request: body "bad\x00thing"`,
		},
		{
			name:     "JSON without fault_message",
			reply:    fctest.Reply{Status: 400, Body: `{"error": "x"}`},
			wantBody: `{"error": "x"}`,
			wantText: `firecracker PUT /x on SOCK: 400 Bad Request: body "{\"error\": \"x\"}"`,
		},
		{
			name:     "long body is cut in the text",
			reply:    fctest.Reply{Status: 502, Body: strings.Repeat("x", 300)},
			wantBody: strings.Repeat("x", 300),
			wantText: `firecracker PUT /x on SOCK: 502 Bad Gateway: body "` + strings.Repeat("x", 200) + `" (300 bytes)`,
		},
		{
			name:     "redirect is not followed",
			reply:    fctest.Reply{Status: 307, Body: "{}"},
			wantBody: "{}",
			wantText: `firecracker PUT /x on SOCK: 307 Temporary Redirect: body "{}"`,
		},
		{
			name:     "status without a name",
			reply:    fctest.Reply{Status: 599},
			wantText: "firecracker PUT /x on SOCK: 599",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"PUT /x": tt.reply}}, nil)
			status, payload, err := c.Do(testContext(t), "PUT", "/x", map[string]int{"a": 1})
			var apiErr *firecracker.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v (%T), want an *APIError", err, err)
			}
			wantStatus := tt.reply.Status
			if wantStatus == 0 {
				wantStatus = 400
			}
			if status != wantStatus || apiErr.StatusCode != wantStatus {
				t.Errorf("status = %d, StatusCode = %d, want %d", status, apiErr.StatusCode, wantStatus)
			}
			if payload != nil {
				t.Errorf("payload = %q, want nil", payload)
			}
			if apiErr.Method != "PUT" || apiErr.Path != "/x" || apiErr.Socket != srv.SocketPath() {
				t.Errorf("APIError names %s %s on %s", apiErr.Method, apiErr.Path, apiErr.Socket)
			}
			if apiErr.FaultMessage != tt.wantFault {
				t.Errorf("FaultMessage = %q, want %q", apiErr.FaultMessage, tt.wantFault)
			}
			if string(apiErr.Body) != tt.wantBody {
				t.Errorf("Body = %q, want %q", apiErr.Body, tt.wantBody)
			}
			apiErr.Socket = sock
			if got := apiErr.Error(); got != tt.wantText {
				t.Errorf("Error() = %q\nwant      %q", got, tt.wantText)
			}
		})
	}
}

func TestInvalidReply(t *testing.T) {
	c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /":        {Status: 200, Body: "<html>"},
		"GET /version": {},
	}}, nil)
	ctx := testContext(t)

	status, _, err := c.Do(ctx, "GET", "/", nil)
	if !errors.Is(err, firecracker.ErrInvalidReply) || status != 200 {
		t.Errorf("GET / with an HTML body = %d, %v, want 200 and ErrInvalidReply", status, err)
	}
	if _, err := c.InstanceInfo(ctx); !errors.Is(err, firecracker.ErrInvalidReply) {
		t.Errorf("InstanceInfo with an HTML body: %v, want ErrInvalidReply", err)
	}
	// A typed getter needs a body, and 204 has none.
	if _, err := c.Version(ctx); !errors.Is(err, firecracker.ErrInvalidReply) {
		t.Errorf("Version with 204: %v, want ErrInvalidReply", err)
	}
}

func TestSlowReply(t *testing.T) {
	c, srv := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /slow": {Delay: time.Minute, Body: "{}"},
		"GET /late": {Delay: 20 * time.Millisecond, Body: `{"late": true}`},
	}}, nil)

	_, payload, err := c.Do(testContext(t), "GET", "/late", nil)
	if err != nil || string(payload) != `{"late": true}` {
		t.Errorf("GET /late = %q, %v, want the body after the delay", payload, err)
	}

	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	status, _, err := c.Do(ctx, "GET", "/slow", nil)
	var opErr *firecracker.OpError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &opErr) || status != 0 {
		t.Fatalf("GET /slow with a 50 ms deadline = %d, %v, want 0 and an OpError matching DeadlineExceeded", status, err)
	}
	if want := "firecracker GET /slow on " + srv.SocketPath() + ": timed out: context deadline exceeded"; err.Error() != want {
		t.Errorf("error text = %q, want %q", err, want)
	}

	// The client stays usable after a request timed out.
	if _, err := c.InstanceInfo(testContext(t)); err != nil {
		t.Errorf("InstanceInfo after a timeout: %v", err)
	}
}

func TestDefaultTimeout(t *testing.T) {
	c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /slow":            {Delay: time.Minute, Body: "{}"},
		"PUT /snapshot/create": {Delay: 100 * time.Millisecond},
	}}, &firecracker.Options{Timeout: 30 * time.Millisecond, SnapshotTimeout: time.Minute})
	ctx := testContext(t)

	if _, _, err := c.Do(ctx, "GET", "/slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GET /slow with Options.Timeout 30 ms: %v, want DeadlineExceeded", err)
	}
	// Snapshots take SnapshotTimeout instead of Timeout.
	if err := c.CreateSnapshot(ctx, firecracker.SnapshotCreateParams{SnapshotPath: "s", MemFilePath: "m"}); err != nil {
		t.Errorf("CreateSnapshot taking 100 ms with Timeout 30 ms: %v", err)
	}
}

func TestCancel(t *testing.T) {
	c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /slow": {Delay: time.Minute}}}, nil)
	ctx, cancel := context.WithCancel(testContext(t))
	time.AfterFunc(20*time.Millisecond, cancel)
	_, _, err := c.Do(ctx, "GET", "/slow", nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}

	// A context that has already ended sends nothing.
	c2, srv := newClient(t, fctest.Config{}, nil)
	if _, err := c2.InstanceInfo(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("request with an ended context: %v, want context.Canceled", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestConnectionFailures(t *testing.T) {
	tests := []struct {
		name       string
		reply      fctest.Reply
		wantStatus int
		wantErr    error
	}{
		{"closed before reply", fctest.Reply{CloseEarly: true}, 0, io.EOF},
		{"closed mid body", fctest.Reply{Truncate: true, Body: `{"id": "anonymous-instance", "state": "Running"}`}, 200, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"PUT /x": tt.reply}}, nil)
			status, payload, err := c.Do(testContext(t), "PUT", "/x", map[string]bool{"a": true})
			var opErr *firecracker.OpError
			if !errors.As(err, &opErr) {
				t.Fatalf("error = %v (%T), want an *OpError", err, err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want it to match %v", err, tt.wantErr)
			}
			if status != tt.wantStatus || payload != nil {
				t.Errorf("status, payload = %d, %q, want %d, nil", status, payload, tt.wantStatus)
			}
			var apiErr *firecracker.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("a broken connection gave an APIError: %v", err)
			}
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	const limit = 4 << 10
	big := `"` + strings.Repeat("x", limit) + `"`
	exact := `"` + strings.Repeat("x", limit-2) + `"`
	c, _ := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{
		"GET /declared": {Body: big},
		"GET /streamed": {StreamBytes: 1 << 30},
		"GET /exact":    {Body: exact},
		"GET /fault":    {Status: 400, Body: big},
	}}, &firecracker.Options{MaxResponseSize: limit})
	ctx := testContext(t)

	tests := []struct {
		path              string
		wantContentLength int64
	}{
		{"/declared", int64(len(big))},
		{"/streamed", -1},
		{"/fault", int64(len(big))},
	}
	for _, tt := range tests {
		status, _, err := c.Do(ctx, "GET", tt.path, nil)
		var tooLarge *firecracker.ResponseTooLargeError
		if !errors.As(err, &tooLarge) || !errors.Is(err, firecracker.ErrResponseTooLarge) {
			t.Errorf("GET %s: %v, want a ResponseTooLargeError", tt.path, err)
			continue
		}
		if tooLarge.Limit != limit || tooLarge.ContentLength != tt.wantContentLength {
			t.Errorf("GET %s: Limit %d, ContentLength %d, want %d, %d", tt.path, tooLarge.Limit, tooLarge.ContentLength, limit, tt.wantContentLength)
		}
		if status == 0 {
			t.Errorf("GET %s: status 0, want the status the server sent", tt.path)
		}
	}

	_, payload, err := c.Do(ctx, "GET", "/exact", nil)
	if err != nil || len(payload) != limit {
		t.Errorf("GET /exact: %d bytes, %v, want %d bytes and no error", len(payload), err, limit)
	}
}

func TestMissingSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.sock")
	c, err := firecracker.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.InstanceInfo(testContext(t))
	if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("InstanceInfo on a missing socket: %v, want ENOENT", err)
	}
	if !strings.HasPrefix(err.Error(), "firecracker GET / on "+path+": dial unix "+path+": ") {
		t.Errorf("error text %q does not start with the request and the dial", err)
	}
}

func TestClose(t *testing.T) {
	c, srv := newClient(t, fctest.Config{Replies: map[string]fctest.Reply{"GET /slow": {Delay: time.Minute}}}, nil)
	ctx := testContext(t)

	done := make(chan error, 1)
	go func() {
		_, _, err := c.Do(ctx, "GET", "/slow", nil)
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := <-done; !errors.Is(err, firecracker.ErrClosed) {
		t.Errorf("request in flight during Close: %v, want ErrClosed", err)
	}
	before := len(srv.Requests())
	if _, err := c.InstanceInfo(ctx); !errors.Is(err, firecracker.ErrClosed) {
		t.Errorf("request after Close: %v, want ErrClosed", err)
	}
	if n := len(srv.Requests()); n != before {
		t.Errorf("a request after Close reached the server")
	}
}

func TestKeepAlive(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)
	for i := range 20 {
		if _, err := c.InstanceInfo(ctx); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if err := c.FlushMetrics(ctx); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("40 sequential requests used %d connections, want 1", n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if _, err := c.InstanceInfo(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(srv.Requests()); n != 200 {
		t.Errorf("server received %d requests, want 200", n)
	}
}
