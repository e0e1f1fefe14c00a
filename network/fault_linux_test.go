package network

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// faulty is the real backend with one method failing with err, as if the
// kernel refused that step.
type faulty struct {
	backend
	method string
	err    error
}

func (f faulty) fail(method string) error {
	if method == f.method {
		return f.err
	}
	return nil
}

func (f faulty) addAddr(ctx context.Context, dev string, p netip.Prefix) error {
	if err := f.fail("addAddr"); err != nil {
		return err
	}
	return f.backend.addAddr(ctx, dev, p)
}

func (f faulty) listAddrs(ctx context.Context, dev string) ([]netip.Prefix, error) {
	if err := f.fail("listAddrs"); err != nil {
		return nil, err
	}
	return f.backend.listAddrs(ctx, dev)
}

func (f faulty) setLinkUp(ctx context.Context, dev string) error {
	if err := f.fail("setLinkUp"); err != nil {
		return err
	}
	return f.backend.setLinkUp(ctx, dev)
}

func (f faulty) writeSysctl(ctx context.Context, path, value string) error {
	if err := f.fail("writeSysctl"); err != nil {
		return err
	}
	return f.backend.writeSysctl(ctx, path, value)
}

// TestPrepareTAPFaults fails each step of PrepareTAP in turn, with EPERM
// part-way on a manager fixed to the native path and with other errnos, and
// checks the typed error, the rollback and that nothing leaks.
func TestPrepareTAPFaults(t *testing.T) {
	// A TAP that PrepareTAP creates has no address to list, so listAddrs is
	// failed on an existing TAP in TestPrepareExistingTAPFault.
	for _, method := range []string{"addAddr", "setLinkUp", "writeSysctl"} {
		for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOSPC, syscall.EIO} {
			t.Run(method+"/"+errno.Error(), func(t *testing.T) {
				m, ns := newTestManager(t, Options{Backend: BackendNative})
				before := namespaceState(t, ns)
				res := countResources(t)
				m.sys = faulty{backend: m.sys, method: method, err: errno}

				err := m.PrepareTAP(context.Background(), "tap0", testUID, netip.MustParsePrefix("10.0.0.1/24"), WithSandbox("sb"))
				var opErr *OpError
				if !errors.As(err, &opErr) || !errors.Is(err, errno) {
					t.Fatalf("PrepareTAP = %v, want an *OpError matching %v", err, errno)
				}
				assertState(t, ns, before)
				checkNoLeaks(t, res)
			})
		}
	}
}

// TestPrepareExistingTAPFault fails the address listing, which only a
// PrepareTAP of an existing TAP runs. The TAP, which the call did not
// create, stays.
func TestPrepareExistingTAPFault(t *testing.T) {
	m, ns := newTestManager(t, Options{Backend: BackendNative})
	if err := m.CreateTAP(context.Background(), "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	res := countResources(t)
	m.sys = faulty{backend: m.sys, method: "listAddrs", err: syscall.EIO}

	err := m.PrepareTAP(context.Background(), "tap0", testUID, netip.MustParsePrefix("10.0.0.1/24"))
	var opErr *OpError
	if !errors.As(err, &opErr) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("PrepareTAP = %v, want an *OpError matching EIO", err)
	}
	if linkInfo(t, ns, "tap0") == nil {
		t.Fatal("PrepareTAP deleted a TAP that it did not create")
	}
	checkNoLeaks(t, res)
}

func assertState(t *testing.T, ns string, want []any) {
	t.Helper()
	got := namespaceState(t, ns)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("namespace state changed (-before +after):\n%s", diff)
	}
}
