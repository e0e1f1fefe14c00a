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
	for _, method := range []string{"addAddr", "listAddrs", "setLinkUp", "writeSysctl"} {
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

func assertState(t *testing.T, ns string, want []any) {
	t.Helper()
	got := namespaceState(t, ns)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("namespace state changed (-before +after):\n%s", diff)
	}
}
