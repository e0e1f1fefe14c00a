package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

// fakeBackend records transactions and fails apply with err while err is
// set.
type fakeBackend struct {
	name    string
	err     error
	applied []*transaction
	elems   []elem
	present bool
	closed  bool
}

func (f *fakeBackend) inspect(context.Context) (tableInfo, error) {
	if !f.present {
		return tableInfo{}, nil
	}
	return tableInfo{present: true}, nil
}

func (f *fakeBackend) apply(_ context.Context, tx *transaction) error {
	if f.err != nil {
		return f.err
	}
	f.applied = append(f.applied, tx)
	f.present = true
	return nil
}

func (f *fakeBackend) list(context.Context) ([]elem, bool, error) { return f.elems, f.present, f.err }
func (f *fakeBackend) forwardDrops(context.Context) ([]ForeignChain, error) {
	return nil, nil
}
func (f *fakeBackend) close() error { f.closed = true; return nil }

// fakeManager returns a manager on a failing "native" fake that falls back
// to a working "command" fake, and the log it writes.
func fakeManager(opts Options, nativeErr error) (*Manager, *fakeBackend, *fakeBackend, *bytes.Buffer) {
	var logBuf bytes.Buffer
	native := &fakeBackend{name: "native", err: nativeErr}
	command := &fakeBackend{name: "command"}
	m := &Manager{
		opts:        opts,
		logger:      slog.New(slog.NewTextHandler(&logBuf, nil)),
		sys:         native,
		native:      true,
		commandPath: func() backend { return command },
		forwarding:  true, // keep the network package out of these tests
	}
	return m, native, command, &logBuf
}

func TestPermissionErrorSwitchesOnce(t *testing.T) {
	m, native, command, logBuf := fakeManager(Options{}, fmt.Errorf("nftables transaction rejected: %w", syscall.EPERM))
	f := Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")}
	for range 3 {
		if err := m.AddForward(context.Background(), f); err != nil {
			t.Fatalf("AddForward: %v", err)
		}
	}
	if got := m.Backend(); got != BackendCommand {
		t.Errorf("Backend() = %v, want command", got)
	}
	if !native.closed {
		t.Error("the native backend was not closed after the switch")
	}
	if len(command.applied) != 3 {
		t.Errorf("command path applied %d transactions, want 3", len(command.applied))
	}
	if n := strings.Count(logBuf.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d warnings, want 1:\n%s", n, logBuf)
	}
	if !strings.Contains(logBuf.String(), "CAP_NET_ADMIN") {
		t.Errorf("warning does not say how to get the netlink path back:\n%s", logBuf)
	}
}

func TestPermissionErrorWithNativeBackendStays(t *testing.T) {
	m, _, command, logBuf := fakeManager(Options{Backend: BackendNative}, syscall.EACCES)
	err := m.AddForward(context.Background(), Forward{HostPort: 8080, Guest: netip.MustParseAddrPort("172.16.0.2:80")})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("AddForward: %v, want fs.ErrPermission", err)
	}
	var opErr *OpError
	if !errors.As(err, &opErr) || opErr.Op != "add forward" || opErr.Object != "host port 8080" {
		t.Errorf("error %v is not an OpError of add forward on host port 8080", err)
	}
	if len(command.applied) != 0 || logBuf.Len() != 0 {
		t.Errorf("BackendNative fell back: %d applies, log %q", len(command.applied), logBuf)
	}
}

func TestFirstApplyCreatesTable(t *testing.T) {
	m, native, _, _ := fakeManager(Options{}, nil)
	for range 2 {
		if err := m.Isolate(context.Background(), "tap0", "sbx"); err != nil {
			t.Fatal(err)
		}
	}
	if len(native.applied) != 2 {
		t.Fatalf("applied %d transactions, want 2", len(native.applied))
	}
	if !native.applied[0].create {
		t.Error("first apply does not create the table")
	}
	if native.applied[1].create || len(native.applied[1].resetChains) != 0 {
		t.Error("second apply repeats the schema work")
	}
}

func TestDisableNativeEnv(t *testing.T) {
	for _, v := range []string{"1", "true", "yes", "YES"} {
		t.Setenv(DisableNativeEnv, v)
		m, err := New(Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Backend(); got != BackendCommand {
			t.Errorf("%s=%s: Backend() = %v, want command", DisableNativeEnv, v, got)
		}
		m.Close()
	}
}

func TestClosedManager(t *testing.T) {
	m, _ := New(Options{Backend: BackendCommand})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	err := m.RemoveForward(context.Background(), 80)
	if !errors.Is(err, ErrClosed) {
		t.Errorf("RemoveForward after Close: %v, want ErrClosed", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{Netns: "../x"}, {Netns: "a/b"}, {Backend: Backend(7)}} {
		_, err := New(opts)
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("New(%+v): %v, want fs.ErrInvalid", opts, err)
		}
	}
}

func TestErrorsMatch(t *testing.T) {
	conflict := &OpError{Op: "add forward", Object: "host port 80", Err: &ConflictError{Existing: Forward{HostPort: 80, Guest: netip.MustParseAddrPort("172.16.0.2:80"), TAP: "tap0"}}}
	tests := []struct {
		err    error
		target error
		text   string
	}{
		{conflict, fs.ErrExist, "add forward host port 80: host port 80 already forwards to 172.16.0.2:80 of tap tap0; remove that forward first"},
		{&OpError{Op: "list", Err: syscall.EPERM}, fs.ErrPermission, "list: operation not permitted"},
		{&OpError{Op: "set up nat", Object: "tap tap0", Err: ErrNotAvailable}, errors.ErrUnsupported, "set up nat tap tap0: Not available on this platform"},
		{invalid("tap name", "a b", "must not contain whitespace"), fs.ErrInvalid, `invalid tap name "a b": must not contain whitespace`},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.target) {
			t.Errorf("%v does not match %v", tt.err, tt.target)
		}
		if tt.err.Error() != tt.text {
			t.Errorf("text = %q, want %q", tt.err.Error(), tt.text)
		}
	}
}
