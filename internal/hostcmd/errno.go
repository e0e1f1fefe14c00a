package hostcmd

import (
	"strings"
	"syscall"
)

// phrases are messages of iproute2 and sysctl that do not carry the C
// library's text for the errno behind them.
var phrases = []struct {
	text  string
	errno syscall.Errno
}{
	{"Address already assigned", syscall.EEXIST},
	{"Cannot find device", syscall.ENODEV},
	{"does not exist", syscall.ENODEV},
	{"Address not found", syscall.EADDRNOTAVAIL},
	{"Device for nexthop is not up", syscall.ENETDOWN},
	{"Nexthop device is not up", syscall.ENETDOWN},
}

// sudoPhrases are sudo's messages when it will not run a command.
var sudoPhrases = []string{
	"a password is required",
	"is not allowed to execute",
	"is not in the sudoers file",
	"a terminal is required",
}

// Errno maps a tool's standard error to the errno it reports: an iproute2
// phrase first, then the longest C library error text found in it, so
// "No such device or address" is ENXIO rather than ENODEV. Text that names
// none gives ErrUnknown; a refusal by sudo gives ErrSudo. Matching text is
// the only way to learn a subprocess's errno, so it is kept to this one
// function, and the tools run with LC_ALL=C.
func Errno(stderr string) error {
	lower := strings.ToLower(stderr)
	for _, p := range sudoPhrases {
		if strings.Contains(lower, p) && strings.Contains(lower, "sudo") {
			return ErrSudo
		}
	}
	for _, p := range phrases {
		if strings.Contains(stderr, p.text) {
			return p.errno
		}
	}
	var (
		best    syscall.Errno
		bestLen int
	)
	for e := syscall.Errno(1); e < 134; e++ {
		text := strings.ToLower(e.Error())
		if strings.HasPrefix(text, "errno ") || len(text) <= bestLen {
			continue
		}
		if strings.Contains(lower, text) {
			best, bestLen = e, len(text)
		}
	}
	if best != 0 {
		return best
	}
	return ErrUnknown
}
