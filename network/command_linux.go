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

func (c *command) createTAP(ctx context.Context, name string, owner int) (bool, error) {
	return retryBusy(ctx, c.busyTimeout, func() (bool, error) { return c.tryCreateTAP(ctx, name, owner) })
}

func (c *command) tryCreateTAP(ctx context.Context, name string, owner int) (bool, error) {
	l, err := c.link(ctx, name)
	switch {
	case err == nil:
		return false, checkExistingTAP(l, owner)
	case !errors.Is(err, ErrNoDevice):
		return false, err
	}

	// ip sets IFF_TUN_EXCL too, so a device that appeared since the lookup
	// gives EBUSY, and the retry then checks it.
	args := []string{"tuntap", "add", "dev", name, "mode", "tap"}
	if owner != NoOwner {
		args = append(args, "user", strconv.Itoa(owner))
	}
	_, err = c.ip(ctx, args...)
	return err == nil, err
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
