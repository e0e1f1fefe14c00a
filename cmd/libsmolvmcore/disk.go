package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/smolvm/smolvm-core/disk"
)

// diskResult is a finished copy in the JSON form that the Python module
// reads. Method is "reflink" or "sparse", and Size and Allocated are in
// bytes.
type diskResult struct {
	Method    disk.Method    `json:"method"`
	Technique disk.Technique `json:"technique"`
	Size      int64          `json:"size"`
	Allocated int64          `json:"allocated"`
}

// diskClone copies src to dst as clone_or_sparse_copy: by reflink where
// the filesystem can share blocks, else as a sparse copy.
func diskClone(src, dst string) (any, *errorInfo) {
	return diskCall("clone", src, dst, func(ctx context.Context, opts *disk.Options) (disk.Result, error) {
		return disk.Clone(ctx, src, dst, opts)
	})
}

// diskDecompress unpacks the zstd file src into dst as
// decompress_zstd_sparse, reading chunkSize bytes at a time.
func diskDecompress(src, dst string, chunkSize int64) (any, *errorInfo) {
	if chunkSize <= 0 || chunkSize > disk.MaxChunkSize {
		return nil, valueError("chunk_size must be from 1 to %d bytes, got %d", disk.MaxChunkSize, chunkSize)
	}
	return diskCall("decompress", src, dst, func(ctx context.Context, opts *disk.Options) (disk.Result, error) {
		opts.ChunkSize = int(chunkSize)
		return disk.Decompress(ctx, src, dst, opts)
	})
}

// diskCall runs fn as the original module's disk functions behaved: the
// missing parent directories of dst are created first, and an existing
// dst file is replaced. Both differ from the defaults of the disk package.
func diskCall(op, src, dst string, fn func(ctx context.Context, opts *disk.Options) (disk.Result, error)) (any, *errorInfo) {
	if err := makeTargetDir(op, src, dst); err != nil {
		return nil, diskError(err)
	}
	r, err := fn(context.Background(), &disk.Options{Overwrite: true})
	if err != nil {
		return nil, diskError(err)
	}
	return diskResult{Method: r.Method, Technique: r.Technique, Size: r.Size, Allocated: r.Allocated}, nil
}

// makeTargetDir creates the missing parent directories of dst, as
// `mkdir -p` does, with mode 0777 less the umask. It does so only when src
// is a regular file, so that a call that fails on its source leaves no
// directory behind. The disk package reports every other bad input.
func makeTargetDir(op, src, dst string) error {
	info, err := os.Stat(src)
	if err != nil || !info.Mode().IsRegular() || dst == "" || strings.HasSuffix(dst, "/") {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return &disk.OpError{Op: op, Source: src, Target: dst, Err: err}
	}
	return nil
}

// diskError maps an error of the disk package to an OSError: the Go error
// text, which names the operation and both paths, and the errno behind it,
// such as ENOENT for a missing source or ENOSPC for a full disk. Input
// that the disk package rejects, such as a source that is a directory,
// has errno EINVAL, and data that is not zstd has none.
func diskError(err error) *errorInfo {
	return &errorInfo{Kind: kindOS, Errno: errnoOf(err), Message: err.Error(), Detail: err.Error()}
}
