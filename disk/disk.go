package disk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Method is the kind of copy made, as the Python module's
// clone_or_sparse_copy and decompress_zstd_sparse return it.
type Method string

const (
	// MethodReflink means the target shares the source's blocks.
	MethodReflink Method = "reflink"
	// MethodSparse means the data was written and holes were left as holes.
	MethodSparse Method = "sparse"
)

// Technique is the detail behind a [Method].
type Technique string

const (
	// TechniqueReflink is one FICLONE ioctl for the whole file.
	TechniqueReflink Technique = "reflink"
	// TechniqueExtents copies the data extents that lseek SEEK_DATA and
	// SEEK_HOLE report, with copy_file_range.
	TechniqueExtents Technique = "extents"
	// TechniqueExtentsReadWrite copies the data extents with read and
	// write, because the kernel rejected copy_file_range for this pair of
	// files (for example across filesystems before Linux 5.3 and since 5.19).
	TechniqueExtentsReadWrite Technique = "extents-read-write"
	// TechniqueZeroSkip reads every byte and writes only the blocks that
	// are not all zero.
	TechniqueZeroSkip Technique = "zero-skip"
)

const (
	// DefaultChunkSize is the chunk size when Options.ChunkSize is 0: 1 MiB,
	// as in the Python module's decompress_zstd_sparse.
	DefaultChunkSize = 1 << 20
	// MaxChunkSize is the largest Options.ChunkSize: 256 MiB. A buffer of
	// the chunk size is allocated for each call.
	MaxChunkSize = 256 << 20
)

// Options are the settings of [Clone] and [Decompress]. A nil *Options means
// the zero value.
type Options struct {
	// Progress, when not nil, is called on the calling goroutine after each
	// chunk with the bytes done so far and the total. Done never decreases
	// and the last call has done equal to total. Clone counts the source's
	// bytes, holes included. Decompress counts the compressed bytes read,
	// because the decompressed size is not known in advance.
	Progress func(done, total int64)
	// ChunkSize is the number of bytes per read, write or copy_file_range
	// call. The context is checked and Progress called between chunks.
	// 0 means DefaultChunkSize; the maximum is MaxChunkSize.
	ChunkSize int
	// Overwrite lets the copy replace an existing target file. By default
	// an existing target is an error matching fs.ErrExist and is left as it
	// is, so a mistaken target path never destroys an image. The check is
	// made before the copy starts and again, atomically, by the final
	// rename. A directory is never replaced.
	Overwrite bool
}

// Result describes a finished copy.
type Result struct {
	// Method is MethodReflink or MethodSparse.
	Method Method
	// Technique is the technique that copied the data.
	Technique Technique
	// Size is the target's length in bytes.
	Size int64
	// Allocated is the bytes of storage the filesystem reports for the
	// target (st_blocks * 512), blocks shared by a reflink included.
	Allocated int64
	// Duration is the wall time of the whole call.
	Duration time.Duration
}

// Clone copies the regular file src to dst, keeping holes, and returns how
// it did so. It tries a reflink first, then a copy of the data extents, then
// a copy that skips all-zero blocks (see the package documentation). Zero
// blocks that the source stores as data stay data in an extent copy.
//
// The copy goes to a temporary file beside dst that replaces dst only when
// it is complete and synced. The copy gets the source's permission bits
// without the umask applied. Setuid, setgid and sticky bits are dropped, as
// cp drops them without --preserve. A symbolic link at src is followed; one
// at dst is replaced, not written through.
//
// Cancelling ctx stops the copy between chunks, removes the temporary file
// and returns an error matching the context's error. A reflink is one ioctl
// that cannot be interrupted. After the rename only the directory's fsync
// remains: an error from it is returned although dst has been replaced.
//
// The source must not change during the copy. A source that shrinks gives
// an error, and one that grows is copied up to its size at the start.
func Clone(ctx context.Context, src, dst string, opts *Options) (Result, error) {
	return clone(ctx, src, dst, opts, copyPlan{})
}

// copyPlan lists the techniques that a clone skips, so that tests can reach
// each fallback on a filesystem that supports the faster ones.
type copyPlan struct {
	noReflink   bool
	noExtents   bool
	noCopyRange bool
}

func clone(ctx context.Context, src, dst string, opts *Options, plan copyPlan) (Result, error) {
	start := time.Now()
	j, err := newJob(ctx, "clone", src, dst, opts)
	if err != nil {
		return Result{}, err
	}
	in, info, err := openSource(src)
	if err != nil {
		return Result{}, j.wrap(err)
	}
	defer in.Close()

	var technique Technique
	r, err := j.publish(info.Mode(), func(out *os.File) error {
		var err error
		technique, err = j.copyData(in, out, info.Size(), plan)
		return err
	})
	if err != nil {
		return Result{}, j.wrap(err)
	}
	r.Method = MethodSparse
	if technique == TechniqueReflink {
		r.Method = MethodReflink
	}
	r.Technique = technique
	r.Duration = time.Since(start)
	return r, nil
}

// job carries one call's context, paths and options through its steps.
type job struct {
	ctx      context.Context
	op       string
	src, dst string
	opts     Options

	reported     bool
	lastProgress int64
}

// newJob validates the paths and options before anything touches the
// filesystem.
func newJob(ctx context.Context, op, src, dst string, opts *Options) (*job, error) {
	if err := validatePath("source", src); err != nil {
		return nil, err
	}
	if err := validatePath("target", dst); err != nil {
		return nil, err
	}
	base := filepath.Base(dst)
	if strings.HasSuffix(dst, "/") || base == "." || base == ".." || base == "/" {
		return nil, invalid("target", dst, "must name a file, not a directory")
	}
	j := &job{ctx: ctx, op: op, src: src, dst: dst}
	if opts != nil {
		j.opts = *opts
	}
	switch n := j.opts.ChunkSize; {
	case n == 0:
		j.opts.ChunkSize = DefaultChunkSize
	case n < 0:
		return nil, invalid("chunk size", strconv.Itoa(n), "must be positive")
	case n > MaxChunkSize:
		return nil, invalid("chunk size", strconv.Itoa(n), "the maximum is %d bytes", MaxChunkSize)
	}
	return j, nil
}

func validatePath(field, path string) error {
	if path == "" {
		return invalid(field, path, "must not be empty")
	}
	if strings.IndexByte(path, 0) >= 0 {
		return invalid(field, path, "must not contain a NUL byte")
	}
	return nil
}

// wrap gives err the operation and paths of j. Validation errors stay as
// they are.
func (j *job) wrap(err error) error {
	var verr *ValidationError
	if errors.As(err, &verr) {
		return err
	}
	return &OpError{Op: j.op, Source: j.src, Target: j.dst, Err: err}
}

// progress calls the Progress option, skipping a repeat of the last call.
func (j *job) progress(done, total int64) {
	if j.opts.Progress == nil || (j.reported && done == j.lastProgress) {
		return
	}
	j.reported = true
	j.lastProgress = done
	j.opts.Progress(done, total)
}

// openSource opens path for reading after checking that it is a regular
// file. The check comes before the open, because opening a FIFO for reading
// blocks until a writer appears, and again on the open file, in case path
// was replaced in between.
func openSource(path string) (*os.File, fs.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, notRegular(path, info.Mode())
	}

	// O_NONBLOCK keeps the open of a FIFO that replaced the file from
	// hanging, and does nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, info.Mode())
	}
	return f, info, nil
}

func notRegular(path string, mode fs.FileMode) error {
	kind := "special file"
	switch {
	case mode.IsDir():
		kind = "directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "socket"
	case mode&fs.ModeCharDevice != 0:
		kind = "character device"
	case mode&fs.ModeDevice != 0:
		kind = "block device"
	}
	return invalid("source", path, "is a %s, not a regular file", kind)
}

// allocatedBytes is the storage the filesystem reports for a file.
func allocatedBytes(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
