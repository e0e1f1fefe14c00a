package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// guestImage is the kernel and initramfs built by scripts/build-guest.
type guestImage struct {
	kernel    string
	initramfs string
}

// buildGuest runs scripts/build-guest and returns the paths of the guest it
// built or found up to date. The script is idempotent, so running it on
// every test keeps the guest in step with e2e/guest and the kernel package
// at the cost of one apt-cache query.
func buildGuest(t *testing.T) guestImage {
	t.Helper()
	netnstest.RequireCommand(t, "apt-get", "apt")
	netnstest.RequireCommand(t, "dpkg-deb", "dpkg")
	netnstest.RequireCommand(t, "go", "golang-go")

	dir := os.Getenv("SMOLVM_GUEST_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("find the guest cache directory: %v (set SMOLVM_GUEST_DIR)", err)
		}
		dir = filepath.Join(cache, "smolvm-core", "guest")
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "build-guest"))
	if err != nil {
		t.Fatal(err)
	}

	// A cold build downloads about 28 MB of packages.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script)
	cmd.Env = append(os.Environ(), "SMOLVM_GUEST_DIR="+dir)
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, output)
	}
	lines := bytes.Split(bytes.TrimSpace(output), []byte("\n"))
	t.Logf("%s (%.1f s)", lines[len(lines)-1], time.Since(start).Seconds())

	return guestImage{
		kernel:    filepath.Join(dir, "vmlinuz"),
		initramfs: filepath.Join(dir, "initramfs.cpio.gz"),
	}
}
