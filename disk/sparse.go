package disk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
)

// errSourceShrank is the cause when the source ends before the size it had
// when the copy started.
var errSourceShrank = errors.New("source became shorter during the copy")

// Limits of the block size that zero detection works in. The filesystem's
// preferred I/O size (st_blksize) is its block size on ext4, XFS, btrfs and
// tmpfs (4 KiB), but some network filesystems report 1 MiB or more, which
// would leave few holes.
const (
	minBlock     = 512
	maxBlock     = 64 << 10
	defaultBlock = 4 << 10
)

// sparseWriter writes a stream of bytes to a new, empty file and seeks over
// every block that is all zero, so such blocks stay holes. Blocks are
// aligned to file offsets, so a hole can cover whole filesystem blocks.
type sparseWriter struct {
	f     *os.File
	off   int64 // bytes of the stream written or skipped so far
	block int64
	zero  []byte
}

func newSparseWriter(f *os.File) *sparseWriter {
	block := int64(defaultBlock)
	if info, err := f.Stat(); err == nil {
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			block = min(max(int64(st.Blksize), minBlock), maxBlock)
		}
	}
	return &sparseWriter{f: f, block: block, zero: make([]byte, block)}
}

// write appends p to the stream. Runs of blocks that are not all zero go out
// in one write each.
func (w *sparseWriter) write(p []byte) error {
	run := -1 // start in p of the data run being collected, or -1
	for i := 0; i < len(p); {
		end := i + int(w.block-(w.off+int64(i))%w.block)
		end = min(end, len(p))
		if bytes.Equal(p[i:end], w.zero[:end-i]) {
			if run >= 0 {
				if _, err := w.f.WriteAt(p[run:i], w.off+int64(run)); err != nil {
					return err
				}
				run = -1
			}
		} else if run < 0 {
			run = i
		}
		i = end
	}
	if run >= 0 {
		if _, err := w.f.WriteAt(p[run:], w.off+int64(run)); err != nil {
			return err
		}
	}
	startWriteback(w.f, w.off, int64(len(p)))
	w.off += int64(len(p))
	return nil
}

// finish sets the file's length to the stream's, which creates a hole at
// the end where the stream ended in zero blocks.
func (w *sparseWriter) finish() error {
	return w.f.Truncate(w.off)
}

// copyZeroSkip copies the first size bytes of in to out, reading every byte
// and writing only the blocks that are not all zero.
func (j *job) copyZeroSkip(in, out *os.File, size int64) error {
	w := newSparseWriter(out)
	buf := make([]byte, min(int64(j.opts.ChunkSize), max(size, 1)))
	for pos := int64(0); pos < size; {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(buf)), size-pos))
		if _, err := in.ReadAt(buf[:n], pos); err != nil {
			if err == io.EOF {
				return errSourceShrank
			}
			return err
		}
		if err := w.write(buf[:n]); err != nil {
			return err
		}
		pos += int64(n)
		j.progress(pos, size)
	}
	j.progress(size, size)
	return w.finish()
}
