package bench

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// floorPath does a sandbox's network start with the fewest kernel calls:
// one netlink socket, no lookups and no checks, on a thread that is
// already in the namespace. It is not a usable implementation, because it
// is neither idempotent nor undone on failure. It shows what the kernel
// alone costs, and times each step.
type floorPath struct {
	h     *netlink.Handle
	sock  int // AF_INET datagram socket for SIOCGIFINDEX
	steps *stepTimes
}

// stepTimes holds the times of the named steps of an operation.
type stepTimes struct {
	times map[string][]time.Duration
	names []string // in the order first seen
}

func newStepTimes() *stepTimes { return &stepTimes{times: make(map[string][]time.Duration)} }

// lap records the time since *last under step and moves *last to now.
func (s *stepTimes) lap(last *time.Time, step string) {
	now := time.Now()
	if _, ok := s.times[step]; !ok {
		s.names = append(s.names, step)
	}
	s.times[step] = append(s.times[step], now.Sub(*last))
	*last = now
}

// newFloorPath opens its sockets in the namespace of the calling thread,
// which must stay there.
func newFloorPath() (*floorPath, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("open socket: %w", err)
	}
	return &floorPath{h: h, sock: sock, steps: newStepTimes()}, nil
}

func (f *floorPath) close() {
	f.h.Close()
	unix.Close(f.sock)
}

// tunReq is struct ifreq as TUNSETIFF reads it: the name and the flags.
type tunReq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// prepare creates the TAP name owned by owner and marked as the library
// marks it, puts host on it, sets it up, sets route_localnet and adds the
// route to guest.
func (f *floorPath) prepare(name string, owner int, host, guest netip.Prefix) error {
	last := time.Now()
	tun, err := os.OpenFile("/dev/net/tun", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer tun.Close()
	f.steps.lap(&last, "open /dev/net/tun")

	var req tunReq
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_TUN_EXCL
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, tun.Fd(), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return fmt.Errorf("TUNSETIFF: %w", errno)
	}
	f.steps.lap(&last, "ioctl TUNSETIFF (creates the device)")
	if err := unix.IoctlSetInt(int(tun.Fd()), unix.TUNSETOWNER, owner); err != nil {
		return fmt.Errorf("TUNSETOWNER: %w", err)
	}
	f.steps.lap(&last, "ioctl TUNSETOWNER")

	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(f.sock, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("SIOCGIFINDEX: %w", err)
	}
	link := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: name, Index: int(ifr.Uint32())}}
	f.steps.lap(&last, "ioctl SIOCGIFINDEX")
	if err := f.h.LinkSetAlias(link, "smolvm"); err != nil {
		return fmt.Errorf("set alias: %w", err)
	}
	f.steps.lap(&last, "RTM_SETLINK alias (the mark)")
	if err := unix.IoctlSetInt(int(tun.Fd()), unix.TUNSETPERSIST, 1); err != nil {
		return fmt.Errorf("TUNSETPERSIST: %w", err)
	}
	f.steps.lap(&last, "ioctl TUNSETPERSIST")
	if err := tun.Close(); err != nil {
		return err
	}
	f.steps.lap(&last, "close /dev/net/tun (detaches)")

	addr := &netlink.Addr{IPNet: prefixIPNet(host), Broadcast: net.IPv4zero}
	if err := f.h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add address: %w", err)
	}
	f.steps.lap(&last, "RTM_NEWADDR")
	if err := f.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	f.steps.lap(&last, "RTM_SETLINK up")
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+name+"/route_localnet", []byte("1"), 0); err != nil {
		return err
	}
	f.steps.lap(&last, "write /proc/sys route_localnet")
	route := &netlink.Route{LinkIndex: link.Index, Dst: prefixIPNet(guest), Scope: netlink.SCOPE_LINK}
	if err := f.h.RouteAdd(route); err != nil {
		return fmt.Errorf("add route: %w", err)
	}
	f.steps.lap(&last, "RTM_NEWROUTE")
	return nil
}

// packagePrepare does a sandbox's network start with the package-level
// functions of vishvananda/netlink, which open a netlink socket for every
// call, on a thread that is already in the namespace.
func packagePrepare(name string, owner int, host, guest netip.Prefix) error {
	link := &netlink.Tuntap{
		LinkAttrs: netlink.LinkAttrs{Name: name},
		Mode:      netlink.TUNTAP_MODE_TAP,
		Flags:     netlink.TUNTAP_DEFAULTS | netlink.TUNTAP_NO_PI,
		Owner:     uint32(owner),
	}
	if err := netlink.LinkAdd(link); err != nil {
		return fmt.Errorf("add link: %w", err)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: prefixIPNet(host)}); err != nil {
		return fmt.Errorf("add address: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+name+"/route_localnet", []byte("1"), 0); err != nil {
		return err
	}
	route := &netlink.Route{LinkIndex: link.Index, Dst: prefixIPNet(guest), Scope: netlink.SCOPE_LINK}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add route: %w", err)
	}
	return nil
}

// prefixIPNet converts p to a net.IPNet that keeps the host bits.
func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// reset clears the times recorded so far, such as a warm-up's.
func (s *stepTimes) reset() {
	clear(s.times)
	s.names = nil
}
