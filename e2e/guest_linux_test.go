package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// buildGuest runs scripts/build-guest and returns the guest it built or
// found up to date. The script is idempotent, so running it on every test
// keeps the guest in step with e2e/guest and the kernel package at the
// cost of one apt-cache query. When the script fails, as it does without
// a Debian mirror, the test skips, or fails when CI is set.
func buildGuest(t *testing.T) guest.Image {
	t.Helper()
	netnstest.RequireCommand(t, "apt-get", "apt")
	netnstest.RequireCommand(t, "dpkg-deb", "dpkg")
	netnstest.RequireCommand(t, "go", "golang-go")

	dir, err := guest.DefaultDir()
	if err != nil {
		t.Fatal(err)
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
		msg := fmt.Sprintf("the guest could not be built: %s: %v\n%s", script, err, output)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "(CI is set, so this is a failure rather than a skip)")
		}
		t.Skip(msg + "(set CI to make this a failure)")
	}
	lines := bytes.Split(bytes.TrimSpace(output), []byte("\n"))
	t.Logf("%s (%.1f s)", lines[len(lines)-1], time.Since(start).Seconds())

	img, err := guest.Find(dir)
	if err != nil {
		t.Fatalf("%v, although %s succeeded", err, script)
	}
	return img
}
