package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// writeSparse writes a file of size bytes that holds data at offset and is
// a hole everywhere else.
func writeSparse(t *testing.T, path string, size, offset int64, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		t.Fatal(err)
	}
}

func TestDiskCloneCreatesParentsAndOverwrites(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "base.img")
	dst := filepath.Join(dir, "a", "b", "copy.img")
	data := bytes.Repeat([]byte("x"), 4096)
	writeSparse(t, src, 8<<20, 4<<20, data)

	for i := range 2 {
		value, errInfo := diskClone(src, dst)
		if errInfo != nil {
			t.Fatalf("diskClone #%d: %+v", i+1, errInfo)
		}
		r := value.(diskResult)
		if r.Method != "sparse" && r.Method != "reflink" {
			t.Errorf("diskClone #%d method = %q, want sparse or reflink", i+1, r.Method)
		}
		if r.Size != 8<<20 || r.Allocated >= 1<<20 {
			t.Errorf("diskClone #%d = %+v, want 8 MiB with less than 1 MiB allocated", i+1, r)
		}
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[4<<20:4<<20+4096], data) || len(got) != 8<<20 {
		t.Errorf("copy has %d bytes and not the source's data at 4 MiB", len(got))
	}
}

func TestDiskErrors(t *testing.T) {
	dir := t.TempDir()
	notZstd := filepath.Join(dir, "plain.img")
	if err := os.WriteFile(notZstd, []byte("not zstd"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		call      func() (any, *errorInfo)
		wantErrno syscall.Errno
		wantText  string
	}{
		{
			name: "missing source",
			call: func() (any, *errorInfo) {
				return diskClone(filepath.Join(dir, "none.img"), filepath.Join(dir, "new", "copy.img"))
			},
			wantErrno: syscall.ENOENT,
			wantText:  "clone " + dir + "/none.img to " + dir + "/new/copy.img: ",
		},
		{
			name:      "source is a directory",
			call:      func() (any, *errorInfo) { return diskClone(dir, filepath.Join(dir, "new", "copy.img")) },
			wantErrno: syscall.EINVAL,
			wantText:  "is a directory, not a regular file",
		},
		{
			name:      "target is a directory",
			call:      func() (any, *errorInfo) { return diskClone(notZstd, dir) },
			wantErrno: syscall.EISDIR,
		},
		{
			name:     "not zstd",
			call:     func() (any, *errorInfo) { return diskDecompress(notZstd, filepath.Join(dir, "new", "out.img"), 1<<20) },
			wantText: "invalid zstd data",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := tt.call()

			if errInfo == nil || errInfo.Kind != kindOS || errInfo.Errno != int(tt.wantErrno) {
				t.Fatalf("error = %+v, want kind os with errno %d", errInfo, tt.wantErrno)
			}
			if !strings.Contains(errInfo.Message, tt.wantText) {
				t.Errorf("error message %q, want it to contain %q", errInfo.Message, tt.wantText)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "copy.img")); err == nil {
		t.Error("a failed clone left its target behind")
	}
}

func TestDiskCloneMissingSourceMakesNoDirectory(t *testing.T) {
	dir := t.TempDir()

	_, errInfo := diskClone(filepath.Join(dir, "none.img"), filepath.Join(dir, "new", "copy.img"))

	if errInfo == nil {
		t.Fatal("diskClone of a missing source succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Errorf("stat of the target's directory = %v, want it not to exist", err)
	}
}

func TestDiskDecompress(t *testing.T) {
	dir := t.TempDir()
	image := make([]byte, 4<<20)
	copy(image[1<<20:], "data in the middle")
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "image.zst")
	if err := os.WriteFile(src, enc.EncodeAll(image, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out", "image.img")

	value, errInfo := diskDecompress(src, dst, 64<<10)

	if errInfo != nil {
		t.Fatalf("diskDecompress: %+v", errInfo)
	}
	r := value.(diskResult)
	if r.Method != "sparse" || r.Technique != "zero-skip" || r.Size != int64(len(image)) {
		t.Errorf("diskDecompress = %+v, want a sparse zero-skip result of %d bytes", r, len(image))
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, image) {
		t.Error("decompressed image differs from the original")
	}
}

func TestDiskDecompressRejectsChunkSize(t *testing.T) {
	for _, size := range []int64{0, -1, 256<<20 + 1} {
		if _, errInfo := diskDecompress("/nonexistent/a.zst", "/nonexistent/b", size); errInfo == nil || errInfo.Kind != kindValue {
			t.Errorf("diskDecompress with chunk size %d = %+v, want a value error", size, errInfo)
		}
	}
}
