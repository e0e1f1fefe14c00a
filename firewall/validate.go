package firewall

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm-core/network"
)

// MaxIDLength is the longest sandbox id, in bytes, that fits in an element
// comment next to a TAP name.
const MaxIDLength = 64

// MaxEgressPrefixes bounds an allowlist per TAP and address family, which
// keeps one apply within a single netlink batch of modest size.
const MaxEgressPrefixes = 1024

// ValidateTAPName checks a TAP name: a valid interface name (see
// [network.ValidateInterfaceName]) made only of ASCII letters, digits, "_",
// "." and "-". The narrower set keeps every name safe inside a quoted nft
// string, where "*" would be a wildcard and a quote would end the string.
func ValidateTAPName(name string) error {
	if err := network.ValidateInterfaceName(name); err != nil {
		var verr *network.ValidationError
		if errors.As(err, &verr) {
			return invalid("tap name", name, "%s", verr.Reason)
		}
		return err
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return invalid("tap name", name, "must contain only ASCII letters, digits, '_', '.' and '-', not %q", name[i])
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// ValidateID checks a sandbox id: empty, or up to MaxIDLength bytes of
// ASCII letters, digits, "_", ".", ":" and "-".
func ValidateID(id string) error {
	if len(id) > MaxIDLength {
		return invalid("sandbox id", id, "is %d bytes long, the maximum is %d", len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isNameByte(c) {
			return invalid("sandbox id", id, "must contain only ASCII letters, digits, '_', '.' and '-', not %q", c)
		}
	}
	return nil
}

// ParsePort parses a TCP port from 1 to 65535 written in decimal without a
// sign or leading zeros. field names the input in the error.
func ParsePort(field, s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, invalid(field, s, "must be a port number from 1 to 65535")
	}
	return uint16(n), nil
}

// ParseGuest parses a guest endpoint written as IPV4:PORT, such as
// "172.16.0.2:8080".
func ParseGuest(s string) (netip.AddrPort, error) {
	const field = "guest address"
	addr, port, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(port, ":") {
		return netip.AddrPort{}, invalid(field, s, "must be an IPv4 address and a port, such as 172.16.0.2:8080")
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return netip.AddrPort{}, invalid(field, s, "%q is not an IPv4 address", addr)
	}
	p, err := ParsePort("guest port", port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := netip.AddrPortFrom(ip, p)
	return ap, validateGuest(ap)
}

// validateGuestAddr checks that addr can be a guest's unicast IPv4
// address.
func validateGuestAddr(field string, addr netip.Addr) error {
	switch {
	case !addr.IsValid():
		return invalid(field, "", "must be set")
	case !addr.Is4():
		return invalid(field, addr.String(), "must be an IPv4 address")
	case addr.IsUnspecified():
		return invalid(field, addr.String(), "0.0.0.0 is not a guest address")
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return invalid(field, addr.String(), "is the limited broadcast address")
	case addr.IsMulticast():
		return invalid(field, addr.String(), "is a multicast address")
	case addr.IsLoopback():
		return invalid(field, addr.String(), "is a loopback address")
	}
	return nil
}

func validateGuest(ap netip.AddrPort) error {
	if err := validateGuestAddr("guest address", ap.Addr()); err != nil {
		return err
	}
	if ap.Port() == 0 {
		return invalid("guest port", "0", "must be a port number from 1 to 65535")
	}
	return nil
}

// ParsePrefix parses an allowlist entry: an IPv4 or IPv6 network in CIDR
// form, or a bare address, which stands for the single host (/32 or /128).
// Host names are not accepted. The address bits below the prefix length
// must be zero, so "10.0.0.1/8" is rejected with the network to write
// instead.
func ParsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		p, err = netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, invalid("prefix", s, "must be an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32, or a single address")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, invalid("prefix", s, "must be an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32, or a single address")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return p, validatePrefix(p)
}

func validatePrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return invalid("prefix", p.String(), "must be an IPv4 or IPv6 network")
	case p.Addr().Zone() != "":
		return invalid("prefix", p.String(), "must not have an IPv6 zone")
	case p.Addr().Is4In6():
		return invalid("prefix", p.String(), "is an IPv4-mapped IPv6 network; write the IPv4 form %s", netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96))
	case p.Masked() != p:
		return invalid("prefix", p.String(), "has host bits set, the network is %s", p.Masked())
	}
	return nil
}

// validateAllowlist checks every prefix and rejects duplicates and overlaps
// within a family: nftables keeps interval elements of one TAP disjoint.
func validateAllowlist(allow []netip.Prefix) error {
	var v4, v6 []netip.Prefix
	for _, p := range allow {
		if err := validatePrefix(p); err != nil {
			return err
		}
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	for _, list := range [][]netip.Prefix{v4, v6} {
		if len(list) > MaxEgressPrefixes {
			return invalid("allowlist", strconv.Itoa(len(list))+" prefixes", "has more than %d prefixes of one family", MaxEgressPrefixes)
		}
		sorted := slices.Clone(list)
		slices.SortFunc(sorted, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		for i := 1; i < len(sorted); i++ {
			if sorted[i-1].Overlaps(sorted[i]) {
				return invalid("prefix", sorted[i].String(), "overlaps %s in the same allowlist; list each network once", sorted[i-1])
			}
		}
	}
	return nil
}

// validateForward checks a forward before anything is sent.
func validateForward(f Forward) error {
	if f.HostPort == 0 {
		return invalid("host port", "0", "must be a port number from 1 to 65535")
	}
	if err := validateGuest(f.Guest); err != nil {
		return err
	}
	if f.TAP != "" {
		if err := ValidateTAPName(f.TAP); err != nil {
			return err
		}
	}
	if f.ID != "" && f.TAP == "" {
		return invalid("sandbox id", f.ID, "needs the forward's tap, because the id is stored with it")
	}
	return ValidateID(f.ID)
}
