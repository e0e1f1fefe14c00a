package capabilities

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// KVM ioctls from linux/kvm.h: _IO(KVMIO, 0x00) and _IO(KVMIO, 0x01).
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmAPIVersion    = 12 // the only stable KVM API version
)

// openKVM checks that /dev/kvm opens, speaks the stable API and creates a
// VM. The VM is closed at once; it never runs.
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
	vm, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmCreateVM, 0)
	if errno != 0 {
		return fmt.Errorf("KVM_CREATE_VM on /dev/kvm failed (%w)", errno)
	}
	return unix.Close(int(vm))
}
