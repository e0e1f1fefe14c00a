package disk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTempFileName(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	dst := filepath.Join(dir, "rootfs.ext4")

	var seen []string
	opts := &Options{Progress: func(int64, int64) { seen = tempFiles(t, dir) }}
	if _, err := Clone(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || !strings.HasPrefix(seen[0], TempPrefix+"rootfs.ext4-") {
		t.Errorf("temp files during the copy = %v, want one named %srootfs.ext4-NUMBER", seen, TempPrefix)
	}
	checkNoTempFiles(t, dir)
}

// makeTempFile creates a file named TempPrefix+name in dir, last modified
// age ago.
func makeTempFile(t *testing.T, dir, name string, age time.Duration) string {
	t.Helper()
	path := writeFile(t, dir, TempPrefix+name, []byte("partial copy"))
	mtime := time.Now().Add(-age)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	old1 := makeTempFile(t, dir, "a.img-1", 2*time.Hour)
	old2 := makeTempFile(t, dir, "b.img-2", 90*time.Minute)
	makeTempFile(t, dir, "c.img-3", time.Minute) // young: a copy may be running
	writeFile(t, dir, "rootfs.img", []byte("an image"))
	oldImage := writeFile(t, dir, "old.img", []byte("an old image"))
	if err := os.Chtimes(oldImage, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, TempPrefix+"dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(old1, filepath.Join(dir, TempPrefix+"link")); err != nil {
		t.Fatal(err)
	}

	got, err := StaleTempFiles(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old1, old2}, got); diff != "" {
		t.Errorf("StaleTempFiles (-want +got):\n%s", diff)
	}

	all, err := StaleTempFiles(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("StaleTempFiles with age 0 = %v, want the 3 temp files", all)
	}
}

func TestRemoveStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	old := makeTempFile(t, dir, "a.img-1", 2*time.Hour)
	young := makeTempFile(t, dir, "b.img-2", time.Minute)
	image := writeFile(t, dir, "rootfs.img", []byte("an image"))

	removed, err := RemoveStaleTempFiles(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for _, path := range []string{young, image} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s was removed: %v", path, err)
		}
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there: %v", old, err)
	}

	removed, err = RemoveStaleTempFiles(dir, time.Hour)
	if err != nil || len(removed) != 0 {
		t.Errorf("second run = %v, %v, want nothing removed and no error", removed, err)
	}
}

func TestStaleTempFilesErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := StaleTempFiles(missing, time.Hour)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want one matching fs.ErrNotExist", err)
	}
	if want := "list stale temp files in " + missing + ": no such file or directory"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	_, err = RemoveStaleTempFiles(t.TempDir(), -time.Second)
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Field != "minimum age" {
		t.Errorf("error = %v, want an invalid minimum age", err)
	}
}

func TestRenameNoReplace(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rename func(tmp, target string) error
	}{
		{"renameNoReplace", renameNoReplace},
		{"linkNoReplace", linkNoReplace},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tmp := writeFile(t, dir, "tmp", []byte("new"))
			target := writeFile(t, dir, "target", []byte("old"))

			if err := tt.rename(tmp, target); !errors.Is(err, ErrTargetExists) {
				t.Fatalf("rename over an existing file = %v, want ErrTargetExists", err)
			}
			if got, _ := os.ReadFile(target); string(got) != "old" {
				t.Errorf("target = %q, want it unchanged", got)
			}

			free := filepath.Join(dir, "free")
			if err := tt.rename(tmp, free); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(free); string(got) != "new" {
				t.Errorf("renamed file = %q, want %q", got, "new")
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"free", "target"}) {
				t.Errorf("directory holds %v, want [free target]", names)
			}
		})
	}
}

// TestCloneTargetAppearsDuringCopy checks the final rename's own check: a
// target created after the early check is not replaced.
func TestCloneTargetAppearsDuringCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.img")
	writeImage(t, src, layoutNamed(t, "hole in middle"), 0o644)
	dst := filepath.Join(dir, "dst.img")

	created := false
	opts := &Options{ChunkSize: 64 << 10, Progress: func(int64, int64) {
		if !created {
			created = true
			writeFile(t, dir, "dst.img", []byte("written by someone else"))
		}
	}}
	_, err := Clone(context.Background(), src, dst, opts)
	if !errors.Is(err, ErrTargetExists) {
		t.Fatalf("error = %v, want ErrTargetExists", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "written by someone else" {
		t.Errorf("target = %q, want the other writer's content", got)
	}
	checkNoTempFiles(t, dir)
}
