package network

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/internal/hostcmd"
)

// command does the kernel work by running ip and sysctl (see Backend). It
// makes the same requests as the native backend and applies the same
// checks to what it reads back, so both paths end in the same state.
type command struct {
	run         *hostcmd.Runner
	busyTimeout time.Duration
}

func newCommand(opts Options) backend {
	return &command{run: hostcmd.New(opts.Netns), busyTimeout: opts.BusyTimeout}
}

func (c *command) close() error { return nil }

func (c *command) ip(ctx context.Context, args ...string) ([]byte, error) {
	out, err := c.run.IP(ctx, args...)
	return out, toolError(err)
}

// toolError gives a failed tool's error the meaning and the message of the
// native path's error: a missing device is ErrNoDevice, and an error whose
// errno is known reads as that errno. Other failures, such as a refusal by
// sudo or a message that names no errno, keep the tool's own message.
func toolError(err error) error {
	var errno syscall.Errno
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENODEV):
		return &mappedError{sentinel: ErrNoDevice, err: err}
	case errors.As(err, &errno):
		return &mappedError{sentinel: errno, err: err}
	}
	return err
}

// mappedError is a tool's error that also matches one of this package's
// sentinels. Its message is the sentinel's, so both paths read alike; the
// tool's error stays reachable with errors.As.
type mappedError struct {
	sentinel error
	err      error
}

func (e *mappedError) Error() string   { return e.sentinel.Error() }
func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.err} }

// link reads the device as the native getTunLink does. For a device that is
// down, the carrier is not in ip's output, so it reads `ip tuntap show` to
// learn whether a process holds the device.
func (c *command) link(ctx context.Context, name string) (*tunLink, error) {
	out, err := c.ip(ctx, "-json", "-details", "link", "show", "dev", name)
	if err != nil {
		return nil, err
	}
	l, err := parseIPLink(out)
	if err != nil || !l.isTAP() || l.flags&unix.IFF_UP != 0 {
		return l, err
	}
	out, err = c.ip(ctx, "-details", "tuntap", "show")
	if err != nil {
		return nil, err
	}
	// NOTE: ip matches processes to devices by name across all namespaces,
	// so a held device of the same name in another namespace also reads as
	// held here, which makes CreateTAP report EBUSY rather than take it.
	l.carrier = parseAttached(string(out), name)
	return l, nil
}

func (c *command) createTAP(ctx context.Context, name string, owner int, o tapOptions) (bool, error) {
	return retryBusy(ctx, c.busyTimeout, func() (bool, error) { return c.tryCreateTAP(ctx, name, owner, o) })
}

func (c *command) tryCreateTAP(ctx context.Context, name string, owner int, o tapOptions) (bool, error) {
	l, err := c.link(ctx, name)
	switch {
	case err == nil:
		return false, checkExistingTAP(l, owner, o)
	case !errors.Is(err, ErrNoDevice):
		return false, err
	}

	// ip sets IFF_TUN_EXCL too, so a device that appeared since the lookup
	// gives EBUSY, and the retry then checks it.
	args := []string{"tuntap", "add", "dev", name, "mode", "tap"}
	if owner != NoOwner {
		args = append(args, "user", strconv.Itoa(owner))
	}
	if _, err := c.ip(ctx, args...); err != nil {
		return false, err
	}

	// NOTE: ip cannot mark the device before it is persistent, so a crash
	// between these two commands leaves an unmarked TAP, which garbage
	// collection does not find. The native path has no such window.
	_, err = c.ip(ctx, "link", "set", "dev", name, "alias", o.alias())
	if err == nil {
		return true, nil
	}
	if _, derr := c.ip(context.WithoutCancel(ctx), "link", "del", "dev", name); derr != nil {
		return false, errors.Join(err, derr)
	}
	return false, err
}

func (c *command) deleteTAP(ctx context.Context, name string) error {
	l, err := c.link(ctx, name)
	if err != nil {
		return err
	}
	if !l.isTAP() {
		return ErrNotTAP
	}
	_, err = c.ip(ctx, "link", "del", "dev", name)
	return err
}

func (c *command) tapInfo(ctx context.Context, name string) (TAPInfo, error) {
	l, err := c.link(ctx, name)
	if err != nil {
		return TAPInfo{}, err
	}
	return l.tapInfo()
}

func (c *command) listAddrs(ctx context.Context, dev string) ([]netip.Prefix, error) {
	out, err := c.ip(ctx, "-json", "addr", "show", "dev", dev)
	if err != nil {
		return nil, err
	}
	return parseIPAddrs(out)
}

func (c *command) addAddr(ctx context.Context, dev string, p netip.Prefix) error {
	_, err := c.ip(ctx, "addr", "add", p.String(), "dev", dev)
	if errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return err
}

func (c *command) delAddr(ctx context.Context, dev string, p netip.Prefix) error {
	_, err := c.ip(ctx, "addr", "del", p.String(), "dev", dev)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil
	}
	return err
}

func (c *command) setLinkUp(ctx context.Context, dev string) error {
	_, err := c.ip(ctx, "link", "set", "dev", dev, "up")
	return err
}

func (c *command) addRoute(ctx context.Context, dst netip.Prefix, dev string) error {
	_, err := c.ip(ctx, "route", "add", dst.String(), "dev", dev, "proto", "boot", "scope", "link", "table", "main")
	if !errors.Is(err, syscall.EEXIST) {
		return err
	}

	out, lerr := c.ip(ctx, "-json", "route", "show", "exact", dst.String(), "table", "main")
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	routes, lerr := parseIPRoutes(out)
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	for _, r := range routes {
		if r.Dev == dev && r.Gateway == "" && len(r.Nexthops) == 0 {
			return nil
		}
	}
	return existsError("a route to %s through another device or gateway exists", dst)
}

func (c *command) defaultInterface(ctx context.Context, family Family) (string, error) {
	probe := probeIPv4.String()
	if family == IPv6 {
		probe = probeIPv6.String()
	}
	out, err := c.ip(ctx, "-json", "route", "get", probe)
	if errors.Is(err, syscall.ENETUNREACH) {
		return "", ErrNoDefaultRoute
	}
	if err != nil {
		return "", err
	}
	routes, err := parseIPRoutes(out)
	if err != nil {
		return "", err
	}
	if len(routes) == 0 || routes[0].Dev == "" {
		return "", ErrNoDefaultRoute
	}
	return routes[0].Dev, nil
}

// writeSysctl runs `sysctl -q -w PATH=VALUE` with the slashed form of the
// key, which sysctl reads with dots kept inside each part, so an interface
// name such as tap.0 reaches the right file.
func (c *command) writeSysctl(ctx context.Context, path, value string) error {
	_, err := c.run.Tool(ctx, nil, "sysctl", "-q", "-w", path+"="+value)
	return toolError(err)
}

func (c *command) listTAPs(ctx context.Context) ([]TAPInfo, error) {
	out, err := c.ip(ctx, "-json", "-details", "link", "show", "type", "tun")
	if err != nil {
		return nil, err
	}
	links, err := parseIPLinks(out)
	if err != nil {
		return nil, err
	}
	if err := c.fillCarrier(ctx, links); err != nil {
		return nil, err
	}
	return tapInfos(links), nil
}

// fillCarrier sets the carrier of the TAPs that are down from
// `ip tuntap show`, as link does for one device.
func (c *command) fillCarrier(ctx context.Context, links []*tunLink) error {
	var out []byte
	for _, l := range links {
		if !l.isTAP() || l.flags&unix.IFF_UP != 0 {
			continue
		}
		if out == nil {
			var err error
			if out, err = c.ip(ctx, "-details", "tuntap", "show"); err != nil {
				return err
			}
		}
		l.carrier = parseAttached(string(out), l.name)
	}
	return nil
}

// deleteTAPs puts the named TAPs into an unused interface group and runs
// `ip link delete group N`, the command form of the native batch delete.
func (c *command) deleteTAPs(ctx context.Context, names []string) error {
	out, err := c.ip(ctx, "-json", "-details", "link", "show")
	if err != nil {
		return err
	}
	links, err := parseIPLinks(out)
	if err != nil {
		return err
	}
	move := func(l *tunLink, group uint32) error {
		_, err := c.ip(ctx, "link", "set", "dev", l.name, "group", groupString(group))
		return err
	}
	deleteGroup := func(group uint32) error {
		_, err := c.ip(ctx, "link", "delete", "group", groupString(group))
		return err
	}
	return batchDelete(links, names, move, deleteGroup)
}

// reclaimTAPs runs `ip tuntap del dev NAME mode tap` for each name. Like
// the native path it attaches first, so the kernel refuses with EBUSY while
// a process holds the device. It cannot check the mark again after
// attaching, and deletes one device per command.
func (c *command) reclaimTAPs(ctx context.Context, names []string) (removed, held []string, err error) {
	var errs []error
	for _, name := range names {
		_, err := c.ip(ctx, "tuntap", "del", "dev", name, "mode", "tap")
		switch {
		case errors.Is(err, syscall.EBUSY):
			held = append(held, name)
		case err != nil:
			errs = append(errs, &OpError{Op: "delete tap", Object: name, Err: err})
		default:
			removed = append(removed, name)
		}
	}
	return removed, held, errors.Join(errs...)
}
