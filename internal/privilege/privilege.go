// Package privilege answers the one question both network backends ask
// before they pick a path: may this process change networking with direct
// kernel calls? It only reads /proc/self/status, the environment and
// /dev/net/tun (opened and closed, nothing created).
package privilege

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// DisableEnv is the environment variable that forces the subprocess path
// when set to 1, true, yes or on (in any case). Other values are ignored.
const DisableEnv = "SMOLVM_DISABLE_NATIVE_NETWORKING"

// Linux capability bits, from linux/capability.h.
const (
	CapNetAdmin = 12
	CapSysAdmin = 21
)

// NativeDisabledByEnv reports whether DisableEnv requests the subprocess
// path, and the reason to show when it does.
func NativeDisabledByEnv() (bool, string) {
	v := os.Getenv(DisableEnv)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, DisableEnv + "=" + v + " forces the subprocess path"
	}
	return false, ""
}

// EffectiveCaps returns the effective capability mask of this process, as
// the CapEff line of /proc/self/status gives it.
func EffectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		}
	}
	return 0, os.ErrNotExist
}

// HasNetAdmin reports whether this process holds CAP_NET_ADMIN in its
// effective set. It is false when the set cannot be read.
func HasNetAdmin() bool { return hasCap(CapNetAdmin) }

// HasSysAdmin reports whether this process holds CAP_SYS_ADMIN, which
// entering another network namespace needs.
func HasSysAdmin() bool { return hasCap(CapSysAdmin) }

func hasCap(bit uint) bool {
	caps, err := EffectiveCaps()
	return err == nil && caps&(1<<bit) != 0
}

// NativeNetworking reports whether this process can change networking with
// direct kernel calls: it runs on Linux, holds CAP_NET_ADMIN (root holds it
// unless it was dropped) and can open /dev/net/tun. With netns set it must
// also hold CAP_SYS_ADMIN to enter that namespace. When it cannot, the
// reason names what is missing and how to get it.
func NativeNetworking(netns string) (bool, string) {
	if runtime.GOOS != "linux" {
		return false, "this build has no native networking for " + runtime.GOOS
	}
	caps, err := EffectiveCaps()
	if err != nil {
		return false, "cannot read the process capabilities: " + err.Error()
	}
	if caps&(1<<CapNetAdmin) == 0 {
		return false, "CAP_NET_ADMIN is missing: run as root or grant it (setcap cap_net_admin+ep BINARY)"
	}
	if netns != "" && caps&(1<<CapSysAdmin) == 0 {
		return false, "CAP_SYS_ADMIN is missing, so the native path cannot enter network namespace " + netns + ": run as root"
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) {
		return false, "no permission to open /dev/net/tun: run as root or give this user read and write access to it"
	}
	if err != nil {
		return false, "cannot open /dev/net/tun (" + err.Error() + "): load the tun module or give the container the device"
	}
	f.Close()
	return true, "CAP_NET_ADMIN is held and /dev/net/tun opens"
}
