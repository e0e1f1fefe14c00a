// Package procstate reports whether a process has exited, for the clients
// that wait for a VMM's socket and should stop waiting once the VMM is gone.
package procstate

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// Exited reports whether the process with the given pid is gone or a
// zombie. It reads /proc/PID/stat, so it does not reap a child of the
// caller. Without /proc it falls back to kill(pid, 0), which cannot see
// zombies.
func Exited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		// The state follows the command name, which is in parentheses and
		// may itself contain ") ".
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return false
		}
		state := stat[i+2]
		return state == 'Z' || state == 'X'
	}
	if _, serr := os.Stat("/proc/self"); serr == nil {
		return errors.Is(err, os.ErrNotExist)
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
