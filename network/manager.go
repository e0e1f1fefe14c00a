package network

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// DefaultBusyTimeout bounds how long [Manager.CreateTAP] waits for a TAP to
// be released when the kernel reports it busy, as it does for a short while
// after a VMM that held the device exits.
const DefaultBusyTimeout = 2 * time.Second

// Options configures a [Manager]. The zero value works in the caller's
// network namespace.
type Options struct {
	// Netns names a network namespace in /run/netns (as created by
	// `ip netns add NAME`). Every operation of the manager then runs in it,
	// as `ip -n NAME` does. Empty means the namespace of the thread that
	// calls New. TAP creation and sysctl writes then run on the calling
	// thread, so a program that moves a locked thread to another namespace
	// must set Netns rather than call an unbound manager from that thread.
	Netns string

	// BusyTimeout bounds the retries when the kernel returns EBUSY for a
	// TAP. Zero means DefaultBusyTimeout; a negative value disables retries.
	BusyTimeout time.Duration
}

// Family selects an IP address family.
type Family int

// The address families that [Manager.DefaultInterface] accepts.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// TAPInfo describes a TAP device as the kernel reports it.
type TAPInfo struct {
	Name  string
	Index int
	// Owner is the uid allowed to attach without CAP_NET_ADMIN, or
	// NoOwner.
	Owner int
	// Group is the gid allowed to attach, or -1 when none is set.
	Group int
	// Persistent is true when the device outlives the process that opened
	// it (TUNSETPERSIST).
	Persistent bool
	MultiQueue bool
	// Up is the administrative state (IFF_UP).
	Up bool
	// Carrier is true while a process, such as a VMM, holds the device,
	// whether or not the link is up.
	Carrier bool
	MTU     int
}

// backend is one way to carry out the kernel work. Its methods get validated
// input and return causes, which the Manager wraps in an OpError.
type backend interface {
	// createTAP reports whether this call created the device.
	createTAP(ctx context.Context, name string, owner int) (created bool, err error)
	deleteTAP(name string) error
	tapInfo(name string) (TAPInfo, error)
	listAddrs(dev string) ([]netip.Prefix, error)
	addAddr(dev string, p netip.Prefix) error
	delAddr(dev string, p netip.Prefix) error
	setLinkUp(dev string) error
	addRoute(dst netip.Prefix, dev string) error
	defaultInterface(family Family) (string, error)
	writeSysctl(path, value string) error
	close() error
}

// Manager carries out network operations with direct kernel calls. Create it
// with [New] and release its netlink sockets with [Manager.Close].
type Manager struct {
	sys       backend
	closeOnce sync.Once
	closeErr  error
}

// New opens a Manager. Its netlink handle and its link query socket are
// opened once and reused by every operation; with opts.Netns set, both live
// in that namespace.
func New(opts Options) (*Manager, error) {
	if opts.Netns != "" {
		if err := ValidateNetnsName(opts.Netns); err != nil {
			return nil, err
		}
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	sys, err := newBackend(opts)
	if err != nil {
		return nil, err
	}
	return &Manager{sys: sys}, nil
}

// ValidateNetnsName checks a network namespace name as `ip netns` would store
// it: a single file name under /run/netns.
func ValidateNetnsName(name string) error {
	const field = "netns name"
	switch {
	case name == "":
		return invalid(field, name, "must not be empty")
	case name == "." || name == "..":
		return invalid(field, name, "must not be %q", name)
	case len(name) > 255:
		return invalid(field, name, "is %d bytes long, the maximum is 255", len(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c < 0x20 || c == 0x7f {
			return invalid(field, name, "must not contain %q", c)
		}
	}
	return nil
}

// Close releases the netlink sockets. It is safe to call more than once.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.sys.close() })
	return m.closeErr
}

// CreateTAP creates a persistent TAP device named name, without packet
// information headers, owned by uid owner (or NoOwner), as
// `ip tuntap add dev NAME mode tap user UID` does.
//
// If a device of that name exists, CreateTAP changes nothing. It returns nil
// when the device is a persistent single-queue TAP with the requested owner
// that no process holds. It returns an error matching syscall.EBUSY when a
// process still holds it after BusyTimeout of retries. Any other device (of
// another kind, a TUN, a multi-queue TAP, another owner) gives an error
// matching fs.ErrExist.
//
// Cancelling ctx stops the EBUSY retries; the device is then left as it was.
func (m *Manager) CreateTAP(ctx context.Context, name string, owner int) error {
	_, err := m.createTAP(ctx, name, owner)
	return err
}

func (m *Manager) createTAP(ctx context.Context, name string, owner int) (bool, error) {
	if err := ValidateInterfaceName(name); err != nil {
		return false, err
	}
	if err := ValidateOwner(owner); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, &OpError{Op: "create tap", Object: name, Err: err}
	}
	created, err := m.sys.createTAP(ctx, name, owner)
	return created, wrap("create tap", name, err)
}

// DeleteTAP deletes the TAP device name, as `ip link del dev NAME` does. A
// process still attached to the device loses it. It returns an error
// matching fs.ErrNotExist when no such device exists, and refuses (with an
// error matching fs.ErrInvalid) to delete a device that is not a TAP.
func (m *Manager) DeleteTAP(ctx context.Context, name string) error {
	if err := ValidateInterfaceName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &OpError{Op: "delete tap", Object: name, Err: err}
	}
	return wrap("delete tap", name, m.sys.deleteTAP(name))
}

// EnsureTAPDeleted deletes the TAP device name like DeleteTAP but returns
// nil when it does not exist.
func (m *Manager) EnsureTAPDeleted(ctx context.Context, name string) error {
	err := m.DeleteTAP(ctx, name)
	var opErr *OpError
	if errors.As(err, &opErr) && errors.Is(opErr.Err, ErrNoDevice) {
		return nil
	}
	return err
}

// TAPInfo returns the kernel's view of the TAP device name. It returns an
// error matching fs.ErrNotExist when the device does not exist and one
// matching fs.ErrInvalid when it is not a TAP.
func (m *Manager) TAPInfo(ctx context.Context, name string) (TAPInfo, error) {
	if err := ValidateInterfaceName(name); err != nil {
		return TAPInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return TAPInfo{}, &OpError{Op: "get tap", Object: name, Err: err}
	}
	info, err := m.sys.tapInfo(name)
	return info, wrap("get tap", name, err)
}

// FlushAddrs removes every IPv4 and IPv6 address from dev, as
// `ip addr flush dev DEV` does. Routes through dev that depended on those
// addresses go with them.
func (m *Manager) FlushAddrs(ctx context.Context, dev string) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	_, err := m.flushAddrs(ctx, dev, netip.Prefix{})
	return wrap("flush addresses", "dev "+dev, err)
}

// flushAddrs removes every address of dev except keep (which may be the zero
// Prefix to keep nothing) and returns how many it removed. With keep set it
// only touches IPv4 addresses.
func (m *Manager) flushAddrs(ctx context.Context, dev string, keep netip.Prefix) (int, error) {
	addrs, err := m.sys.listAddrs(dev)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, a := range addrs {
		if a == keep || (keep.IsValid() && !a.Addr().Is4()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if err := m.sys.delAddr(dev, a); err != nil {
			return removed, &OpError{Op: "delete address", Object: a.String() + " dev " + dev, Err: err}
		}
		removed++
	}
	return removed, nil
}

// AddAddr adds the IPv4 address addr (with its prefix length) to dev, as
// `ip addr add ADDR dev DEV` does. An identical address already on dev is
// success.
func (m *Manager) AddAddr(ctx context.Context, dev string, addr netip.Prefix) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	if err := validateIPv4Prefix("address", addr); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return wrap("add address", addr.String()+" dev "+dev, err)
	}
	return wrap("add address", addr.String()+" dev "+dev, m.sys.addAddr(dev, addr))
}

// SetLinkUp sets dev administratively up, as `ip link set dev DEV up` does.
func (m *Manager) SetLinkUp(ctx context.Context, dev string) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return wrap("set link up", dev, err)
	}
	return wrap("set link up", dev, m.sys.setLinkUp(dev))
}

// ConfigureTAP makes hostAddr the only IPv4 address of the device name and
// sets the link up, through the manager's one netlink socket. It adds the
// address before it removes any other, and leaves an address that is already
// right in place, so running it again changes nothing and keeps the routes
// that point at the device. IPv6 addresses, such as the kernel's link-local
// one, are left alone.
func (m *Manager) ConfigureTAP(ctx context.Context, name string, hostAddr netip.Prefix) error {
	if err := ValidateInterfaceName(name); err != nil {
		return err
	}
	if err := validateIPv4Prefix("host address", hostAddr); err != nil {
		return err
	}
	return wrap("configure tap", name, m.configureTAP(ctx, name, hostAddr))
}

func (m *Manager) configureTAP(ctx context.Context, name string, hostAddr netip.Prefix) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.sys.addAddr(name, hostAddr); err != nil {
		return &OpError{Op: "add address", Object: hostAddr.String() + " dev " + name, Err: err}
	}
	removed, err := m.flushAddrs(ctx, name, hostAddr)
	if err != nil {
		return err
	}

	// Deleting a primary address also deletes the secondaries of its subnet
	// (unless promote_secondaries is set), which can take hostAddr with it.
	if removed > 0 {
		if err := m.sys.addAddr(name, hostAddr); err != nil {
			return &OpError{Op: "add address", Object: hostAddr.String() + " dev " + name, Err: err}
		}
	}
	if err := m.sys.setLinkUp(name); err != nil {
		return &OpError{Op: "set link up", Object: name, Err: err}
	}
	return nil
}

// PrepareTAP gets a TAP ready for a VMM: it creates it (see CreateTAP),
// configures it (see ConfigureTAP) and sets
// net.ipv4.conf.NAME.route_localnet to 1, so traffic DNATed to 127.0.0.1
// can reach the guest. If a step fails and this call created the device,
// PrepareTAP deletes it again; a device that existed before is left in
// place.
func (m *Manager) PrepareTAP(ctx context.Context, name string, owner int, hostAddr netip.Prefix) error {
	if err := ValidateInterfaceName(name); err != nil {
		return err
	}
	if err := ValidateOwner(owner); err != nil {
		return err
	}
	if err := validateIPv4Prefix("host address", hostAddr); err != nil {
		return err
	}

	created, err := m.createTAP(ctx, name, owner)
	if err != nil {
		return err
	}
	err = m.configureTAP(ctx, name, hostAddr)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		path := "net/ipv4/conf/" + name + "/route_localnet"
		if werr := m.sys.writeSysctl(path, "1"); werr != nil {
			err = &OpError{Op: "write sysctl", Object: path, Err: werr}
		}
	}
	if err == nil {
		return nil
	}

	err = &OpError{Op: "prepare tap", Object: name, Err: err}
	if created {
		if derr := m.sys.deleteTAP(name); derr != nil {
			return errors.Join(err, &OpError{Op: "roll back: delete tap", Object: name, Err: derr})
		}
	}
	return err
}

// AddRoute adds a route to the IPv4 network dst through dev, as
// `ip route add DST dev DEV` does (scope link, protocol boot, main table).
// A route to dst through dev that already exists is success; a route to dst
// through another device is an error matching fs.ErrExist.
func (m *Manager) AddRoute(ctx context.Context, dst netip.Prefix, dev string) error {
	if err := validateRouteDestination(dst); err != nil {
		return err
	}
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return wrap("add route", dst.String()+" dev "+dev, err)
	}
	return wrap("add route", dst.String()+" dev "+dev, m.sys.addRoute(dst, dev))
}

// DefaultInterface returns the name of the interface the host would use to
// reach the internet in family, found by a route lookup for a fixed public
// address (8.8.8.8 or 2001:4860:4860::8888), as `ip route get` does. No
// packet is sent. Without a route the error matches ErrNoDefaultRoute.
func (m *Manager) DefaultInterface(ctx context.Context, family Family) (string, error) {
	if family != IPv4 && family != IPv6 {
		return "", invalid("address family", strconv.Itoa(int(family)), "must be 4 or 6")
	}
	if err := ctx.Err(); err != nil {
		return "", wrap("get default interface", "ipv"+strconv.Itoa(int(family)), err)
	}
	name, err := m.sys.defaultInterface(family)
	return name, wrap("get default interface", "ipv"+strconv.Itoa(int(family)), err)
}

// WriteSysctl writes value to the sysctl key, as `sysctl -w KEY=VALUE` does.
// The key may be in dotted or slashed form (see SysctlPath); the file
// written is always under /proc/sys. An unknown key is an error matching
// fs.ErrNotExist.
func (m *Manager) WriteSysctl(ctx context.Context, key, value string) error {
	path, err := SysctlPath(key)
	if err != nil {
		return err
	}
	if err := validateSysctlValue(key, value); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return wrap("write sysctl", key, err)
	}
	return wrap("write sysctl", key, m.sys.writeSysctl(path, value))
}

// wrap returns err as an OpError of op on object, or nil for a nil err.
func wrap(op, object string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Object: object, Err: err}
}
