package network

import (
	"path/filepath"
	"strings"
	"testing"
)

func FuzzSysctlPath(f *testing.F) {
	for _, seed := range []string{
		"net.ipv4.ip_forward", "net/ipv4/conf/tap.5/route_localnet", "net.ipv4.conf.tap/5.x",
		"../x", "net/../..", "a..b", "/", ".", "a.b/c.d",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		path, err := SysctlPath(key)
		if err != nil {
			return
		}
		full := filepath.Join("/proc/sys", path)
		if !strings.HasPrefix(full, "/proc/sys/") {
			t.Fatalf("SysctlPath(%q) = %q, which leaves /proc/sys", key, path)
		}
		if filepath.Clean(path) != path {
			t.Fatalf("SysctlPath(%q) = %q, which is not a clean path", key, path)
		}
	})
}

func FuzzParseIPv4Prefix(f *testing.F) {
	for _, seed := range []string{"172.16.0.1/30", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4/33", "::1/128", "1.2.3.4/+1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseIPv4Prefix("address", s)
		if err != nil {
			return
		}
		if !p.Addr().Is4() || p.Bits() < 0 || p.Bits() > 32 {
			t.Fatalf("ParseIPv4Prefix(%q) = %v, not an IPv4 prefix", s, p)
		}
		if p.String() != s {
			t.Fatalf("ParseIPv4Prefix(%q) = %v, which does not print back as the input", s, p)
		}
	})
}

func FuzzValidateInterfaceName(f *testing.F) {
	for _, seed := range []string{"tap0", "tap.5", "a/b", "..", "", "abcdefghijklmnop"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateInterfaceName(name) != nil {
			return
		}
		if len(name) == 0 || len(name) > 15 || strings.ContainsAny(name, "/:% \t\n\x00") || name == "." || name == ".." {
			t.Fatalf("ValidateInterfaceName accepted %q", name)
		}
	})
}
