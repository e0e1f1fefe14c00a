package network

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
)

// failingSysctl is the real backend except that sysctl writes fail, the
// last step of PrepareTAP.
type failingSysctl struct{ backend }

func (failingSysctl) writeSysctl(context.Context, string, string) error { return syscall.EROFS }

func TestPrepareTAPRollsBack(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	m.sys = failingSysctl{m.sys}

	err := m.PrepareTAP(ctx, "tap0", testUID, netip.MustParsePrefix("172.16.0.1/30"))
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("PrepareTAP = %v, want the sysctl error", err)
	}
	if l := linkInfo(t, ns, "tap0"); l != nil {
		t.Fatalf("the failed PrepareTAP left tap0 behind: %v", l)
	}
}

func TestPrepareTAPKeepsExistingOnFailure(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	m.sys = failingSysctl{m.sys}

	err := m.PrepareTAP(ctx, "tap0", testUID, netip.MustParsePrefix("172.16.0.1/30"))
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("PrepareTAP = %v, want the sysctl error", err)
	}
	if linkInfo(t, ns, "tap0") == nil {
		t.Fatal("PrepareTAP deleted a TAP that it did not create")
	}
}
