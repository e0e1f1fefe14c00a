//go:build !linux

package network

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestEveryOperationUnsupported(t *testing.T) {
	ctx := context.Background()
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	addr := netip.MustParsePrefix("172.16.0.1/30")
	_, infoErr := m.TAPInfo(ctx, "tap0")
	_, defaultErr := m.DefaultInterface(ctx, IPv4)
	errs := map[string]error{
		"CreateTAP":        m.CreateTAP(ctx, "tap0", NoOwner),
		"DeleteTAP":        m.DeleteTAP(ctx, "tap0"),
		"EnsureTAPDeleted": m.EnsureTAPDeleted(ctx, "tap0"),
		"TAPInfo":          infoErr,
		"FlushAddrs":       m.FlushAddrs(ctx, "tap0"),
		"AddAddr":          m.AddAddr(ctx, "tap0", addr),
		"SetLinkUp":        m.SetLinkUp(ctx, "tap0"),
		"ConfigureTAP":     m.ConfigureTAP(ctx, "tap0", addr),
		"PrepareTAP":       m.PrepareTAP(ctx, "tap0", NoOwner, addr),
		"AddRoute":         m.AddRoute(ctx, addr.Masked(), "tap0"),
		"DefaultInterface": defaultErr,
		"WriteSysctl":      m.WriteSysctl(ctx, "net.ipv4.ip_forward", "1"),
	}
	for op, err := range errs {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.HasSuffix(err.Error(), "Not available on this platform") {
			t.Errorf("%s = %v, want an ErrUnsupported error reading Not available on this platform", op, err)
		}
	}
}
