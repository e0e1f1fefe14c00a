package firewall

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// TODO: use the shared privilege check once it is on the main branch; this
// one does the same (root, or CAP_NET_ADMIN in the effective set).

// nativePermitted returns nil when the process may change nftables
// through netlink, and the reason otherwise.
func nativePermitted() error {
	if os.Geteuid() == 0 {
		return nil
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err == nil && caps&(1<<capNetAdmin) != 0 {
			return nil
		}
		break
	}
	return errors.New("not root and CAP_NET_ADMIN is not in the effective capability set")
}
