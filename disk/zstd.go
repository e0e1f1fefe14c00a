package disk

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Decompress unpacks the zstd file src into dst, seeking over every
// all-zero block instead of writing it, so the image's empty space stays
// unallocated. Concatenated zstd frames are unpacked one after the other, as
// the zstd command does. The result's Method is MethodSparse and its
// Technique TechniqueZeroSkip.
//
// Publishing, the target's mode, Options.Overwrite and cancellation work as
// for [Clone]. Data that is not zstd, is corrupt or ends early gives an error
// matching [ErrInvalidZstd]. A frame whose window is larger than 512 MiB is
// rejected with that error too, so a hostile file cannot make the decoder
// allocate more. The zstd command's own default limit is 128 MiB (see
// --memory in zstd(1)).
func Decompress(ctx context.Context, src, dst string, opts *Options) (Result, error) {
	start := time.Now()
	j, err := newJob(ctx, "decompress", src, dst, opts)
	if err != nil {
		return Result{}, err
	}
	in, info, err := openSource(src)
	if err != nil {
		return Result{}, j.wrap(err)
	}
	defer in.Close()

	r, err := j.publish(info.Mode(), func(out *os.File) error {
		return j.decompress(in, out, info.Size())
	})
	if err != nil {
		return Result{}, j.wrap(err)
	}
	r.Method = MethodSparse
	r.Technique = TechniqueZeroSkip
	r.Duration = time.Since(start)
	return r, nil
}

// maxWindow is the largest zstd window the decoder accepts: 512 MiB.
const maxWindow = 512 << 20

// decompress unpacks in, of srcSize compressed bytes, into out.
func (j *job) decompress(in, out *os.File, srcSize int64) error {
	counter := &countingReader{r: in}
	// Concurrency 1 decodes on this goroutine, so counter needs no locking,
	// and the decoder starts no goroutines that could outlive the call.
	// TODO: most of the time on a mostly empty image goes to the decoder
	// moving its window down once per window of output (history.ensureBlock
	// in klauspost/compress v1.18.7), and `zstd -d` is 2 to 3 times as fast
	// (disk/BENCHMARKS.md). Concurrency 2 and WriteTo measured no better.
	dec, err := zstd.NewReader(counter, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return err
	}
	defer dec.Close()

	w := newSparseWriter(out)
	buf := make([]byte, j.opts.ChunkSize)
	for {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		n, err := readChunk(dec, buf)
		if n > 0 {
			if werr := w.write(buf[:n]); werr != nil {
				return werr
			}
		}
		j.progress(min(counter.n, srcSize), srcSize)
		if err == io.EOF {
			break
		}
		if err != nil {
			return counter.classify(err)
		}
	}
	if counter.n == 0 {
		return &zstdError{errors.New("the file is empty")}
	}
	j.progress(srcSize, srcSize)
	return w.finish()
}

// readChunk reads from r until buf is full or r returns an error, and
// returns that error as it is: io.EOF only at the end of the stream.
func readChunk(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// countingReader counts the compressed bytes that the decoder reads and
// keeps the last read error, so that classify can separate a read failure
// from bad data.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// classify returns a decoder error as it is when it came from reading the
// file, and as a cause matching ErrInvalidZstd otherwise.
func (c *countingReader) classify(err error) error {
	if c.err != nil && errors.Is(err, c.err) {
		return err
	}
	return &zstdError{err}
}
