package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/internal/mounttest"
)

func TestCloneFullDisk(t *testing.T) {
	for _, p := range clonePlans {
		t.Run(p.name, func(t *testing.T) {
			full := mounttest.Tmpfs(t, "1m")
			l := layout{"dense", 4 * mib, []extent{{0, 4 * mib}}}
			src := filepath.Join(t.TempDir(), "src.img")
			writeImage(t, src, l, 0o644)
			old := []byte("the old target")
			dst := writeFile(t, full, "dst.img", old)

			_, err := clone(context.Background(), src, dst, &Options{Overwrite: true}, p.plan)
			checkFullDisk(t, err, full, dst, old)
		})
	}
}

func TestDecompressFullDisk(t *testing.T) {
	full := mounttest.Tmpfs(t, "1m")
	zst, _, _ := writeCompressedImage(t, t.TempDir(), layout{"dense", 4 * mib, []extent{{0, 4 * mib}}}, 0)
	old := []byte("the old target")
	dst := writeFile(t, full, "dst.img", old)

	_, err := Decompress(context.Background(), zst, dst, &Options{Overwrite: true})
	checkFullDisk(t, err, full, dst, old)
}

// checkFullDisk checks that err reports ENOSPC, that the target still holds
// old and that no temporary file is left.
func checkFullDisk(t *testing.T, err error, dir, dst string, old []byte) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error = %v, want one matching ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("error text %q does not give the reason", err)
	}
	var operr *OpError
	if !errors.As(err, &operr) || operr.Target != dst {
		t.Errorf("error %#v is not an *OpError naming the target %s", err, dst)
	}
	got, rerr := os.ReadFile(dst)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if string(got) != string(old) {
		t.Errorf("target changed to %d bytes after the failed copy", len(got))
	}
	checkNoTempFiles(t, dir)
}

func TestCloneAcrossFilesystems(t *testing.T) {
	// tmpfs and the temp dir's filesystem are different, so FICLONE fails
	// with EXDEV and copy_file_range may too, depending on the kernel.
	other := mounttest.Tmpfs(t, "64m")
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			srcDir := t.TempDir()
			src := filepath.Join(srcDir, "src.img")
			want := writeImage(t, src, l, 0o644)
			dst := filepath.Join(other, strings.ReplaceAll(l.name, " ", "-")+".img")

			r, err := Clone(context.Background(), src, dst, &Options{ChunkSize: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != MethodSparse {
				t.Errorf("method = %q, want sparse", r.Method)
			}
			if r.Technique != TechniqueExtents && r.Technique != TechniqueExtentsReadWrite {
				t.Errorf("technique = %q, want an extent copy", r.Technique)
			}
			checkCopy(t, dst, src, want, l)
		})
	}
}

func TestCloneReflinkOnXFS(t *testing.T) {
	mnt := mounttest.XFS(t, true)
	l := layoutNamed(t, "holes at start middle and end")
	src := filepath.Join(mnt, "src.img")
	want := writeImage(t, src, l, 0o644)
	dst := filepath.Join(mnt, "dst.img")

	before := freeBytes(t, mnt)
	r, err := Clone(context.Background(), src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != MethodReflink || r.Technique != TechniqueReflink {
		t.Errorf("method, technique = %q, %q, want reflink, reflink", r.Method, r.Technique)
	}
	checkCopy(t, dst, src, want, l)

	// The copy shares the source's 2 MiB of data, so the filesystem's free
	// space hardly changes. Allow 256 KiB for metadata.
	if used := before - freeBytes(t, mnt); used > 256*kib {
		t.Errorf("the reflinked copy used %d bytes of free space, want at most %d", used, 256*kib)
	}
}

func TestCloneExtentsOnXFS(t *testing.T) {
	mnt := mounttest.XFS(t, true)
	for _, p := range clonePlans[1:] {
		t.Run(p.name, func(t *testing.T) {
			l := layoutNamed(t, "many extents")
			src := filepath.Join(mnt, "src-"+strings.ReplaceAll(p.name, " ", "-")+".img")
			want := writeImage(t, src, l, 0o644)
			dst := src + ".copy"

			r, err := clone(context.Background(), src, dst, &Options{ChunkSize: 64 << 10}, p.plan)
			if err != nil {
				t.Fatal(err)
			}
			if r.Technique != p.want[0] {
				t.Errorf("technique = %q, want %q", r.Technique, p.want[0])
			}
			checkCopy(t, dst, src, want, l)
		})
	}
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}
