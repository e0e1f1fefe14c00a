package disk

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestCloneLayouts(t *testing.T) {
	for _, p := range clonePlans {
		for _, l := range layouts {
			t.Run(p.name+"/"+l.name, func(t *testing.T) {
				dir := t.TempDir()
				src := filepath.Join(dir, "src.img")
				dst := filepath.Join(dir, "dst.img")
				want := writeImage(t, src, l, 0o644)

				// 64 KiB chunks make every layout cross chunk boundaries.
				r, err := clone(context.Background(), src, dst, &Options{ChunkSize: 64 << 10}, p.plan)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(p.want, r.Technique) {
					t.Errorf("technique = %q, want one of %q", r.Technique, p.want)
				}
				wantMethod := MethodSparse
				if r.Technique == TechniqueReflink {
					wantMethod = MethodReflink
				}
				if r.Method != wantMethod {
					t.Errorf("method = %q, want %q", r.Method, wantMethod)
				}
				if r.Size != l.size {
					t.Errorf("size = %d, want %d", r.Size, l.size)
				}
				if r.Allocated != allocated(t, dst) {
					t.Errorf("allocated = %d, want %d as stat reports", r.Allocated, allocated(t, dst))
				}
				checkCopy(t, dst, src, want, l)
				checkNoTempFiles(t, dir)
			})
		}
	}
}

func TestCloneDefaultChunkSize(t *testing.T) {
	dir := t.TempDir()
	l := layoutNamed(t, "holes at start middle and end")
	src := filepath.Join(dir, "src.img")
	dst := filepath.Join(dir, "dst.img")
	want := writeImage(t, src, l, 0o644)

	if _, err := Clone(context.Background(), src, dst, nil); err != nil {
		t.Fatal(err)
	}
	checkCopy(t, dst, src, want, l)
}

func TestCloneKeepsMode(t *testing.T) {
	for _, mode := range []fs.FileMode{0o600, 0o640, 0o755, 0o444} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src.img")
			dst := filepath.Join(dir, "dst.img")
			writeImage(t, src, layoutNamed(t, "hole at start"), mode)

			if _, err := Clone(context.Background(), src, dst, nil); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(dst)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode() != mode {
				t.Errorf("target mode = %v, want %v", info.Mode(), mode)
			}
		})
	}
}

func TestCloneDropsSetuid(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	if err := os.Chmod(src, 0o755|fs.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.img")
	if _, err := Clone(context.Background(), src, dst, nil); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o755 {
		t.Errorf("target mode = %v, want %v", info.Mode(), fs.FileMode(0o755))
	}
}

func TestCloneProgress(t *testing.T) {
	for _, p := range clonePlans {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			l := layoutNamed(t, "holes at start middle and end")
			src := filepath.Join(dir, "src.img")
			writeImage(t, src, l, 0o644)

			var calls [][2]int64
			opts := &Options{ChunkSize: 256 << 10, Progress: func(done, total int64) {
				calls = append(calls, [2]int64{done, total})
			}}
			if _, err := clone(context.Background(), src, filepath.Join(dir, "dst.img"), opts, p.plan); err != nil {
				t.Fatal(err)
			}
			checkProgress(t, calls, l.size)
		})
	}
}

// checkProgress checks that done never decreases, total stays the same and
// the last call reports done == total.
func checkProgress(t *testing.T, calls [][2]int64, total int64) {
	t.Helper()
	if len(calls) == 0 {
		t.Fatal("progress was never called")
	}
	var last int64
	for i, c := range calls {
		if c[1] != total {
			t.Fatalf("call %d: total = %d, want %d", i, c[1], total)
		}
		if c[0] < last {
			t.Fatalf("call %d: done went back from %d to %d", i, last, c[0])
		}
		last = c[0]
	}
	if last != total {
		t.Errorf("last call: done = %d, want %d", last, total)
	}
}

func TestCloneCancelled(t *testing.T) {
	for _, p := range clonePlans {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			l := layout{"dense", 4 * mib, []extent{{0, 4 * mib}}}
			src := filepath.Join(dir, "src.img")
			writeImage(t, src, l, 0o644)
			old := []byte("the old target")
			dst := writeFile(t, dir, "dst.img", old)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := &Options{ChunkSize: 64 << 10, Overwrite: true, Progress: func(done, total int64) {
				if done > 0 && done < total {
					cancel()
				}
			}}
			r, err := clone(ctx, src, dst, opts, p.plan)
			if err == nil && r.Technique == TechniqueReflink {
				// The temp dir's filesystem shares blocks, and a reflink is
				// one ioctl that cannot stop part-way.
				return
			}
			checkCancelled(t, err, dir, dst, old)
		})
	}
}

// checkCancelled checks that err reports the cancellation and that the
// target still holds old with no temporary file left.
func checkCancelled(t *testing.T, err error, dir, dst string, old []byte) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one matching context.Canceled", err)
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
		t.Errorf("target changed to %d bytes after the cancelled copy", len(got))
	}
	checkNoTempFiles(t, dir)
}

func TestCloneCancelledBeforeStart(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := Clone(ctx, src, filepath.Join(dir, "dst.img"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one matching context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dst.img")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target exists after a cancelled clone: %v", err)
	}
	checkNoTempFiles(t, dir)
}

func TestCloneRejectsInvalidInput(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(out, "dst.img")

	tests := []struct {
		name     string
		src, dst string
		opts     *Options
		field    string
		value    string
	}{
		{"empty source", "", dst, nil, "source", ""},
		{"empty target", src, "", nil, "target", ""},
		{"nul in source", "a\x00b", dst, nil, "source", "a\x00b"},
		{"target is a directory path", src, out + "/", nil, "target", out + "/"},
		{"target is dot", src, ".", nil, "target", "."},
		{"negative chunk size", src, dst, &Options{ChunkSize: -1}, "chunk size", "-1"},
		{"chunk size too large", src, dst, &Options{ChunkSize: MaxChunkSize + 1}, "chunk size", "268435457"},
		{"source is a directory", dir, dst, nil, "source", dir},
		{"source is a named pipe", fifo, dst, nil, "source", fifo},
		{"source is a socket", sock, dst, nil, "source", sock},
		{"source is a character device", "/dev/null", dst, nil, "source", "/dev/null"},
	}
	for _, tt := range tests {
		for _, op := range []struct {
			name string
			fn   func(context.Context, string, string, *Options) (Result, error)
		}{{"clone", Clone}, {"decompress", Decompress}} {
			t.Run(op.name+"/"+tt.name, func(t *testing.T) {
				_, err := op.fn(context.Background(), tt.src, tt.dst, tt.opts)
				if !errors.Is(err, fs.ErrInvalid) {
					t.Fatalf("error = %v, want one matching fs.ErrInvalid", err)
				}
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("error %#v is not a *ValidationError", err)
				}
				if verr.Field != tt.field || verr.Value != tt.value {
					t.Errorf("error names %s %q, want %s %q", verr.Field, verr.Value, tt.field, tt.value)
				}
				if entries, _ := os.ReadDir(out); len(entries) > 0 {
					t.Errorf("files written to the target directory: %v", entries)
				}
			})
		}
	}
}

func TestCloneSourceTypeInMessage(t *testing.T) {
	_, err := Clone(context.Background(), "/dev/null", filepath.Join(t.TempDir(), "x"), nil)
	want := `invalid source "/dev/null": is a character device, not a regular file`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestCloneMissingSource(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "missing.img")
	dst := filepath.Join(dir, "dst.img")

	_, err := Clone(context.Background(), src, dst, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want one matching fs.ErrNotExist", err)
	}
	var operr *OpError
	if !errors.As(err, &operr) || operr.Op != "clone" || operr.Source != src || operr.Target != dst {
		t.Errorf("error %#v does not name the operation, source and target", err)
	}
	if !strings.HasPrefix(err.Error(), "clone "+src+" to "+dst+": ") {
		t.Errorf("error text %q does not start with the operation and paths", err)
	}
	checkNoTempFiles(t, dir)
}

func TestCloneTargetDirectoryMissing(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	missing := filepath.Join(dir, "no", "such")
	dst := filepath.Join(missing, "dst.img")

	_, err := Clone(context.Background(), src, dst, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want one matching fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), missing+": no such file or directory") {
		t.Errorf("error %q does not name the missing directory %s", err, missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing directory was created: %v", err)
	}
}

func TestCloneTargetDirectoryIsFile(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))

	_, err := Clone(context.Background(), src, filepath.Join(src, "dst.img"), nil)
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("error = %v, want one matching ENOTDIR", err)
	}
}

func TestCloneExistingTarget(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("new image"))
	dst := writeFile(t, dir, "dst.img", []byte("old image"))

	_, err := Clone(context.Background(), src, dst, nil)
	if !errors.Is(err, fs.ErrExist) || !errors.Is(err, ErrTargetExists) {
		t.Fatalf("error = %v, want ErrTargetExists matching fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "old image" {
		t.Errorf("target = %q after a refused clone, want it unchanged", got)
	}
	checkNoTempFiles(t, dir)

	if _, err := Clone(context.Background(), src, dst, &Options{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "new image" {
		t.Errorf("target = %q after an overwriting clone, want the source's content", got)
	}
}

func TestCloneNeverReplacesDirectory(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	dst := filepath.Join(dir, "dst.img")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}

	_, err := Clone(context.Background(), src, dst, &Options{Overwrite: true})
	if !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("error = %v, want one matching EISDIR", err)
	}
	if info, err := os.Stat(dst); err != nil || !info.IsDir() {
		t.Errorf("the directory at the target was changed: %v", err)
	}
}

func TestCloneReplacesSymlinkNotItsTarget(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("new"))
	other := writeFile(t, dir, "other.img", []byte("other"))
	dst := filepath.Join(dir, "dst.img")
	if err := os.Symlink(other, dst); err != nil {
		t.Fatal(err)
	}

	if _, err := Clone(context.Background(), src, dst, &Options{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(dst); err != nil || !info.Mode().IsRegular() {
		t.Errorf("target is not a regular file after the clone: %v", err)
	}
	if got, _ := os.ReadFile(other); string(got) != "other" {
		t.Errorf("the symlink's target was written: %q", got)
	}
}

func TestCloneLongTargetName(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src.img", []byte("data"))
	dst := filepath.Join(dir, strings.Repeat("n", 255))

	if _, err := Clone(context.Background(), src, dst, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "data" {
		t.Errorf("target = %q, want %q", got, "data")
	}
}

func TestCloneRelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "src.img", []byte("data"))
	t.Chdir(dir)

	if _, err := Clone(context.Background(), "src.img", "dst.img", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "dst.img")); string(got) != "data" {
		t.Errorf("target = %q, want %q", got, "data")
	}
}

func TestOpErrorText(t *testing.T) {
	tests := []struct {
		err  *OpError
		want string
	}{
		{&OpError{Op: "clone", Source: "a.img", Target: "b.img", Err: syscall.ENOSPC}, "clone a.img to b.img: no space left on device"},
		{&OpError{Op: "list stale temp files in", Source: "/d", Err: syscall.EACCES}, "list stale temp files in /d: permission denied"},
		{&OpError{Op: "remove stale temp file", Target: "/d/x", Err: syscall.EACCES}, "remove stale temp file /d/x: permission denied"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestOpErrorIs(t *testing.T) {
	tests := []struct {
		cause  error
		target error
	}{
		{syscall.ENOSPC, syscall.ENOSPC},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, fs.ErrNotExist},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, fs.ErrPermission},
		{ErrTargetExists, fs.ErrExist},
		{context.Canceled, context.Canceled},
		{&zstdError{errors.New("bad")}, ErrInvalidZstd},
	}
	for _, tt := range tests {
		err := error(&OpError{Op: "clone", Source: "a", Target: "b", Err: tt.cause})
		if !errors.Is(err, tt.target) {
			t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.target)
		}
	}
}
