//go:build !linux

package demo

import "syscall"

// qemuProcAttr has nothing to set where there is no parent-death signal.
func qemuProcAttr() *syscall.SysProcAttr { return nil }
