package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	t.Setenv("SMOLVM_GUEST_DIR", "/srv/guest")
	if got, err := DefaultDir(); err != nil || got != "/srv/guest" {
		t.Errorf("DefaultDir() with SMOLVM_GUEST_DIR = %q, %v; want /srv/guest", got, err)
	}

	t.Setenv("SMOLVM_GUEST_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/var/cache/user")
	if got, err := DefaultDir(); err != nil || got != "/var/cache/user/smolvm-core/guest" {
		t.Errorf("DefaultDir() with XDG_CACHE_HOME = %q, %v; want /var/cache/user/smolvm-core/guest", got, err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if _, err := Find(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Find(empty dir) error = %v, want one matching fs.ErrNotExist", err)
	}

	for _, name := range []string{"vmlinuz", "initramfs.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info := "kernel_package=linux-image-6.1.0-57-cloud-amd64\nkernel_version=6.1.192-3\n"
	if err := os.WriteFile(filepath.Join(dir, "build-info"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if img.Kernel != filepath.Join(dir, "vmlinuz") || img.Initramfs != filepath.Join(dir, "initramfs.cpio.gz") {
		t.Errorf("Find() = %+v, want the files in %s", img, dir)
	}
	if got := img.KernelPackage(); got != "linux-image-6.1.0-57-cloud-amd64" {
		t.Errorf("KernelPackage() = %q, want linux-image-6.1.0-57-cloud-amd64", got)
	}
}

func TestFindRejectsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "vmlinuz"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "initramfs.cpio.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find() with a vmlinuz directory: %v, want a not a regular file error", err)
	}
}

var validParams = Params{
	Address: netip.MustParsePrefix("172.16.0.2/30"),
	Gateway: netip.MustParseAddr("172.16.0.1"),
	Port:    8080,
	Token:   "abc123",
}

func TestCmdline(t *testing.T) {
	got, err := Cmdline("kvm", validParams, "pcie_ports=native")
	if err != nil {
		t.Fatal(err)
	}
	want := "console=ttyS0 quiet panic=-1 smolvm.ip=172.16.0.2/30 smolvm.gw=172.16.0.1 smolvm.port=8080 smolvm.token=abc123 pcie_ports=native"
	if got != want {
		t.Errorf("Cmdline(kvm) =\n%s\nwant\n%s", got, want)
	}
}

func TestCmdlineTCGSetsTSCRate(t *testing.T) {
	khz, khzErr := HostTSCKHz()
	got, err := Cmdline("tcg", validParams)
	if khzErr != nil {
		// Hosts without a "cpu MHz" line, such as arm64 ones, cannot
		// give the rate, so Cmdline must return an error.
		if err == nil {
			t.Errorf("Cmdline(tcg) = %q without a TSC rate (%v), want an error", got, khzErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(" tsc_early_khz=%d", khz); !strings.HasSuffix(got, want) {
		t.Errorf("Cmdline(tcg) = %q, want it to end with %q", got, want)
	}
}

func TestCmdlineRejects(t *testing.T) {
	tests := map[string]func(p *Params){
		"no address":    func(p *Params) { p.Address = netip.Prefix{} },
		"no gateway":    func(p *Params) { p.Gateway = netip.Addr{} },
		"port 0":        func(p *Params) { p.Port = 0 },
		"port 65536":    func(p *Params) { p.Port = 65536 },
		"empty token":   func(p *Params) { p.Token = "" },
		"token a space": func(p *Params) { p.Token = "a b" },
		"token a dot":   func(p *Params) { p.Token = "a.b" },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			p := validParams
			change(&p)
			if got, err := Cmdline("kvm", p); err == nil {
				t.Errorf("Cmdline() = %q, want an error", got)
			}
		})
	}
}

func TestParseCPUMHz(t *testing.T) {
	tests := []struct {
		cpuinfo string
		want    int
		wantErr bool
	}{
		{cpuinfo: "processor\t: 0\ncpu MHz\t\t: 2596.122\ncpu MHz\t\t: 1000.000\n", want: 2596122},
		{cpuinfo: "processor\t: 0\n", wantErr: true},
		{cpuinfo: "cpu MHz\t\t: fast\n", wantErr: true},
		{cpuinfo: "cpu MHz\t\t: 0\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseCPUMHz(tt.cpuinfo)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCPUMHz(%q) = %d, %v; want %d, error %v", tt.cpuinfo, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestEchoRequest(t *testing.T) {
	msg := echoRequest(0x1234, 7)
	if msg[0] != icmpEchoRequest || msg[1] != 0 {
		t.Errorf("type and code = %d, %d; want %d, 0", msg[0], msg[1], icmpEchoRequest)
	}
	if id, seq := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:]); id != 0x1234 || seq != 7 {
		t.Errorf("id and seq = %#x, %d; want 0x1234, 7", id, seq)
	}
	// A message with a correct checksum sums to zero.
	if sum := internetChecksum(msg); sum != 0 {
		t.Errorf("checksum over the message = %#x, want 0", sum)
	}
}

func TestInternetChecksum(t *testing.T) {
	// The example of RFC 1071 section 3, with an odd byte added.
	tests := []struct {
		data []byte
		want uint16
	}{
		{data: []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, want: ^uint16(0xddf2)},
		{data: []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x01}, want: ^uint16(0xdef2)},
		{data: nil, want: 0xffff},
	}
	for _, tt := range tests {
		if got := internetChecksum(tt.data); got != tt.want {
			t.Errorf("internetChecksum(% x) = %#x, want %#x", tt.data, got, tt.want)
		}
	}
}

func TestParseEchoReply(t *testing.T) {
	reply := echoRequest(0xbeef, 3)
	reply[0] = icmpEchoReply
	if id, seq, ok := parseEchoReply(reply); !ok || id != 0xbeef || seq != 3 {
		t.Errorf("parseEchoReply(reply) = %#x, %d, %v; want 0xbeef, 3, true", id, seq, ok)
	}
	if _, _, ok := parseEchoReply(echoRequest(1, 1)); ok {
		t.Error("parseEchoReply(request) = ok, want not a reply")
	}
	if _, _, ok := parseEchoReply(reply[:7]); ok {
		t.Error("parseEchoReply(7 bytes) = ok, want too short")
	}
}

func FuzzParseEchoReply(f *testing.F) {
	f.Add(echoRequest(1, 1))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 2})
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, seq, ok := parseEchoReply(msg)
		if !ok {
			return
		}
		if len(msg) < 8 || msg[0] != icmpEchoReply {
			t.Fatalf("parseEchoReply(% x) accepted a message that is no echo reply", msg)
		}
		if id != binary.BigEndian.Uint16(msg[4:]) || seq != binary.BigEndian.Uint16(msg[6:]) {
			t.Fatalf("parseEchoReply(% x) = %d, %d; want the header fields", msg, id, seq)
		}
	})
}
