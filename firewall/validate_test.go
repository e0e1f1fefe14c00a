package firewall

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
)

func TestValidateTAPName(t *testing.T) {
	valid := []string{"tap0", "a", "fc-tap_1.2", strings.Repeat("x", 15)}
	for _, name := range valid {
		if err := ValidateTAPName(name); err != nil {
			t.Errorf("ValidateTAPName(%q): %v", name, err)
		}
	}
	invalidNames := []string{"", strings.Repeat("x", 16), ".", "..", "all", "a/b", "a b", "tap*", `ta"p`, "tap\\", "tap;", "tap{", "tap\n", "täp", "a:b", "a%d"}
	for _, name := range invalidNames {
		err := ValidateTAPName(name)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != "tap name" || verr.Value != name {
			t.Errorf("ValidateTAPName(%q) = %v, want a ValidationError of field tap name", name, err)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"", "sbx-1", "a-b.c_d", strings.Repeat("i", MaxIDLength)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"a b", `a"b`, "a=b", "a:b", strings.Repeat("i", MaxIDLength+1), "é"} {
		if err := ValidateID(id); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidateID(%q) = %v, want fs.ErrInvalid", id, err)
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"1", 1, true}, {"8080", 8080, true}, {"65535", 65535, true},
		{"0", 0, false}, {"65536", 0, false}, {"-1", 0, false}, {"+80", 0, false},
		{"080", 0, false}, {"0x50", 0, false}, {" 80", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePort("host port", tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePort(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseGuest(t *testing.T) {
	got, err := ParseGuest("172.16.0.2:8080")
	if err != nil || got != netip.MustParseAddrPort("172.16.0.2:8080") {
		t.Errorf("ParseGuest = %v, %v", got, err)
	}
	for _, s := range []string{"172.16.0.2", "172.16.0.2:0", "[::1]:80", "::1:80", "host:80", "127.0.0.1:80", "0.0.0.0:80",
		"224.0.0.1:80", "255.255.255.255:80", "172.16.0.2:80:1", "172.16.0.2:08"} {
		if _, err := ParseGuest(s); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ParseGuest(%q) = %v, want fs.ErrInvalid", s, err)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::/0", "::/0"},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, s := range []string{"10.0.0.1/8", "example.com", "10.0.0.0/33", "fe80::1%eth0", "::ffff:10.0.0.0/104", "", "10.0.0.0/8,10.1.0.0/16"} {
		_, err := ParsePrefix(s)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != "prefix" {
			t.Errorf("ParsePrefix(%q) = %v, want a ValidationError of field prefix", s, err)
		}
	}
}

func TestValidateAllowlist(t *testing.T) {
	p := netip.MustParsePrefix
	ok := [][]netip.Prefix{
		nil,
		{p("10.0.0.0/8"), p("11.0.0.0/8"), p("2001:db8::/32")},
		{p("10.0.0.0/8"), p("::/0")},
	}
	for _, list := range ok {
		if err := validateAllowlist(list); err != nil {
			t.Errorf("validateAllowlist(%v): %v", list, err)
		}
	}
	bad := [][]netip.Prefix{
		{p("10.0.0.0/8"), p("10.0.0.0/8")},
		{p("10.0.0.0/8"), p("10.200.0.0/16")},
		{p("10.200.0.0/16"), p("9.0.0.0/8"), p("10.0.0.0/8")},
		{p("2001:db8::/32"), p("2001:db8:5::/48")},
	}
	for _, list := range bad {
		if err := validateAllowlist(list); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("validateAllowlist(%v) = %v, want fs.ErrInvalid", list, err)
		}
	}
}
