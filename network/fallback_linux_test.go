package network

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// refusing is a native backend whose TAP creation fails with err, as the
// kernel's would without privilege.
type refusing struct {
	backend
	err error
}

func (r refusing) createTAP(context.Context, string, int, tapOptions) (bool, error) {
	return false, r.err
}

// newFallbackManager returns an auto manager bound to a fresh namespace
// whose native backend fails TAP creation with err, and the buffer its
// logger writes to.
func newFallbackManager(t *testing.T, err error) (*Manager, string, *bytes.Buffer) {
	t.Helper()
	t.Setenv("SMOLVM_DISABLE_NATIVE_NETWORKING", "")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	m, ns := newTestManager(t, Options{Backend: BackendAuto, Logger: logger})
	if got := m.Path().Backend; got != BackendNative {
		t.Fatalf("a root manager took the %s path: %s", got, m.Path().Reason)
	}
	m.sys = refusing{m.sys, err}
	m.native = m.sys
	return m, ns, &logs
}

func TestFallbackOnEPERM(t *testing.T) {
	ctx := context.Background()
	m, ns, logs := newFallbackManager(t, syscall.EPERM)

	if err := m.PrepareTAP(ctx, "tap0", testUID, netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		t.Fatalf("PrepareTAP = %v, want success on the command path", err)
	}
	if got := m.Path(); got.Backend != BackendCommand || !strings.Contains(got.Reason, "operation not permitted") {
		t.Fatalf("path after EPERM = %+v, want the command path with the cause", got)
	}
	if l := linkInfo(t, ns, "tap0"); l == nil {
		t.Fatal("the command path did not create tap0")
	}
	if err := m.CreateTAP(ctx, "tap1", testUID); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "CAP_NET_ADMIN") {
		t.Fatalf("the warning does not say how to get the native path back:\n%s", logs)
	}
}

func TestFallbackOnSysctlEACCES(t *testing.T) {
	m, _, logs := newFallbackManager(t, &sysctlDenied{syscall.EACCES})
	if err := m.CreateTAP(context.Background(), "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	if m.Path().Backend != BackendCommand || logs.Len() == 0 {
		t.Fatalf("path %+v and log %q after a refused sysctl open, want the command path and a warning", m.Path(), logs)
	}
}

func TestNoFallbackOnOtherEACCES(t *testing.T) {
	netnstest.RequireRoot(t)
	m, _, logs := newFallbackManager(t, syscall.EACCES)
	err := m.CreateTAP(context.Background(), "tap0", testUID)
	if !errors.Is(err, syscall.EACCES) {
		t.Fatalf("CreateTAP = %v, want the EACCES of the native path", err)
	}
	if m.Path().Backend != BackendNative || logs.Len() != 0 {
		t.Fatalf("path %+v and log %q after an EACCES with CAP_NET_ADMIN held, want no switch", m.Path(), logs)
	}
}

func TestNoFallbackWhenNativeRequested(t *testing.T) {
	m, _ := newTestManager(t, Options{Backend: BackendNative})
	m.sys = refusing{m.sys, syscall.EPERM}
	err := m.CreateTAP(context.Background(), "tap0", testUID)
	if !errors.Is(err, syscall.EPERM) || m.Path().Backend != BackendNative {
		t.Fatalf("CreateTAP = %v on path %s, want EPERM and no switch", err, m.Path().Backend)
	}
}

func TestEnvForcesCommandPath(t *testing.T) {
	for _, v := range []string{"1", "true", "yes"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("SMOLVM_DISABLE_NATIVE_NETWORKING", v)
			var logs bytes.Buffer
			m, _ := newTestManager(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			p := m.Path()
			if p.Backend != BackendCommand || !strings.Contains(p.Reason, "SMOLVM_DISABLE_NATIVE_NETWORKING") {
				t.Fatalf("path %+v, want the command path naming the variable", p)
			}
			if logs.Len() != 0 {
				t.Fatalf("a requested command path logged %q", logs.String())
			}
		})
	}
}

func TestMissingNetnsOnBothPaths(t *testing.T) {
	netnstest.RequireRoot(t)
	for _, b := range []Backend{BackendNative, BackendCommand} {
		t.Run(b.String(), func(t *testing.T) {
			_, err := New(Options{Netns: "smolvm-test-absent", Backend: b})
			var opErr *OpError
			if !errors.As(err, &opErr) || opErr.Op != "open netns" || !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("New with a missing namespace = %v, want an open netns error matching fs.ErrNotExist", err)
			}
		})
	}
}
