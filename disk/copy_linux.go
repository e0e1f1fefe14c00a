package disk

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// errNoHoles means that lseek SEEK_DATA cannot tell data from holes in the
// source, so an extent copy would fill the holes.
var errNoHoles = errors.New("filesystem does not report holes")

// copyData copies the source's first size bytes into out, an empty file,
// with the first technique in the plan that works here.
func (j *job) copyData(in, out *os.File, size int64, plan copyPlan) (Technique, error) {
	if err := j.ctx.Err(); err != nil {
		return "", err
	}
	if !plan.noReflink {
		err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
		if err == nil {
			j.progress(size, size)
			return TechniqueReflink, nil
		}
		if !reflinkUnsupported(err) {
			return "", os.NewSyscallError("ioctl FICLONE", err)
		}
	}
	if !plan.noExtents {
		technique, err := j.copyExtents(in, out, size, !plan.noCopyRange)
		if !errors.Is(err, errNoHoles) {
			return technique, err
		}
	}
	return TechniqueZeroSkip, j.copyZeroSkip(in, out, size)
}

// reflinkUnsupported reports whether a FICLONE error means that these two
// files cannot share blocks, so that a real copy should follow: the
// filesystem has no reflinks (EOPNOTSUPP, or ENOTTY for no such ioctl), the
// files are on different filesystems (EXDEV), or the filesystem rejects
// this file (EINVAL, as XFS does without reflink=1).
func reflinkUnsupported(err error) bool {
	switch err {
	case unix.EOPNOTSUPP, unix.ENOTTY, unix.EXDEV, unix.EINVAL, unix.ENOSYS:
		return true
	}
	return false
}

// copyExtents copies the data extents of in below size to the same offsets
// in out and leaves the holes between them. It returns errNoHoles, before
// writing anything, when the filesystem cannot report holes.
func (j *job) copyExtents(in, out *os.File, size int64, useCopyRange bool) (Technique, error) {
	c := &rangeCopier{j: j, in: in, out: out, inFd: int(in.Fd()), outFd: int(out.Fd()), copyRange: useCopyRange}
	for off := int64(0); off < size; {
		start, end, err := nextExtent(c.inFd, off, size)
		if err != nil {
			if off == 0 && seekUnsupported(err) {
				return "", errNoHoles
			}
			return "", err
		}
		if start >= size {
			break
		}
		// A filesystem without SEEK_DATA support in the kernel (the generic
		// lseek) reports the whole file as one extent. When the file
		// nevertheless has fewer blocks than bytes, it has holes that the
		// filesystem does not report.
		if off == 0 && start == 0 && end == size && sparseByBlocks(in, size) {
			return "", errNoHoles
		}

		j.progress(start, size)
		if err := c.copy(start, end, size); err != nil {
			return "", err
		}
		off = end
	}
	j.progress(size, size)

	technique := TechniqueExtents
	if !c.copyRange {
		technique = TechniqueExtentsReadWrite
	}
	return technique, out.Truncate(size)
}

// nextExtent returns the first data extent at or after off, cut at size. It
// returns start == size when only holes follow.
func nextExtent(fd int, off, size int64) (start, end int64, err error) {
	start, err = unix.Seek(fd, off, unix.SEEK_DATA)
	if err == unix.ENXIO {
		return size, size, nil
	}
	if err != nil {
		return 0, 0, os.NewSyscallError("lseek SEEK_DATA", err)
	}
	if start >= size {
		return size, size, nil
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err == unix.ENXIO {
		end = size // the file was truncated after SEEK_DATA
	} else if err != nil {
		return 0, 0, os.NewSyscallError("lseek SEEK_HOLE", err)
	}
	return start, min(end, size), nil
}

func seekUnsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}

// sparseByBlocks reports whether f has fewer bytes allocated than size.
func sparseByBlocks(f *os.File, size int64) bool {
	info, err := f.Stat()
	return err == nil && allocatedBytes(info) < size
}

// rangeCopier copies byte ranges between two files at the same offsets,
// with copy_file_range until the kernel rejects it for these files and
// with read and write from then on.
type rangeCopier struct {
	j           *job
	in, out     *os.File
	inFd, outFd int
	copyRange   bool
	buf         []byte
}

// copy copies [start, end) in chunks, checking the context and reporting
// progress against total between chunks.
func (c *rangeCopier) copy(start, end, total int64) error {
	for pos := start; pos < end; {
		if err := c.j.ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(c.j.opts.ChunkSize), end-pos))
		done, err := c.copyChunk(pos, n)
		if err != nil {
			return err
		}
		startWriteback(c.out, pos, int64(done))
		pos += int64(done)
		c.j.progress(pos, total)
	}
	return nil
}

// copyChunk copies up to n bytes at pos and returns how many it copied,
// which is 0 when an interrupted call should be retried.
func (c *rangeCopier) copyChunk(pos int64, n int) (int, error) {
	if c.copyRange {
		inOff, outOff := pos, pos
		done, err := unix.CopyFileRange(c.inFd, &inOff, c.outFd, &outOff, n, 0)
		switch {
		case err == nil && done == 0:
			return 0, errSourceShrank
		case err == nil:
			return done, nil
		case err == unix.EINTR:
			return 0, nil
		case copyRangeUnsupported(err):
			c.copyRange = false
		default:
			return 0, os.NewSyscallError("copy_file_range", err)
		}
	}

	if c.buf == nil {
		c.buf = make([]byte, c.j.opts.ChunkSize)
	}
	b := c.buf[:n]
	if _, err := c.in.ReadAt(b, pos); err != nil {
		if err == io.EOF {
			return 0, errSourceShrank
		}
		return 0, err
	}
	if _, err := c.out.WriteAt(b, pos); err != nil {
		return 0, err
	}
	return n, nil
}

// copyRangeUnsupported reports whether a copy_file_range error means that
// the call cannot work for these files, so that read and write should take
// over: no such system call (ENOSYS, or EPERM from a container's seccomp
// filter), files on different filesystems (EXDEV), or a filesystem that
// does not support it (EOPNOTSUPP, EINVAL).
func copyRangeUnsupported(err error) bool {
	switch err {
	case unix.ENOSYS, unix.EPERM, unix.EXDEV, unix.EOPNOTSUPP, unix.EINVAL:
		return true
	}
	return false
}

// renameNoReplace renames tmp to target unless target exists, atomically
// where the filesystem supports renameat2 RENAME_NOREPLACE, as ext4, XFS,
// btrfs and tmpfs do.
func renameNoReplace(tmp, target string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, target, unix.RENAME_NOREPLACE)
	switch err {
	case nil:
		return nil
	case unix.EEXIST:
		return ErrTargetExists
	case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
		return linkNoReplace(tmp, target)
	}
	return &os.LinkError{Op: "rename", Old: tmp, New: target, Err: err}
}

// startWriteback starts writing the given range of f to disk without
// waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so that the disk works
// while the copy goes on and the final fsync has less left to wait for. It
// also keeps a large copy from filling memory with dirty pages. Errors are
// ignored because the final fsync reports any write error.
func startWriteback(f *os.File, off, n int64) {
	if n > 0 {
		_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}
}
