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
		"WriteSysctl empty":     m.WriteSysctl(ctx, "net.ipv4.ip_forward", ""),
		"AddAddr unspecified":   m.AddAddr(ctx, "tap0", netip.MustParsePrefix("0.0.0.0/0")),
		"ConfigureTAP network":  m.ConfigureTAP(ctx, "tap0", netip.MustParsePrefix("172.16.0.0/30")),
		"PrepareTAP multicast":  m.PrepareTAP(ctx, "tap0", 0, netip.MustParsePrefix("224.0.0.1/32")),
		"CreateTAP reserved":    m.CreateTAP(ctx, "all", 0),
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

	bound := &Manager{sys: panicBackend{}, netns: "sandbox"}
	for _, key := range []string{"kernel.pid_max", "vm/swappiness", "fs.file-max"} {
		if err := bound.WriteSysctl(ctx, key, "1"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("WriteSysctl(%s) on a bound manager = %v, want an error matching fs.ErrInvalid", key, err)
		}
	}
}

// closedBackend counts close calls; every other method would panic.
type closedBackend struct {
	panicBackend
	closes *int
}

func (b closedBackend) close() error {
	*b.closes++
	return nil
}

func TestClosedManager(t *testing.T) {
	closes := 0
	m := &Manager{sys: closedBackend{closes: &closes}}
	ctx := context.Background()
	for range 2 {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if closes != 1 {
		t.Errorf("backend closed %d times, want 1", closes)
	}
	errs := []error{
		m.CreateTAP(ctx, "tap0", 0),
		m.DeleteTAP(ctx, "tap0"),
		m.EnsureTAPDeleted(ctx, "tap0"),
		m.SetLinkUp(ctx, "tap0"),
		m.WriteSysctl(ctx, "net.ipv4.ip_forward", "1"),
	}
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call %d after Close = %v, want ErrClosed", i, err)
		}
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
