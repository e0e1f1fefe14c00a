package network

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smolvm/smolvm-core/internal/privilege"
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
	// On the native path a manager with Netns keeps one OS thread in that
	// namespace until Close, for TAP creation and sysctl writes, and the
	// namespace lives at least that long.
	Netns string

	// BusyTimeout bounds the retries when the kernel returns EBUSY for a
	// TAP. Zero means DefaultBusyTimeout; a negative value disables retries.
	BusyTimeout time.Duration

	// Backend selects the path. The zero value, BackendAuto, picks the
	// native path when this process may change networking.
	Backend Backend

	// Logger receives the one warning a manager logs when it falls back to
	// the command path. Nil means slog.Default().
	Logger *slog.Logger
}

// Backend is one of the two ways a [Manager] does its work. Both leave the
// kernel in the same state and return errors for which the same errors.Is
// checks hold.
//
// The native path makes direct kernel calls: TUN ioctls, rtnetlink and
// /proc/sys writes. The command path runs `ip` and `sysctl` with argument
// lists (never a shell), LC_ALL=C, and `sudo -n` when the process is not
// root, so an unprivileged runtime whose user may run those two tools
// through sudo without a password still works.
//
// BackendAuto picks the native path when the process holds CAP_NET_ADMIN
// (root does) and /dev/net/tun opens, unless the environment variable
// SMOLVM_DISABLE_NATIVE_NETWORKING is 1, true or yes. Otherwise it picks
// the command path and logs one warning that explains how to get the fast
// path back. A native call that fails with EPERM (or with EACCES for lack of
// privilege) moves the manager to the command path for good, with the same
// one warning, and the call runs again there. BackendNative and
// BackendCommand fix the path and never switch.
type Backend int

// The paths a [Manager] can take.
const (
	BackendAuto Backend = iota
	BackendNative
	BackendCommand
)

// String returns "auto", "native" or "command".
func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendNative:
		return "native"
	case BackendCommand:
		return "command"
	}
	return "Backend(" + strconv.Itoa(int(b)) + ")"
}

// MarshalText encodes b as its String form, so JSON reports read "native".
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// ParseBackend parses "auto", "native" or "command".
func ParseBackend(s string) (Backend, error) {
	for _, b := range []Backend{BackendAuto, BackendNative, BackendCommand} {
		if s == b.String() {
			return b, nil
		}
	}
	return 0, invalid("backend", s, "must be auto, native or command")
}

// Path is the path a manager uses and the reason it was chosen.
type Path struct {
	Backend Backend `json:"backend"`
	Reason  string  `json:"reason"`
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
	Name  string `json:"name"`
	Index int    `json:"index"`
	// Owner is the uid allowed to attach without CAP_NET_ADMIN, or
	// NoOwner.
	Owner int `json:"owner"`
	// Group is the gid allowed to attach, or -1 when none is set.
	Group int `json:"group"`
	// Persistent is true when the device outlives the process that opened
	// it (TUNSETPERSIST).
	Persistent bool `json:"persistent"`
	MultiQueue bool `json:"multi_queue"`
	// Up is the administrative state (IFF_UP).
	Up bool `json:"up"`
	// Carrier is true while a process, such as a VMM, holds the device,
	// whether or not the link is up.
	Carrier bool `json:"carrier"`
	MTU     int  `json:"mtu"`
	// Alias is the interface alias, which marks the devices a Manager
	// creates (see MarkAlias).
	Alias string `json:"alias"`
	// Marked is true when Alias is smolvm-core's mark.
	Marked bool `json:"marked"`
	// SandboxID is the sandbox named in the mark, if any.
	SandboxID string `json:"sandbox_id"`
}

// backend is one way to carry out the kernel work. Its methods get validated
// input and return causes, which the Manager wraps in an OpError.
type backend interface {
	// createTAP reports whether this call created the device.
	createTAP(ctx context.Context, name string, owner int, o tapOptions) (created bool, err error)
	deleteTAP(ctx context.Context, name string) error
	tapInfo(ctx context.Context, name string) (TAPInfo, error)
	listAddrs(ctx context.Context, dev string) ([]netip.Prefix, error)
	addAddr(ctx context.Context, dev string, p netip.Prefix) error
	delAddr(ctx context.Context, dev string, p netip.Prefix) error
	setLinkUp(ctx context.Context, dev string) error
	addRoute(ctx context.Context, dst netip.Prefix, dev string) error
	defaultInterface(ctx context.Context, family Family) (string, error)
	writeSysctl(ctx context.Context, path, value string) error
	listTAPs(ctx context.Context) ([]TAPInfo, error)
	// deleteTAPs deletes the named TAPs as one batch, skipping absent ones.
	deleteTAPs(ctx context.Context, names []string) error
	// reclaimTAPs deletes the named TAPs that no process holds.
	reclaimTAPs(ctx context.Context, names []string) (removed, held []string, err error)
	close() error
}

// Manager carries out network operations on one of two paths (see
// [Backend]). Create it with [New] and release its netlink sockets with
// [Manager.Close].
type Manager struct {
	netns       string
	busyTimeout time.Duration
	logger      *slog.Logger
	// fallback allows the switch from the native to the command path on a
	// privilege error, which only BackendAuto does.
	fallback bool

	// mu is held for reading by every operation and for writing by Close,
	// so Close waits for operations in flight and later ones fail cleanly.
	mu       sync.RWMutex
	closed   bool
	closeErr error

	// pathMu guards the path in use, which changes at most once.
	pathMu sync.Mutex
	sys    backend
	path   Path
	// native is the native backend, kept after a switch until Close
	// because calls in flight may still use it.
	native backend
}

// New opens a Manager and picks its path (see [Backend]). On the native
// path its netlink handle and its link query socket are opened once and
// reused by every operation. With opts.Netns set, both live in that
// namespace. When BackendAuto picks the command path for lack of privilege,
// New logs the one warning described at [Backend].
func New(opts Options) (*Manager, error) {
	if opts.Netns != "" {
		if err := ValidateNetnsName(opts.Netns); err != nil {
			return nil, err
		}
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	m := &Manager{
		netns:       opts.Netns,
		busyTimeout: opts.BusyTimeout,
		logger:      opts.Logger,
		fallback:    opts.Backend == BackendAuto,
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if err := m.open(opts); err != nil {
		return nil, err
	}
	return m, nil
}

// open sets the manager's first path.
func (m *Manager) open(opts Options) error {
	if !nativeBuilt {
		m.sys = unsupported{}
		m.path = Path{Backend: BackendCommand, Reason: "this build has no native networking for " + runtime.GOOS}
		m.logger.Warn("smolvm-core: native networking is not built for this platform, so network operations are not available",
			"os", runtime.GOOS)
		return nil
	}
	var warn bool
	m.path, warn = choosePath(opts.Backend, opts.Netns)
	if m.path.Backend == BackendCommand {
		if err := checkNetnsExists(opts.Netns); err != nil {
			return err
		}
		m.sys = newCommand(opts)
		if warn {
			m.warnFallback(m.path.Reason)
		}
		return nil
	}
	sys, err := newNative(opts)
	if err != nil && m.fallback && isPrivilegeError(err) {
		m.switchToCommand(err, "open netlink")
		return nil
	}
	if err != nil {
		return err
	}
	m.sys, m.native = sys, sys
	return nil
}

// choosePath returns the path a new manager for netns takes for the
// requested backend, before any kernel call, and whether that is a fallback
// that deserves the warning.
func choosePath(b Backend, netns string) (Path, bool) {
	switch b {
	case BackendNative:
		return Path{Backend: BackendNative, Reason: "the native path was requested"}, false
	case BackendCommand:
		return Path{Backend: BackendCommand, Reason: "the command path was requested"}, false
	}
	if off, reason := privilege.NativeDisabledByEnv(); off {
		return Path{Backend: BackendCommand, Reason: reason}, false
	}
	ok, reason := privilege.NativeNetworking(netns)
	if !ok {
		return Path{Backend: BackendCommand, Reason: reason}, true
	}
	return Path{Backend: BackendNative, Reason: reason}, false
}

// DefaultPath returns the path that a new manager with BackendAuto and no
// namespace would take in this process now, and why. It changes nothing.
func DefaultPath() Path {
	if !nativeBuilt {
		return Path{Backend: BackendCommand, Reason: "this build has no native networking for " + runtime.GOOS}
	}
	p, _ := choosePath(BackendAuto, "")
	return p
}

// checkNetnsExists fails when the named namespace does not exist, so that
// the command path reports a missing namespace as the native path does,
// instead of blaming the device or key of the first command.
func checkNetnsExists(name string) error {
	if name == "" {
		return nil
	}
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &OpError{Op: "open netns", Object: name, Err: err}
	}
	return nil
}

// Path returns the path the manager uses now and why. It changes at most
// once, from native to command, on a privilege error.
func (m *Manager) Path() Path {
	m.pathMu.Lock()
	defer m.pathMu.Unlock()
	return m.path
}

// current returns the backend in use and whether it is the native one.
func (m *Manager) current() (backend, bool) {
	m.pathMu.Lock()
	defer m.pathMu.Unlock()
	return m.sys, m.path.Backend == BackendNative
}

// switchToCommand moves the manager to the command path for good after the
// native call op failed with cause, logs the warning once and returns the
// command backend.
func (m *Manager) switchToCommand(cause error, op string) backend {
	m.pathMu.Lock()
	defer m.pathMu.Unlock()
	if m.path.Backend == BackendCommand {
		return m.sys
	}
	m.sys = newCommand(Options{Netns: m.netns, BusyTimeout: m.busyTimeout})
	m.path = Path{Backend: BackendCommand, Reason: "a native " + op + " failed: " + cause.Error() +
		": run as root or with CAP_NET_ADMIN for direct kernel calls"}
	m.warnFallback(m.path.Reason)
	return m.sys
}

// warnFallback logs the one fallback warning. The reason carries the fix,
// which depends on what is missing.
func (m *Manager) warnFallback(reason string) {
	m.logger.Warn("smolvm-core: native networking is not available, so network operations run ip and sysctl "+
		"as subprocesses (through sudo -n when not root), which is much slower. "+
		"Set SMOLVM_DISABLE_NATIVE_NETWORKING=1 to choose that path without this warning",
		"reason", reason)
}

// isPrivilegeError reports whether a native call failed for lack of
// privilege, which the command path (through sudo) can overcome. EPERM
// always counts. EACCES counts only when this process lacks CAP_NET_ADMIN
// or the open of a root-owned sysctl file failed. The kernel also returns
// EACCES for requests that no privilege fixes, such as an IPv6 address on
// a device where IPv6 is disabled.
func isPrivilegeError(err error) bool {
	if errors.Is(err, syscall.EPERM) {
		return true
	}
	if !errors.Is(err, syscall.EACCES) {
		return false
	}
	var denied *sysctlDenied
	return errors.As(err, &denied) || !privilege.HasNetAdmin()
}

// sysctlDenied marks an EACCES from opening a /proc/sys file, whose
// permission bits allow writes by root only.
type sysctlDenied struct{ err error }

func (e *sysctlDenied) Error() string { return e.err.Error() }
func (e *sysctlDenied) Unwrap() error { return e.err }

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
		if c := name[i]; c == '/' || c <= ' ' || c == 0x7f {
			return invalid(field, name, "must not contain %q", c)
		}
	}
	return nil
}

// Close releases the netlink sockets. Operations after Close fail with an
// error matching ErrClosed. It is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.closeErr = m.sys.close()
		if m.native != nil && m.native != m.sys {
			m.closeErr = errors.Join(m.closeErr, m.native.close())
		}
	}
	return m.closeErr
}

// do runs the operation op on object once the manager is known to be open
// and ctx not done, and wraps fn's error as an OpError. When fn fails on the
// native path for lack of privilege and the manager may fall back, do
// switches to the command path and runs fn again there.
func (m *Manager) do(ctx context.Context, op, object string, fn func(b backend) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return &OpError{Op: op, Object: object, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return &OpError{Op: op, Object: object, Err: err}
	}
	b, native := m.current()
	err := fn(b)
	if err != nil && native && m.fallback && isPrivilegeError(err) {
		err = fn(m.switchToCommand(err, op))
	}
	return wrap(op, object, err)
}

// CreateTAP creates a persistent TAP device named name, without packet
// information headers, owned by uid owner (or NoOwner), as
// `ip tuntap add dev NAME mode tap user UID` does.
//
// If a device of that name exists, CreateTAP changes nothing. It returns nil
// when the device is a persistent single-queue TAP with the requested owner,
// no group and no process holding it. It returns an error matching
// syscall.EBUSY when a process still holds it after BusyTimeout of retries.
// Any other device (of another kind, a TUN, a multi-queue TAP, another owner
// or a group) gives an error matching fs.ErrExist. The packet information
// and vnet header flags are not compared, because the VMM sets its own when
// it attaches. A device marked for another sandbox (see [WithSandbox]) also
// gives an error matching fs.ErrExist.
//
// A device that CreateTAP makes carries the mark described at [MarkAlias],
// set before the device is made persistent, so a crash at any point leaves
// either no device or a marked one.
//
// Cancelling ctx stops the EBUSY retries; the device is then left as it was.
func (m *Manager) CreateTAP(ctx context.Context, name string, owner int, opts ...TAPOption) error {
	o, err := validateTAPInput(name, owner, opts)
	if err != nil {
		return err
	}
	return m.do(ctx, "create tap", name, func(b backend) error {
		_, err := b.createTAP(ctx, name, owner, o)
		return err
	})
}

func validateTAPInput(name string, owner int, opts []TAPOption) (tapOptions, error) {
	if err := ValidateInterfaceName(name); err != nil {
		return tapOptions{}, err
	}
	if err := ValidateOwner(owner); err != nil {
		return tapOptions{}, err
	}
	return applyTAPOptions(opts)
}

// DeleteTAP deletes the TAP device name, as `ip link del dev NAME` does. A
// process still attached to the device loses it. It returns an error
// matching fs.ErrNotExist when no such device exists, and rejects (with
// ErrNotTAP) a device that is not a TAP.
func (m *Manager) DeleteTAP(ctx context.Context, name string) error {
	if err := ValidateInterfaceName(name); err != nil {
		return err
	}
	return m.do(ctx, "delete tap", name, func(b backend) error { return b.deleteTAP(ctx, name) })
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
// error matching fs.ErrNotExist when the device does not exist and
// ErrNotTAP when it is not a TAP.
func (m *Manager) TAPInfo(ctx context.Context, name string) (TAPInfo, error) {
	if err := ValidateInterfaceName(name); err != nil {
		return TAPInfo{}, err
	}
	var info TAPInfo
	err := m.do(ctx, "get tap", name, func(b backend) error {
		var err error
		info, err = b.tapInfo(ctx, name)
		return err
	})
	return info, err
}

// FlushAddrs removes every IPv4 and IPv6 address from dev, as
// `ip addr flush dev DEV` does. Routes through dev that depended on those
// addresses go with them.
func (m *Manager) FlushAddrs(ctx context.Context, dev string) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	return m.do(ctx, "flush addresses", "dev "+dev, func(b backend) error {
		_, err := m.flushAddrs(ctx, b, dev, netip.Prefix{})
		return err
	})
}

// flushAddrs removes every address of dev except keep (which may be the zero
// Prefix to keep nothing) and returns how many it removed. With keep set it
// only touches IPv4 addresses.
func (m *Manager) flushAddrs(ctx context.Context, b backend, dev string, keep netip.Prefix) (int, error) {
	addrs, err := b.listAddrs(ctx, dev)
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
		if err := b.delAddr(ctx, dev, a); err != nil {
			return removed, &OpError{Op: "delete address", Object: a.String() + " dev " + dev, Err: err}
		}
		removed++
	}
	return removed, nil
}

// AddAddr adds the IPv4 host address addr (with its prefix length) to dev,
// as `ip addr add ADDR dev DEV` does. An identical address already on dev
// is success.
func (m *Manager) AddAddr(ctx context.Context, dev string, addr netip.Prefix) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	if err := validateHostAddress("address", addr); err != nil {
		return err
	}
	return m.do(ctx, "add address", addr.String()+" dev "+dev, func(b backend) error { return b.addAddr(ctx, dev, addr) })
}

// SetLinkUp sets dev administratively up, as `ip link set dev DEV up` does.
func (m *Manager) SetLinkUp(ctx context.Context, dev string) error {
	if err := ValidateInterfaceName(dev); err != nil {
		return err
	}
	return m.do(ctx, "set link up", dev, func(b backend) error { return b.setLinkUp(ctx, dev) })
}

// ConfigureTAP makes hostAddr the only IPv4 address of the TAP name and sets
// the link up, through the manager's one netlink handle. It adds the address
// before it removes any other, and leaves an address that is already right
// in place, so running it again changes nothing and keeps the routes that
// point at the device. IPv6 addresses, such as the kernel's link-local one,
// are left alone. A device that is not a TAP is rejected with ErrNotTAP
// before anything changes.
func (m *Manager) ConfigureTAP(ctx context.Context, name string, hostAddr netip.Prefix) error {
	if err := ValidateInterfaceName(name); err != nil {
		return err
	}
	if err := validateHostAddress("host address", hostAddr); err != nil {
		return err
	}
	return m.do(ctx, "configure tap", name, func(b backend) error {
		if _, err := b.tapInfo(ctx, name); err != nil {
			return err
		}
		return m.configureTAP(ctx, b, name, hostAddr, false)
	})
}

// configureTAP adds hostAddr to the TAP name, removes its other IPv4
// addresses and sets it up. A TAP this call created (fresh) has no address
// yet, so the listing is skipped. That listing is the one step whose cost
// grows with the addresses in the namespace, because the kernel dumps all
// of them.
func (m *Manager) configureTAP(ctx context.Context, b backend, name string, hostAddr netip.Prefix, fresh bool) error {
	if err := b.addAddr(ctx, name, hostAddr); err != nil {
		return &OpError{Op: "add address", Object: hostAddr.String() + " dev " + name, Err: err}
	}
	removed := 0
	var err error
	if !fresh {
		removed, err = m.flushAddrs(ctx, b, name, hostAddr)
	}
	if err != nil {
		return err
	}

	// Deleting a primary address also deletes the secondaries of its subnet
	// (unless promote_secondaries is set), which can take hostAddr with it.
	if removed > 0 {
		if err := b.addAddr(ctx, name, hostAddr); err != nil {
			return &OpError{Op: "add address", Object: hostAddr.String() + " dev " + name, Err: err}
		}
	}
	if err := ctx.Err(); err != nil {
		return &OpError{Op: "set link up", Object: name, Err: err}
	}
	if err := b.setLinkUp(ctx, name); err != nil {
		return &OpError{Op: "set link up", Object: name, Err: err}
	}
	return nil
}

// PrepareTAP gets a TAP ready for a VMM: it creates it (see CreateTAP),
// configures it (see ConfigureTAP) and sets
// net.ipv4.conf.NAME.route_localnet to 1, so traffic DNATed to 127.0.0.1
// can reach the guest. If a step fails or ctx ends and this call created the
// device, PrepareTAP deletes it again. A device that existed before is left
// in place.
func (m *Manager) PrepareTAP(ctx context.Context, name string, owner int, hostAddr netip.Prefix, opts ...TAPOption) error {
	o, err := validateTAPInput(name, owner, opts)
	if err != nil {
		return err
	}
	if err := validateHostAddress("host address", hostAddr); err != nil {
		return err
	}
	return m.do(ctx, "prepare tap", name, func(b backend) error { return m.prepareTAP(ctx, b, name, owner, hostAddr, o) })
}

func (m *Manager) prepareTAP(ctx context.Context, b backend, name string, owner int, hostAddr netip.Prefix, o tapOptions) error {
	created, err := b.createTAP(ctx, name, owner, o)
	if err != nil {
		return &OpError{Op: "create tap", Object: name, Err: err}
	}
	err = m.configureTAP(ctx, b, name, hostAddr, created)
	if err == nil {
		path := "net/ipv4/conf/" + name + "/route_localnet"
		err = ctx.Err()
		if err == nil {
			err = b.writeSysctl(ctx, path, "1")
		}
		if err != nil {
			err = &OpError{Op: "write sysctl", Object: path, Err: err}
		}
	}
	if err == nil || !created {
		return err
	}
	// The rollback runs even when ctx has ended, so that the cancelled call
	// leaves nothing behind.
	if derr := b.deleteTAP(context.WithoutCancel(ctx), name); derr != nil {
		return errors.Join(err, &OpError{Op: "roll back: delete tap", Object: name, Err: derr})
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
	return m.do(ctx, "add route", dst.String()+" dev "+dev, func(b backend) error { return b.addRoute(ctx, dst, dev) })
}

// DefaultInterface returns the name of the interface the host would use to
// reach the internet in family, found by a route lookup for a fixed public
// address (8.8.8.8 or 2001:4860:4860::8888), as `ip route get` does. No
// packet is sent. Without a route the error matches ErrNoDefaultRoute.
func (m *Manager) DefaultInterface(ctx context.Context, family Family) (string, error) {
	if family != IPv4 && family != IPv6 {
		return "", invalid("address family", strconv.Itoa(int(family)), "must be 4 or 6")
	}
	var name string
	err := m.do(ctx, "get default interface", "ipv"+strconv.Itoa(int(family)), func(b backend) error {
		var err error
		name, err = b.defaultInterface(ctx, family)
		return err
	})
	return name, err
}

// WriteSysctl writes value to the sysctl key, as `sysctl -w KEY=VALUE` does.
// The key may be in dotted or slashed form (see SysctlPath); the file
// written is always under /proc/sys. An unknown key is an error matching
// fs.ErrNotExist. A manager bound to a namespace only writes keys under
// net, because the others are not per namespace and would change the host.
func (m *Manager) WriteSysctl(ctx context.Context, key, value string) error {
	path, err := SysctlPath(key)
	if err != nil {
		return err
	}
	if err := validateSysctlValue(key, value); err != nil {
		return err
	}
	if m.netns != "" && !strings.HasPrefix(path, "net/") {
		return invalid("sysctl key", key, "is not per network namespace, so a manager bound to netns %s does not write it", m.netns)
	}
	return m.do(ctx, "write sysctl", key, func(b backend) error { return b.writeSysctl(ctx, path, value) })
}

// wrap returns err as an OpError of op on object, or nil for a nil err.
func wrap(op, object string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Object: object, Err: err}
}
