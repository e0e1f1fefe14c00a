package capabilities

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// KVM_GET_API_VERSION from linux/kvm.h: _IO(KVMIO, 0x00).
const (
	kvmGetAPIVersion = 0xAE00
	kvmAPIVersion    = 12 // the only stable KVM API version
)

// openKVM checks that /dev/kvm opens and speaks the stable API. It creates
// nothing.
func openKVM() error {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open /dev/kvm (%w)", err)
	}
	defer unix.Close(fd)

	version, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmGetAPIVersion, 0)
	if errno != 0 {
		return fmt.Errorf("KVM_GET_API_VERSION on /dev/kvm failed (%w)", errno)
	}
	if version != kvmAPIVersion {
		return fmt.Errorf("/dev/kvm speaks KVM API version %d, not %d", version, kvmAPIVersion)
	}
	return nil
}
