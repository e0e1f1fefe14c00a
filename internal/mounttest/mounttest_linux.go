// Package mounttest mounts small throwaway filesystems on temp dirs for
// tests: a tmpfs of a given size (to fill a disk) and a loop-mounted XFS
// (to test reflinks). Each is unmounted, and its loop device detached, when
// the test ends. Mounting needs root.
package mounttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// Tmpfs mounts a tmpfs of the given size, such as "1m", on a new temp dir
// and returns the dir.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	netnstest.RequireRootTo(t, "mount a filesystem on a temp dir")
	dir := t.TempDir()
	if err := unix.Mount("smolvm-test", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

func unmount(t testing.TB, dir string) {
	t.Helper()
	if err := unix.Unmount(dir, 0); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}

// XFS makes a 300 MiB XFS filesystem, with or without reflinks, in an image
// file in a temp dir, mounts it through a loop device and returns the mount
// point. 300 MiB is the smallest XFS that xfsprogs 5.19 and later accept.
func XFS(t testing.TB, reflink bool) string {
	t.Helper()
	netnstest.RequireRootTo(t, "mount a filesystem on a temp dir")
	mkfs := netnstest.RequireCommand(t, "mkfs.xfs", "xfsprogs")
	losetup := netnstest.RequireCommand(t, "losetup", "mount")

	dir := t.TempDir()
	image := filepath.Join(dir, "xfs.img")
	if err := os.WriteFile(image, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(image, 300<<20); err != nil {
		t.Fatal(err)
	}
	opt := "reflink=0"
	if reflink {
		opt = "reflink=1"
	}
	if out, err := exec.Command(mkfs, "-q", "-m", opt, image).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v: %s", err, out)
	}
	out, err := exec.Command(losetup, "--find", "--show", image).Output()
	if err != nil {
		t.Fatalf("losetup --find --show %s: %v", image, err)
	}
	device := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "--detach", device).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", device, err, out)
		}
	})

	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(device, mnt, "xfs", 0, ""); err != nil {
		t.Fatalf("mount %s on %s: %v", device, mnt, err)
	}
	t.Cleanup(func() { unmount(t, mnt) })
	return mnt
}
