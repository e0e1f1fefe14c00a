package demo

import "syscall"

// qemuProcAttr makes the kernel kill QEMU if the demo dies first, so an
// interrupted demo leaves no QEMU behind.
func qemuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
