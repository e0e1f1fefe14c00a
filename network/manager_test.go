package network

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"testing"
)

// panicBackend fails the test on any kernel call, to prove that bad input is
// rejected before one.
type panicBackend struct{ backend }

func TestValidationBeforeKernel(t *testing.T) {
	m := &Manager{sys: panicBackend{}}
	ctx := context.Background()
	good := netip.MustParsePrefix("172.16.0.1/30")
	tests := map[string]error{
		"CreateTAP name":        m.CreateTAP(ctx, "bad/name", 0),
		"CreateTAP uid":         m.CreateTAP(ctx, "tap0", -7),
		"DeleteTAP":             m.DeleteTAP(ctx, ".."),
		"EnsureTAPDeleted":      m.EnsureTAPDeleted(ctx, ""),
		"FlushAddrs":            m.FlushAddrs(ctx, "a:b"),
		"AddAddr IPv6":          m.AddAddr(ctx, "tap0", netip.MustParsePrefix("fd00::1/64")),
		"AddAddr zero":          m.AddAddr(ctx, "tap0", netip.Prefix{}),
		"SetLinkUp":             m.SetLinkUp(ctx, "tap 0"),
		"ConfigureTAP":          m.ConfigureTAP(ctx, "tap0", netip.Prefix{}),
		"PrepareTAP name":       m.PrepareTAP(ctx, "tap%d", 0, good),
		"PrepareTAP uid":        m.PrepareTAP(ctx, "tap0", 1<<33, good),
		"PrepareTAP address":    m.PrepareTAP(ctx, "tap0", 0, netip.MustParsePrefix("::1/128")),
		"AddRoute host bits":    m.AddRoute(ctx, good, "tap0"),
		"AddRoute device":       m.AddRoute(ctx, netip.MustParsePrefix("10.0.0.0/8"), "waytoolonginterface"),
		"WriteSysctl traversal": m.WriteSysctl(ctx, "net/../../etc/passwd", "1"),
		"WriteSysctl value":     m.WriteSysctl(ctx, "net.ipv4.ip_forward", "1\n0"),
	}
	for name, err := range tests {
		var verr *ValidationError
		if !errors.As(err, &verr) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: got %v, want a *ValidationError", name, err)
		}
	}
	if _, err := m.DefaultInterface(ctx, 5); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("DefaultInterface(5) = %v, want an error matching fs.ErrInvalid", err)
	}
	if _, err := m.TAPInfo(ctx, "x/y"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("TAPInfo(x/y) = %v, want an error matching fs.ErrInvalid", err)
	}
	if _, err := New(Options{Netns: "../etc"}); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("New with netns ../etc = %v, want an error matching fs.ErrInvalid", err)
	}
}

func TestCancelledContextChangesNothing(t *testing.T) {
	m := &Manager{sys: panicBackend{}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	good := netip.MustParsePrefix("172.16.0.1/30")
	errs := []error{
		m.CreateTAP(ctx, "tap0", 0),
		m.DeleteTAP(ctx, "tap0"),
		m.AddAddr(ctx, "tap0", good),
		m.SetLinkUp(ctx, "tap0"),
		m.AddRoute(ctx, good.Masked(), "tap0"),
		m.WriteSysctl(ctx, "net.ipv4.ip_forward", "1"),
	}
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: got %v, want an error matching context.Canceled", i, err)
		}
	}
}
