package network

import (
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// createTAP creates the device, or accepts an existing one of the requested
// form, retrying with backoff while the kernel reports it busy.
func (n *native) createTAP(ctx context.Context, name string, owner int, o tapOptions) (bool, error) {
	return retryBusy(ctx, n.busyTimeout, func() (bool, error) { return n.tryCreateTAP(name, owner, o) })
}

// retryBusy calls try until it returns something other than EBUSY, timeout
// has passed (a negative timeout means one try) or ctx ends.
func retryBusy(ctx context.Context, timeout time.Duration, try func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		created, err := try()
		if !errors.Is(err, syscall.EBUSY) || timeout < 0 || time.Now().After(deadline) {
			return created, err
		}

		t := time.NewTimer(min(delay, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func (n *native) tryCreateTAP(name string, owner int, o tapOptions) (bool, error) {
	l, err := n.getTunLink(name)
	switch {
	case err == nil:
		return false, checkExistingTAP(l, owner, o)
	case !errors.Is(err, ErrNoDevice):
		return false, err
	}

	err = n.inNetns(func() error { return n.makeTAP(name, owner, o.alias()) })
	return err == nil, err
}

// checkExistingTAP accepts an existing device only when it is what
// createTAP would have made, not marked for another sandbox, and no process
// holds it.
func checkExistingTAP(l *tunLink, owner int, o tapOptions) error {
	switch {
	case l.kind != "tun":
		return notTAPError("device exists and is of kind %s, not a tap", kindString(l.kind))
	case !l.isTAP():
		return notTAPError("device exists and is a tun, not a tap")
	case l.multiQueue:
		return existsError("tap exists and is multi-queue")
	case !l.persistent:
		// Either a process made it without TUNSETPERSIST and holds it, or a
		// concurrent CreateTAP has not reached TUNSETOWNER and
		// TUNSETPERSIST yet. Both are resolved by waiting.
		return busyError("tap is held by the process that created it")
	case l.owner != owner:
		return existsError("tap exists with owner %s, requested %s", ownerString(l.owner), ownerString(owner))
	case l.group != -1:
		return existsError("tap exists with group %d, requested none", l.group)
	case l.carrier:
		return busyError("tap is in use by another process")
	}
	return checkMark(l.alias, o)
}

func kindString(kind string) string {
	if kind == "" {
		return "none (a physical or loopback device)"
	}
	return kind
}

func ownerString(owner int) string {
	if owner == NoOwner {
		return "none"
	}
	return strconv.Itoa(owner)
}

// ifreq is struct ifreq as TUNSETIFF reads it: the name and the flags.
type ifreq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// makeTAP runs the ioctls of `ip tuntap add mode tap user UID`, and marks
// the device with alias before it makes it persistent. The device only
// survives when TUNSETPERSIST succeeds, so an error at any step, or the
// death of this process, leaves nothing behind once the file is closed, and
// a device that survives is always marked. It must run on a thread in the
// manager's namespace (see inNetns).
func (n *native) makeTAP(name string, owner int, alias string) error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fd := int(f.Fd())

	var req ifreq
	copy(req.name[:], name)
	// IFF_TUN_EXCL makes the kernel fail with EBUSY instead of attaching
	// when a device of this name appeared since the lookup, so a device of
	// another user is never taken over.
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_TUN_EXCL
	if err := ioctlPtr(fd, unix.TUNSETIFF, unsafe.Pointer(&req)); err != nil {
		return err
	}
	if owner != NoOwner {
		if err := unix.IoctlSetInt(fd, unix.TUNSETOWNER, owner); err != nil {
			return err
		}
	}
	if err := n.setAlias(name, alias); err != nil {
		return err
	}
	return unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1)
}

// setAlias sets the interface alias of the device name, as
// `ip link set dev NAME alias ALIAS` does.
func (n *native) setAlias(name, alias string) error {
	l, err := n.getTunLink(name)
	if err != nil {
		return err
	}
	return kernelError(n.h.LinkSetAlias(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.index}}, alias))
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func (n *native) deleteTAP(_ context.Context, name string) error {
	l, err := n.getTunLink(name)
	if err != nil {
		return err
	}
	if !l.isTAP() {
		return ErrNotTAP
	}
	return kernelError(n.h.LinkDel(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.index}}))
}

func (n *native) tapInfo(_ context.Context, name string) (TAPInfo, error) {
	l, err := n.getTunLink(name)
	if err != nil {
		return TAPInfo{}, err
	}
	return l.tapInfo()
}

// tapInfo converts l to the exported form, or fails with ErrNotTAP.
func (l *tunLink) tapInfo() (TAPInfo, error) {
	if !l.isTAP() {
		return TAPInfo{}, ErrNotTAP
	}
	id, marked := parseMark(l.alias)
	return TAPInfo{
		Name:       l.name,
		Index:      l.index,
		Owner:      l.owner,
		Group:      l.group,
		Persistent: l.persistent,
		MultiQueue: l.multiQueue,
		Up:         l.flags&unix.IFF_UP != 0,
		Carrier:    l.carrier,
		MTU:        l.mtu,
		Alias:      l.alias,
		SandboxID:  id,
		Marked:     marked,
	}, nil
}
