package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cpioEntry is one decoded archive entry.
type cpioEntry struct {
	Name      string
	Mode      uint32
	Ino       uint32
	UID, GID  uint32
	Nlink     uint32
	RdevMajor uint32
	RdevMinor uint32
	Data      string
}

// readCPIO decodes a "newc" archive up to its trailer and checks the
// alignment of every header and data block on the way.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var entries []cpioEntry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("header at offset %d is not 4-byte aligned", off)
		}
		if len(b) < off+newcHeaderSize {
			t.Fatalf("archive ends inside the header at offset %d", off)
		}
		h := b[off : off+newcHeaderSize]
		if string(h[:6]) != "070701" {
			t.Fatalf("magic at offset %d is %q, want 070701", off, h[:6])
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
			if err != nil {
				t.Fatalf("header field %d at offset %d: %v", i, off, err)
			}
			return uint32(v)
		}
		size, nameSize := int(field(6)), int(field(11))
		if field(12) != 0 {
			t.Errorf("checksum field is %d, want 0 in newc", field(12))
		}
		nameStart := off + newcHeaderSize
		name := string(b[nameStart : nameStart+nameSize-1])
		if b[nameStart+nameSize-1] != 0 {
			t.Fatalf("name %q is not NUL-terminated", name)
		}
		dataStart := nameStart + nameSize
		dataStart += (4 - dataStart%4) % 4
		if name == "TRAILER!!!" {
			if rest := b[dataStart:]; len(bytes.Trim(rest, "\x00")) != 0 {
				t.Errorf("%d bytes after the trailer are not padding", len(rest))
			}
			return entries
		}
		entries = append(entries, cpioEntry{
			Name: name, Ino: field(0), Mode: field(1), UID: field(2), GID: field(3), Nlink: field(4),
			RdevMajor: field(9), RdevMinor: field(10),
			Data: string(b[dataStart : dataStart+size]),
		})
		off = dataStart + size
		off += (4 - off%4) % 4
	}
}

func TestCPIOWriterEntries(t *testing.T) {
	var buf bytes.Buffer
	cw := newCPIOWriter(&buf)
	steps := []error{
		cw.File("init", 0o755, []byte("#!/bin/sh\n")),
		cw.Symlink("bin/sh", "busybox"),
		cw.Dir("tmp", 0o1777),
		cw.CharDevice("dev/console", 0o600, 5, 1),
		cw.File("etc/empty", 0o644, nil),
		cw.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	want := []cpioEntry{
		{Name: "init", Ino: 1, Mode: 0o100755, Nlink: 1, Data: "#!/bin/sh\n"},
		{Name: "bin", Ino: 2, Mode: 0o040755, Nlink: 2},
		{Name: "bin/sh", Ino: 3, Mode: 0o120777, Nlink: 1, Data: "busybox"},
		{Name: "tmp", Ino: 4, Mode: 0o040777, Nlink: 2},
		{Name: "dev", Ino: 5, Mode: 0o040755, Nlink: 2},
		{Name: "dev/console", Ino: 6, Mode: 0o020600, Nlink: 1, RdevMajor: 5, RdevMinor: 1},
		{Name: "etc", Ino: 7, Mode: 0o040755, Nlink: 2},
		{Name: "etc/empty", Ino: 8, Mode: 0o100644, Nlink: 1},
	}
	if diff := cmp.Diff(want, readCPIO(t, buf.Bytes())); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}
}

func TestCPIOWriterRejects(t *testing.T) {
	cw := newCPIOWriter(io.Discard)
	if err := cw.File("etc/a", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "/init", "../x", "a/../../x", "a//b", "etc/a", "etc"} {
		if err := cw.File(name, 0o644, nil); err == nil {
			t.Errorf("File(%q) succeeded, want an error", name)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cw.File("late", 0o644, nil); err == nil {
		t.Error("File after Close succeeded, want an error")
	}
}

func TestBuildPacksStage(t *testing.T) {
	stage := t.TempDir()
	mustWrite(t, filepath.Join(stage, "init"), "#!/bin/sh\n", 0o755)
	mustWrite(t, filepath.Join(stage, "www", "index.html"), "hello\n", 0o644)
	if err := os.Symlink("busybox", filepath.Join(stage, "sh")); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "initramfs.cpio.gz")
	order, err := build(out, stage, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 0 {
		t.Errorf("load order is %q, want none", order)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("output mode is %v, want -rw-r--r--", info.Mode())
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, e := range readCPIO(t, gunzip(t, first)) {
		names = append(names, e.Name)
		if e.Name == "init" && e.Mode != 0o100755 {
			t.Errorf("init has mode %o, want 100755", e.Mode)
		}
	}
	want := []string{"init", "sh", "www", "www/index.html", "dev", "dev/console"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("entry names mismatch (-want +got):\n%s", diff)
	}

	if _, err := build(out, stage, "", nil); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same stage differ")
	}
	leftovers, _ := filepath.Glob(out + ".tmp*")
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %q", leftovers)
	}
}

func mustWrite(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	// WriteFile applies the umask; set the exact bits the test expects.
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
