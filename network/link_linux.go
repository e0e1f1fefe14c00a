package network

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func (n *native) listAddrs(_ context.Context, dev string) ([]netip.Prefix, error) {
	l, err := n.link(dev)
	if err != nil {
		return nil, err
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) {
		return n.h.AddrList(l, netlink.FAMILY_ALL)
	})
	if err != nil {
		return nil, kernelError(err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
	}
	return out, nil
}

// netlinkAddr converts p to the request `ip addr add` sends: p as both local
// and peer address, and no broadcast address. The netlink library would add
// one by default, and a broadcast of IPv4zero makes it leave that out.
func netlinkAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: prefixIPNet(p)}
	if p.Addr().Is4() {
		a.Broadcast = net.IPv4zero
	}
	return a
}

// prefixIPNet converts p to a net.IPNet that keeps the host bits.
func prefixIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func (n *native) addAddr(_ context.Context, dev string, p netip.Prefix) error {
	l, err := n.link(dev)
	if err != nil {
		return err
	}
	err = n.h.AddrAdd(l, netlinkAddr(p))
	if errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return kernelError(err)
}

func (n *native) delAddr(_ context.Context, dev string, p netip.Prefix) error {
	l, err := n.link(dev)
	if err != nil {
		return err
	}
	err = n.h.AddrDel(l, netlinkAddr(p))
	// Deleting a primary address takes its secondaries along, so one
	// listed a moment ago may be gone already.
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil
	}
	return kernelError(err)
}

func (n *native) setLinkUp(_ context.Context, dev string) error {
	l, err := n.link(dev)
	if err != nil {
		return err
	}
	return kernelError(n.h.LinkSetUp(l))
}

func (n *native) addRoute(_ context.Context, dst netip.Prefix, dev string) error {
	l, err := n.link(dev)
	if err != nil {
		return err
	}
	index := l.Attrs().Index
	route := &netlink.Route{
		LinkIndex: index,
		Dst:       prefixIPNet(dst),
		Scope:     netlink.SCOPE_LINK,
		Protocol:  unix.RTPROT_BOOT,
		Table:     unix.RT_TABLE_MAIN,
		Family:    netlink.FAMILY_V4,
	}
	err = n.h.RouteAdd(route)
	if !errors.Is(err, syscall.EEXIST) {
		return kernelError(err)
	}

	// The kernel reports EEXIST for any route to dst with the same metric,
	// whatever its device, so look at what is there.
	filter := &netlink.Route{Dst: route.Dst, Table: unix.RT_TABLE_MAIN}
	routes, lerr := retryDump(func() ([]netlink.Route, error) {
		return n.h.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
	if lerr != nil {
		return errors.Join(err, kernelError(lerr))
	}
	for _, r := range routes {
		if r.LinkIndex == index && r.Gw == nil && len(r.MultiPath) == 0 {
			return nil
		}
	}
	return existsError("a route to %s through another device or gateway exists", dst)
}

// Probe addresses for DefaultInterface: public resolvers that a host with
// internet access reaches through its default route. The kernel only looks
// the route up; nothing is sent to them.
var (
	probeIPv4 = net.IPv4(8, 8, 8, 8)
	probeIPv6 = net.ParseIP("2001:4860:4860::8888")
)

func (n *native) defaultInterface(_ context.Context, family Family) (string, error) {
	probe := probeIPv4
	if family == IPv6 {
		probe = probeIPv6
	}
	routes, err := n.h.RouteGet(probe)
	if errors.Is(err, syscall.ENETUNREACH) {
		return "", ErrNoDefaultRoute
	}
	if err != nil {
		return "", kernelError(err)
	}
	if len(routes) == 0 || routes[0].LinkIndex == 0 {
		return "", ErrNoDefaultRoute
	}
	l, err := n.h.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return "", kernelError(err)
	}
	return l.Attrs().Name, nil
}

// writeSysctl writes value to /proc/sys/path inside the manager's namespace.
// path has been checked by SysctlPath; openat2 with RESOLVE_BENEATH also
// keeps the kernel from resolving it outside /proc/sys.
func (n *native) writeSysctl(_ context.Context, path, value string) error {
	return n.inNetns(func() error {
		f, err := openSysctl(path)
		if errors.Is(err, syscall.EACCES) {
			return &sysctlDenied{pathCause(err)}
		}
		if err != nil {
			return pathCause(err)
		}
		_, werr := f.WriteString(value)
		cerr := f.Close()
		if werr != nil {
			return pathCause(werr)
		}
		return pathCause(cerr)
	})
}

func openSysctl(path string) (*os.File, error) {
	dir, err := unix.Open("/proc/sys", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)

	fd, err := unix.Openat2(dir, path, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		// Kernels before 5.6 have no openat2; SysctlPath's checks stand.
		return os.OpenFile("/proc/sys/"+path, os.O_WRONLY, 0)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/proc/sys/"+path), nil
}

// pathCause returns the errno inside a file error, because the operation
// error already names the key, and the command path reports the bare errno.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
