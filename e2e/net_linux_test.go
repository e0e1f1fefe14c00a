package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// openTAP attaches to the TAP name in the namespace ns as a VMM does,
// with TUNSETIFF on a new /dev/net/tun descriptor, and returns that
// descriptor. IFF_VNET_HDR lets QEMU use the virtio-net header on it, as
// it does when it opens the TAP itself.
func openTAP(ns, name string) (*os.File, error) {
	var file *os.File
	err := nsutil.Do(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		req, err := unix.NewIfreq(name)
		if err == nil {
			req.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, req)
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		file = os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attach to tap %s in netns %s: %w", name, ns, err)
	}
	return file, nil
}

// isTimeout reports whether err is a network timeout, as a request to a
// paused guest gives.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
