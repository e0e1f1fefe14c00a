package main

import (
	"errors"
	"io/fs"
	"syscall"

	"github.com/smolvm/smolvm-core/network"
)

// Messages of the original smolvm_core module, which callers match on.
const (
	msgExists       = "File exists"
	msgRouteExists  = "RTNETLINK answers: File exists"
	msgBusy         = "Device or resource busy"
	msgNotPermitted = "Operation not permitted"
	msgNotAvailable = "Not available on this platform"
)

// networkError maps an error of the network package to the OSError that
// the original module raised for it: its message and errno. op is the
// Python function name, which prefixes messages about invalid input, and
// dev is the device named by `Cannot find device "DEV"`.
func networkError(op, dev string, err error) *errorInfo {
	info := &errorInfo{Kind: kindOS, Detail: err.Error(), Errno: errnoOf(err)}
	var verr *network.ValidationError
	switch {
	case errors.Is(err, network.ErrNotAvailable):
		info.Message = msgNotAvailable
		info.Errno = 0
	case errors.As(err, &verr):
		info.Message = op + ": " + verr.Error()
		info.Errno = int(syscall.EINVAL)
	case errors.Is(err, network.ErrNoDevice):
		info.Message = `Cannot find device "` + dev + `"`
		info.Errno = int(syscall.ENODEV)
	case errors.Is(err, fs.ErrExist):
		info.Message = msgExists
		if op == "add_route" {
			info.Message = msgRouteExists
		}
		info.Errno = int(syscall.EEXIST)
	case errors.Is(err, syscall.EBUSY):
		info.Message = msgBusy
		info.Errno = int(syscall.EBUSY)
	case errors.Is(err, syscall.EPERM):
		info.Message = msgNotPermitted
	default:
		info.Message = err.Error()
	}
	return info
}

// errnoOf returns the errno behind err: the kernel's own when the chain
// contains a syscall.Errno, else the one that the package's sentinel
// errors match, else 0.
func errnoOf(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	for _, candidate := range []struct {
		target error
		errno  syscall.Errno
	}{
		{fs.ErrInvalid, syscall.EINVAL},
		{fs.ErrExist, syscall.EEXIST},
		{fs.ErrNotExist, syscall.ENOENT},
		{fs.ErrPermission, syscall.EPERM},
		{syscall.EBUSY, syscall.EBUSY},
		{syscall.ENETUNREACH, syscall.ENETUNREACH},
	} {
		if errors.Is(err, candidate.target) {
			return int(candidate.errno)
		}
	}
	return 0
}
