package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// File type bits of the cpio mode field, as in stat(2).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
	modeType    = 0o170000
)

// newcHeaderSize is the length of a "newc" header: the 6-byte magic and 13
// fields of 8 hex digits.
const newcHeaderSize = 6 + 13*8

// cpioWriter writes a cpio archive in the "newc" format, the one the Linux
// kernel unpacks as an initramfs (see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst).
//
// Every entry belongs to root:root with modification time 0, so the same
// input gives the same bytes. Each entry gets its own inode number and a
// link count of 1 (2 for directories), so the kernel never treats two files
// as hard links. Parent directories are written before their contents,
// with mode 0755 unless the caller wrote them first.
type cpioWriter struct {
	w       io.Writer
	nextIno uint32
	written map[string]bool
	closed  bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, nextIno: 1, written: make(map[string]bool)}
}

// Dir writes a directory entry.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, modeDir|uint32(perm.Perm()), 0, 0, nil)
}

// File writes a regular file with the given contents.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) error {
	return c.entry(name, modeRegular|uint32(perm.Perm()), 0, 0, data)
}

// Symlink writes a symbolic link to target.
func (c *cpioWriter) Symlink(name, target string) error {
	return c.entry(name, modeSymlink|0o777, 0, 0, []byte(target))
}

// CharDevice writes a character device node, which the kernel creates with
// mknod while it unpacks the archive.
func (c *cpioWriter) CharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, modeCharDev|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer entry that ends the archive. It does not close
// the underlying writer.
func (c *cpioWriter) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.write("TRAILER!!!", 0, 0, 0, 0, nil)
}

// entry checks name, writes any parent directory not written yet and then
// the entry itself. A name may appear only once.
func (c *cpioWriter) entry(name string, mode, rdevMajor, rdevMinor uint32, data []byte) error {
	if c.closed {
		return errors.New("write cpio entry after the trailer")
	}
	if err := checkEntryName(name); err != nil {
		return err
	}
	if c.written[name] {
		return fmt.Errorf("write cpio entry %s: already in the archive", name)
	}
	if err := c.parents(name); err != nil {
		return err
	}
	c.written[name] = true
	nlink := uint32(1)
	if mode&modeType == modeDir {
		nlink = 2
	}
	return c.write(name, mode, nlink, rdevMajor, rdevMinor, data)
}

// checkEntryName rejects names that the kernel would resolve outside the
// archive root or that are not in the clean relative form the writer uses
// to track parent directories.
func checkEntryName(name string) error {
	switch {
	case name == "" || name == ".":
		return errors.New("write cpio entry: empty name")
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("write cpio entry %s: name must be relative to the archive root", name)
	case path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("write cpio entry %s: name must be a clean path inside the archive", name)
	}
	return nil
}

// parents writes the missing ancestors of name, outermost first.
func (c *cpioWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || c.written[dir] {
		return nil
	}
	if err := c.parents(dir); err != nil {
		return err
	}
	c.written[dir] = true
	return c.write(dir, modeDir|0o755, 2, 0, 0, nil)
}

// write emits one header, the name and the data, each padded to a multiple
// of 4 bytes as the format requires.
func (c *cpioWriter) write(name string, mode, nlink, rdevMajor, rdevMinor uint32, data []byte) error {
	ino := uint32(0)
	if name != "TRAILER!!!" {
		ino = c.nextIno
		c.nextIno++
	}

	fields := []uint32{
		ino,
		mode,
		0, // uid
		0, // gid
		nlink,
		0, // mtime
		uint32(len(data)),
		0, 0, // major and minor of the device holding the file
		rdevMajor, rdevMinor,
		uint32(len(name) + 1), // name length including the NUL byte
		0,                     // checksum, unused in "newc"
	}

	var b strings.Builder
	b.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(&b, "%08X", f)
	}
	b.WriteString(name)
	b.WriteByte(0)
	b.WriteString(padding(newcHeaderSize + len(name) + 1))

	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return fmt.Errorf("write cpio entry %s: %w", name, err)
	}
	if _, err := c.w.Write(data); err != nil {
		return fmt.Errorf("write cpio entry %s: %w", name, err)
	}
	if _, err := io.WriteString(c.w, padding(len(data))); err != nil {
		return fmt.Errorf("write cpio entry %s: %w", name, err)
	}
	return nil
}

// padding returns the NUL bytes that extend n bytes to a multiple of 4.
func padding(n int) string {
	return strings.Repeat("\x00", (4-n%4)%4)
}
