package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseModinfoDepends(t *testing.T) {
	tests := []struct {
		name    string
		modinfo string
		want    []string
	}{
		{"none listed", "license=GPL\x00depends=\x00name=virtio\x00", nil},
		{"no depends key", "license=GPL\x00name=evdev\x00", nil},
		{"two", "alias=virtio:d00000001v*\x00depends=virtio,net_failover\x00intree=Y\x00", []string{"virtio", "net_failover"}},
		{"dash becomes underscore", "depends=virtio-ring\x00", []string{"virtio_ring"}},
		{"padding after the last field", "depends=failover\x00\x00\x00\x00", []string{"failover"}},
		{"empty section", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseModinfoDepends([]byte(tt.modinfo))); diff != "" {
				t.Errorf("depends mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeModules maps a module name to its dependencies.
type fakeModules map[string][]string

func (f fakeModules) lookup(name string) (module, error) {
	depends, ok := f[name]
	if !ok {
		return module{}, fmt.Errorf("module %s not found", name)
	}
	return module{name: name, path: name + ".ko", depends: depends}, nil
}

// The dependencies of the guest's modules as the .modinfo sections of
// Debian's 6.1.0-57-cloud-amd64 kernel record them, plus broken cases.
var virtioModules = fakeModules{
	"virtio_net":    {"virtio_ring", "virtio", "net_failover"},
	"net_failover":  {"failover"},
	"failover":      nil,
	"virtio":        {"virtio_ring"},
	"virtio_ring":   nil,
	"virtio_mmio":   {"virtio", "virtio_ring"},
	"button":        nil,
	"evdev":         nil,
	"loop_a":        {"loop_b"},
	"loop_b":        {"loop_a"},
	"needs_missing": {"virtio", "missing"},
}

func TestResolveLoadOrder(t *testing.T) {
	tests := []struct {
		name      string
		requested []string
		want      []string
	}{
		{"dependencies first", []string{"virtio_net"}, []string{"virtio_ring", "virtio", "failover", "net_failover", "virtio_net"}},
		{"shared dependencies once", []string{"virtio_mmio", "virtio_net", "button", "evdev"},
			[]string{"virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover", "virtio_net", "button", "evdev"}},
		{"requested twice", []string{"evdev", "evdev"}, []string{"evdev"}},
		{"dash in request", []string{"virtio-mmio"}, []string{"virtio_ring", "virtio", "virtio_mmio"}},
		{"nothing requested", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, err := resolveLoadOrder(virtioModules, tt.requested)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range order {
				got = append(got, m.name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("load order mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveLoadOrderErrors(t *testing.T) {
	tests := []struct {
		name      string
		requested []string
		wantParts []string
	}{
		{"missing module", []string{"nosuch"}, []string{"module nosuch not found"}},
		{"missing dependency", []string{"needs_missing"}, []string{"module missing not found", "needed by needs_missing"}},
		{"cycle", []string{"loop_a"}, []string{"cycle", "loop_a -> loop_b -> loop_a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveLoadOrder(virtioModules, tt.requested)
			if err == nil {
				t.Fatal("resolveLoadOrder succeeded, want an error")
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
		})
	}
}
