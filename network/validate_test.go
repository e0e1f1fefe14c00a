package network

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

func TestValidateInterfaceName(t *testing.T) {
	tests := []struct {
		name  string
		input string
		ok    bool
	}{
		{"simple", "tap0", true},
		{"fifteen bytes", "abcdefghijklmno", true},
		{"dot inside", "tap.5", true},
		{"dash and underscore", "sb-1_a", true},
		{"empty", "", false},
		{"sixteen bytes", "abcdefghijklmnop", false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"slash", "tap/0", false},
		{"colon alias", "eth0:1", false},
		{"percent template", "tap%d", false},
		{"space", "tap 0", false},
		{"tab", "tap\t0", false},
		{"newline", "tap\n", false},
		{"nul", "tap\x000", false},
		{"delete char", "tap\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateInterfaceName(tt.input)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateInterfaceName(%q) = %v, want nil", tt.input, err)
				}
				return
			}
			if !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("ValidateInterfaceName(%q) = %v, want an error matching fs.ErrInvalid", tt.input, err)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || verr.Value != tt.input || verr.Field != "interface name" {
				t.Fatalf("error %#v does not name the field and value %q", err, tt.input)
			}
		})
	}
}

func TestParseIPv4Prefix(t *testing.T) {
	tests := []struct {
		input string
		want  netip.Prefix
		ok    bool
	}{
		{"172.16.0.1/30", netip.MustParsePrefix("172.16.0.1/30"), true},
		{"0.0.0.0/0", netip.MustParsePrefix("0.0.0.0/0"), true},
		{"10.0.0.1/32", netip.MustParsePrefix("10.0.0.1/32"), true},
		{"10.0.0.1", netip.Prefix{}, false},
		{"10.0.0.1/33", netip.Prefix{}, false},
		{"10.0.0.1/-1", netip.Prefix{}, false},
		{"10.0.0.1/030", netip.Prefix{}, false},
		{"10.0.0.1/", netip.Prefix{}, false},
		{"10.0.0/24", netip.Prefix{}, false},
		{"fe80::1/64", netip.Prefix{}, false},
		{"::ffff:10.0.0.1/24", netip.Prefix{}, false},
		{"", netip.Prefix{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			got, err := ParseIPv4Prefix("host address", tt.input)
			if !tt.ok {
				if !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), "host address") {
					t.Fatalf("ParseIPv4Prefix(%q) error = %v, want an invalid host address error", tt.input, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseIPv4Prefix(%q) = %v, %v, want %v", tt.input, got, err, tt.want)
			}
		})
	}
}

func TestValidateOwner(t *testing.T) {
	for _, uid := range []int{NoOwner, 0, 1000, maxUID} {
		if err := ValidateOwner(uid); err != nil {
			t.Errorf("ValidateOwner(%d) = %v, want nil", uid, err)
		}
	}
	for _, uid := range []int{-2, maxUID + 1, 1 << 40} {
		if err := ValidateOwner(uid); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidateOwner(%d) = %v, want an error matching fs.ErrInvalid", uid, err)
		}
	}
}

func TestValidateRouteDestination(t *testing.T) {
	if err := validateRouteDestination(netip.MustParsePrefix("172.16.0.2/32")); err != nil {
		t.Errorf("host route: %v", err)
	}
	if err := validateRouteDestination(netip.MustParsePrefix("172.16.0.0/30")); err != nil {
		t.Errorf("network route: %v", err)
	}
	err := validateRouteDestination(netip.MustParsePrefix("172.16.0.1/30"))
	if !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), "172.16.0.0/30") {
		t.Errorf("host bits set: got %v, want an error naming the network 172.16.0.0/30", err)
	}
	if err := validateRouteDestination(netip.MustParsePrefix("fd00::/64")); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("IPv6 destination: got %v, want an error matching fs.ErrInvalid", err)
	}
	if err := validateRouteDestination(netip.Prefix{}); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("zero prefix: got %v, want an error matching fs.ErrInvalid", err)
	}
}

func TestSysctlPath(t *testing.T) {
	tests := []struct {
		key  string
		want string // empty means the key is rejected
	}{
		{"net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		{"net/ipv4/ip_forward", "net/ipv4/ip_forward"},
		{"net.ipv4.conf.tap/5.route_localnet", "net/ipv4/conf/tap.5/route_localnet"},
		{"net/ipv4/conf/tap.5/route_localnet", "net/ipv4/conf/tap.5/route_localnet"},
		{"kernel", "kernel"},
		{"", ""},
		{"net..ipv4", ""},
		{".net.ipv4", ""},
		{"net.ipv4.", ""},
		{"/proc/sys/net", ""},
		{"net/../../etc/passwd", ""},
		{"net.ipv4.conf.//.x", ""},
		{"../etc", ""},
		{"net/./ipv4", ""},
		{"net.ipv4.ip_forward=1", ""},
		{"net.ipv4\x00", ""},
		{"net.ipv4.conf.a b.x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := SysctlPath(tt.key)
			if tt.want == "" {
				if !errors.Is(err, fs.ErrInvalid) {
					t.Fatalf("SysctlPath(%q) = %q, %v, want an error matching fs.ErrInvalid", tt.key, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SysctlPath(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestErrorsIs(t *testing.T) {
	opErr := func(cause error) error { return &OpError{Op: "create tap", Object: "tap0", Err: cause} }
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"eexist is exist", opErr(syscall.EEXIST), fs.ErrExist, true},
		{"eperm is permission", opErr(syscall.EPERM), fs.ErrPermission, true},
		{"eacces is permission", opErr(syscall.EACCES), fs.ErrPermission, true},
		{"ebusy is ebusy", opErr(syscall.EBUSY), syscall.EBUSY, true},
		{"enoent is not exist", opErr(syscall.ENOENT), fs.ErrNotExist, true},
		{"no device is not exist", opErr(ErrNoDevice), fs.ErrNotExist, true},
		{"no device is enodev", opErr(ErrNoDevice), syscall.ENODEV, true},
		{"no device is not exist-error", opErr(ErrNoDevice), fs.ErrExist, false},
		{"exists conflict", opErr(existsError("tap exists with owner 1")), fs.ErrExist, true},
		{"exists conflict is not busy", opErr(existsError("x")), syscall.EBUSY, false},
		{"busy conflict", opErr(busyError("in use")), syscall.EBUSY, true},
		{"busy conflict is not exist", opErr(busyError("in use")), fs.ErrExist, false},
		{"not a tap", opErr(ErrNotTAP), fs.ErrInvalid, true},
		{"not available", opErr(ErrNotAvailable), errors.ErrUnsupported, true},
		{"no default route", opErr(ErrNoDefaultRoute), syscall.ENETUNREACH, true},
		{"validation", invalid("uid", "-5", "bad"), fs.ErrInvalid, true},
		{"validation is not exist", invalid("uid", "-5", "bad"), fs.ErrExist, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestOpErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&OpError{Op: "create tap", Object: "tap0", Err: syscall.EEXIST}, "create tap tap0: file exists"},
		{&OpError{Op: "delete tap", Object: "tap0", Err: ErrNoDevice}, "delete tap tap0: no such device"},
		{&OpError{Op: "open netlink", Err: syscall.EPERM}, "open netlink: operation not permitted"},
		{&OpError{Op: "create tap", Object: "tap0", Err: ErrNotAvailable}, "create tap tap0: Not available on this platform"},
		{invalid("interface name", "a/b", "must not contain %q", '/'), `invalid interface name "a/b": must not contain '/'`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestValidateHostAddress(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"172.16.0.1/30", true},
		{"172.16.0.2/30", true},
		{"10.0.0.0/31", true},
		{"10.0.0.1/31", true},
		{"10.0.0.7/32", true},
		{"192.168.0.255/23", true},
		{"192.168.1.255/23", false},
		{"0.0.0.0/30", false},
		{"0.0.0.0/0", false},
		{"255.255.255.255/32", false},
		{"224.0.0.1/4", false},
		{"239.1.2.3/24", false},
		{"127.0.0.1/8", false},
		{"172.16.0.0/30", false},
		{"172.16.0.3/30", false},
		{"10.1.255.255/16", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := validateHostAddress("host address", netip.MustParsePrefix(tt.addr))
			if tt.ok && err != nil {
				t.Fatalf("validateHostAddress(%s) = %v, want nil", tt.addr, err)
			}
			if !tt.ok && (!errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), tt.addr)) {
				t.Fatalf("validateHostAddress(%s) = %v, want an invalid error naming the address", tt.addr, err)
			}
		})
	}
}

func TestReservedInterfaceNames(t *testing.T) {
	for _, name := range []string{"all", "default"} {
		if err := ValidateInterfaceName(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidateInterfaceName(%q) = %v, want an error matching fs.ErrInvalid", name, err)
		}
	}
}

func TestValidateNetnsName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"sandbox-1", true},
		{"a.b_c", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{strings.Repeat("n", 256), false},
	} {
		err := ValidateNetnsName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateNetnsName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidateNetnsName(%q) = %v, which does not match fs.ErrInvalid", tc.name, err)
		}
	}
}
