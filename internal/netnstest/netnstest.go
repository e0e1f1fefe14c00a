// Package netnstest gives each kernel test a fresh network namespace of its
// own, so tests never touch the host's interfaces, routes or sysctls.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"

	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// RequireRoot skips t when the process is not root, or fails it when the CI
// environment variable is set, so CI cannot pass by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	RequireRootTo(t, "create network namespaces")
}

// RequireRootTo is RequireRoot for a test that needs root for another
// reason, which the message names, such as "mount a filesystem".
func RequireRootTo(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "this test needs root to " + why + ": run it with sudo -E go test ./..."
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so this is a failure rather than a skip)")
	}
	t.Skip(msg)
}

// RequireCommand skips t when the program is not in PATH, or fails it when
// CI is set.
func RequireCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " is not installed: apt-get install " + debianPackage
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so this is a failure rather than a skip)")
	}
	t.Skip(msg)
	return ""
}

// New creates a network namespace with a random name for t, deletes it when
// t ends unless the test already did, and returns its name.
func New(t testing.TB) string {
	t.Helper()
	RequireRoot(t)

	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "smolvm-test-" + hex.EncodeToString(b[:])
	if err := nsutil.Create(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test may delete the namespace itself to check its teardown.
		if !nsutil.Exists(name) {
			return
		}
		if err := nsutil.Delete(name); err != nil {
			t.Error(err)
		}
	})
	return name
}
