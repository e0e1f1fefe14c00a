package sandbox

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strings"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/network"
)

// Spec is the desired host-side network of one sandbox.
type Spec struct {
	// ID names the sandbox: 1 to 64 bytes of letters, digits, '.', '_'
	// and '-'. It marks the TAP and the firewall entries.
	ID string `json:"id"`
	// TAP is the TAP device's name. Empty means TAPName(ID).
	TAP string `json:"tap,omitempty"`
	// Owner is the uid of the VMM that attaches to the TAP, or
	// network.NoOwner (-1) for none. The zero value is uid 0, root, so a
	// spec for no owner must say -1.
	Owner int `json:"owner"`
	// Host is the host's address on the TAP with its prefix length, such
	// as 172.16.0.1/30.
	Host netip.Prefix `json:"host"`
	// Guest is the guest's address, inside Host's prefix. The host routes
	// it through the TAP.
	Guest netip.Addr `json:"guest"`
	// NAT masquerades the guest's traffic to other networks.
	NAT bool `json:"nat"`
	// Forwards are TCP port forwards from the host to the guest.
	Forwards []PortForward `json:"forwards,omitempty"`
	// Egress limits the guest's forwarded traffic to these prefixes (IPv4
	// and IPv6); everything else is dropped. Nil means no limit; an empty,
	// non-nil list drops all forwarded traffic from the guest.
	Egress []netip.Prefix `json:"egress"`
}

// PortForward forwards TCP connections to HostPort on the host to
// GuestPort on the guest.
type PortForward struct {
	HostPort  uint16 `json:"host_port"`
	GuestPort uint16 `json:"guest_port"`
	// Local also forwards connections made on the host itself, to
	// 127.0.0.1 included.
	Local bool `json:"local,omitempty"`
}

// tapPrefix starts every TAP name that TAPName derives.
const tapPrefix = "smv"

// TAPName returns the TAP name a Spec without one gets: "smv" and 12
// characters of a hash of id, 15 bytes in all, the kernel's limit. The same
// id always gives the same name.
func TAPName(id string) string {
	sum := sha256.Sum256([]byte(id))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return tapPrefix + strings.ToLower(enc[:12])
}

// ValidationError reports a spec rejected before anything changed. It
// matches fs.ErrInvalid.
type ValidationError struct {
	Field, Value, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == fs.ErrInvalid }

func invalid(field, value, format string, args ...any) error {
	return &ValidationError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// normalize validates s and fills in the TAP name. Errors of the network
// and firewall validators are returned as they are; they match
// fs.ErrInvalid too.
func (s Spec) normalize() (Spec, error) {
	if err := network.ValidateSandboxID(s.ID); err != nil {
		return s, err
	}
	if s.TAP == "" {
		s.TAP = TAPName(s.ID)
	}
	if err := network.ValidateInterfaceName(s.TAP); err != nil {
		return s, err
	}
	if err := network.ValidateOwner(s.Owner); err != nil {
		return s, err
	}
	if err := network.ValidateHostAddress("host address", s.Host); err != nil {
		return s, err
	}
	if err := s.validateGuest(); err != nil {
		return s, err
	}
	if err := s.validateForwards(); err != nil {
		return s, err
	}
	for _, p := range s.Egress {
		if !p.IsValid() || p != p.Masked() {
			return s, invalid("egress prefix", p.String(), "must be an IPv4 or IPv6 prefix with no host bits set")
		}
	}
	return s, nil
}

func (s Spec) validateGuest() error {
	g := s.Guest
	switch {
	case !g.IsValid():
		return invalid("guest address", "", "must be set")
	case !g.Is4():
		return invalid("guest address", g.String(), "must be an IPv4 address")
	case g == s.Host.Addr():
		return invalid("guest address", g.String(), "is the host address")
	case !s.Host.Masked().Contains(g):
		return invalid("guest address", g.String(), "is not inside the host prefix %s", s.Host.Masked())
	}
	return network.ValidateHostAddress("guest address", netip.PrefixFrom(g, s.Host.Bits()))
}

func (s Spec) validateForwards() error {
	seen := map[uint16]bool{}
	for _, f := range s.Forwards {
		if f.HostPort == 0 {
			return invalid("host port", "0", "must be from 1 to 65535")
		}
		if f.GuestPort == 0 {
			return invalid("guest port", "0", "must be from 1 to 65535")
		}
		if seen[f.HostPort] {
			return invalid("host port", fmt.Sprint(f.HostPort), "is forwarded twice")
		}
		seen[f.HostPort] = true
	}
	return nil
}

// forwards returns the firewall forwards of s, keyed by host port.
func (s Spec) forwards() map[uint16]firewall.Forward {
	out := make(map[uint16]firewall.Forward, len(s.Forwards))
	for _, f := range s.Forwards {
		out[f.HostPort] = firewall.Forward{
			HostPort: f.HostPort,
			Guest:    netip.AddrPortFrom(s.Guest, f.GuestPort),
			Local:    f.Local,
			TAP:      s.TAP,
			ID:       s.ID,
		}
	}
	return out
}

// samePrefixes reports whether a and b hold the same prefixes, in any order.
func samePrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	cmp := func(p, q netip.Prefix) int {
		if c := p.Addr().Compare(q.Addr()); c != 0 {
			return c
		}
		return p.Bits() - q.Bits()
	}
	slices.SortFunc(x, cmp)
	slices.SortFunc(y, cmp)
	return slices.Equal(x, y)
}

// existsError is a cause that matches fs.ErrExist.
type existsError string

func (e existsError) Error() string        { return string(e) }
func (e existsError) Is(target error) bool { return target == fs.ErrExist }
