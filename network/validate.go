package network

import (
	"net/netip"
	"strconv"
	"strings"
)

// NoOwner as a TAP owner leaves the device without an owning uid, as
// `ip tuntap add` without `user` does. Only processes with CAP_NET_ADMIN can
// then attach to it.
const NoOwner = -1

// maxUID is the largest valid uid: (uid_t)-1 means "no uid" to the kernel.
const maxUID = 1<<32 - 2

// maxInterfaceName is IFNAMSIZ (16) less the terminating NUL.
const maxInterfaceName = 15

// ValidateInterfaceName checks name against the kernel's rules for network
// device names plus two of ours: 1 to 15 bytes, not "." or "..", and no "/",
// ":", "%", whitespace or control characters. The kernel treats "%" as a
// template for a number and ":" as an alias separator, so neither can name
// one exact device.
func ValidateInterfaceName(name string) error {
	const field = "interface name"
	switch {
	case name == "":
		return invalid(field, name, "must not be empty")
	case len(name) > maxInterfaceName:
		return invalid(field, name, "is %d bytes long, the maximum is %d", len(name), maxInterfaceName)
	case name == "." || name == "..":
		return invalid(field, name, "must not be %q", name)
	case name == "all" || name == "default":
		// /proc/sys/net/ipv4/conf/all and .../default are the global and
		// template settings, so a device of that name would share them.
		return invalid(field, name, "is reserved for the sysctl entries net.ipv4.conf.%s", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/' || c == ':' || c == '%':
			return invalid(field, name, "must not contain %q", c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return invalid(field, name, "must not contain whitespace")
		case c < 0x20 || c == 0x7f:
			return invalid(field, name, "must not contain control characters")
		}
	}
	return nil
}

// ParseIPv4Prefix parses an IPv4 address with a prefix length, such as
// "172.16.0.1/30". The address bits below the prefix are kept, so the result
// can name a host address. field names the input in the error.
func ParseIPv4Prefix(field, s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return netip.Prefix{}, invalid(field, s, "must be an IPv4 address with a prefix length, such as 172.16.0.1/30")
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return netip.Prefix{}, invalid(field, s, "%q is not an IPv4 address", addr)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > 32 || bits != strconv.Itoa(n) {
		return netip.Prefix{}, invalid(field, s, "prefix length %q is not a number from 0 to 32", bits)
	}
	return netip.PrefixFrom(ip, n), nil
}

// validateIPv4Prefix checks a prefix given as a value rather than a string.
func validateIPv4Prefix(field string, p netip.Prefix) error {
	if !p.IsValid() {
		return invalid(field, p.String(), "must be an IPv4 address with a prefix length from 0 to 32")
	}
	if !p.Addr().Is4() {
		return invalid(field, p.String(), "must be IPv4")
	}
	return nil
}

// validateHostAddress checks an address to be assigned to an interface: a
// valid IPv4 prefix whose address is a unicast host address. The
// unspecified, limited broadcast, multicast and loopback addresses are
// rejected, and so are the network and broadcast addresses of its own
// subnet when the prefix is /30 or shorter.
func validateHostAddress(field string, p netip.Prefix) error {
	if err := validateIPv4Prefix(field, p); err != nil {
		return err
	}
	a := p.Addr()
	switch {
	case a.IsUnspecified():
		return invalid(field, p.String(), "0.0.0.0 is not a host address")
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return invalid(field, p.String(), "255.255.255.255 is the limited broadcast address, not a host address")
	case a.IsMulticast():
		return invalid(field, p.String(), "%s is a multicast address, not a host address", a)
	case a.IsLoopback():
		return invalid(field, p.String(), "%s is a loopback address", a)
	}
	if p.Bits() > 30 {
		return nil
	}
	if a == p.Masked().Addr() {
		return invalid(field, p.String(), "%s is the network address of %s", a, p.Masked())
	}
	if a == broadcastAddr(p) {
		return invalid(field, p.String(), "%s is the broadcast address of %s", a, p.Masked())
	}
	return nil
}

// broadcastAddr returns the last address of p's IPv4 subnet.
func broadcastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// validateRouteDestination checks that dst is an IPv4 network with no host
// bits set, as `ip route add` requires.
func validateRouteDestination(dst netip.Prefix) error {
	const field = "route destination"
	if err := validateIPv4Prefix(field, dst); err != nil {
		return err
	}
	if dst.Masked() != dst {
		return invalid(field, dst.String(), "has host bits set, the network is %s", dst.Masked())
	}
	return nil
}

// ValidateOwner checks a TAP owner: a uid from 0 to 4294967294, or NoOwner.
func ValidateOwner(uid int) error {
	if uid == NoOwner || (uid >= 0 && uid <= maxUID) {
		return nil
	}
	return invalid("uid", strconv.Itoa(uid), "must be from 0 to %d, or %d for no owner", maxUID, NoOwner)
}

// SysctlPath converts a sysctl key to its path relative to /proc/sys. It
// accepts both forms that sysctl(8) accepts: with dots as separators, where a
// "/" stands for a literal dot ("net.ipv4.conf.eth0/5.rp_filter"), or with
// slashes as separators, where dots are literal
// ("net/ipv4/conf/eth0.5/rp_filter"). The first separator in the key decides
// the form. The result never leaves /proc/sys: empty, "." and ".."
// components are rejected.
func SysctlPath(key string) (string, error) {
	const field = "sysctl key"
	if key == "" {
		return "", invalid(field, key, "must not be empty")
	}
	if strings.ContainsAny(key, "\x00\n= ") {
		return "", invalid(field, key, "must not contain NUL, newline, space or \"=\"")
	}

	path := key
	if i := strings.IndexAny(key, "./"); i >= 0 && key[i] == '.' {
		// Dotted form: swap the two separators, as sysctl(8) does.
		path = strings.Map(func(r rune) rune {
			switch r {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return r
		}, key)
	}

	for _, part := range strings.Split(path, "/") {
		switch part {
		case "":
			return "", invalid(field, key, "has an empty component")
		case ".", "..":
			return "", invalid(field, key, "has a %q component", part)
		}
	}
	return path, nil
}

// validateSysctlValue rejects values that cannot be written as one line, and
// the empty value, which the kernel accepts and ignores.
func validateSysctlValue(key, value string) error {
	if value == "" {
		return invalid("sysctl value", value, "for %s must not be empty", key)
	}
	if strings.ContainsAny(value, "\x00\n") {
		return invalid("sysctl value", value, "for %s must not contain NUL or newline", key)
	}
	return nil
}

// ValidateHostAddress checks p as an IPv4 host address with its prefix
// length, as AddAddr, ConfigureTAP and PrepareTAP do before any kernel
// call: not the network or broadcast address of its prefix, not loopback,
// multicast or unspecified. field names the input in the error.
func ValidateHostAddress(field string, p netip.Prefix) error {
	return validateHostAddress(field, p)
}
