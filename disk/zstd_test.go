package disk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// compress returns content as zstd frames of at most frameSize bytes each,
// or one frame when frameSize is 0.
func compress(t *testing.T, content []byte, frameSize int) []byte {
	t.Helper()
	if frameSize == 0 {
		frameSize = max(len(content), 1)
	}
	var out bytes.Buffer
	for off := 0; off < len(content) || off == 0; off += frameSize {
		enc, err := zstd.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		end := min(off+frameSize, len(content))
		if _, err := enc.Write(content[off:end]); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if end == len(content) {
			break
		}
	}
	return out.Bytes()
}

// writeCompressedImage writes the layout as a zstd file and, for the
// allocation checks, the same layout uncompressed. It returns the content.
func writeCompressedImage(t *testing.T, dir string, l layout, frameSize int) (zst, raw string, content []byte) {
	t.Helper()
	raw = filepath.Join(dir, "raw.img")
	content = writeImage(t, raw, l, 0o640)
	zst = writeFile(t, dir, "src.img.zst", compress(t, content, frameSize))
	return zst, raw, content
}

func TestDecompressLayouts(t *testing.T) {
	for _, l := range layouts {
		for _, frames := range []struct {
			name string
			size int
		}{{"one frame", 0}, {"1 MiB frames", 1 << 20}} {
			t.Run(l.name+"/"+frames.name, func(t *testing.T) {
				dir := t.TempDir()
				zst, raw, want := writeCompressedImage(t, dir, l, frames.size)
				dst := filepath.Join(dir, "dst.img")

				r, err := Decompress(context.Background(), zst, dst, &Options{ChunkSize: 64 << 10})
				if err != nil {
					t.Fatal(err)
				}
				if r.Method != MethodSparse || r.Technique != TechniqueZeroSkip {
					t.Errorf("method, technique = %q, %q, want sparse, zero-skip", r.Method, r.Technique)
				}
				if r.Size != l.size {
					t.Errorf("size = %d, want %d", r.Size, l.size)
				}
				checkCopy(t, dst, raw, want, l)
				checkNoTempFiles(t, dir)
			})
		}
	}
}

func TestDecompressZstdCommandOutput(t *testing.T) {
	zstdPath := netnstest.RequireCommand(t, "zstd", "zstd")
	dir := t.TempDir()
	l := layoutNamed(t, "holes at start middle and end")
	raw := filepath.Join(dir, "raw.img")
	want := writeImage(t, raw, l, 0o644)
	zst := raw + ".zst"
	if out, err := exec.Command(zstdPath, "-q", "-3", raw, "-o", zst).CombinedOutput(); err != nil {
		t.Fatalf("zstd: %v: %s", err, out)
	}
	dst := filepath.Join(dir, "dst.img")

	if _, err := Decompress(context.Background(), zst, dst, nil); err != nil {
		t.Fatal(err)
	}
	checkCopy(t, dst, raw, want, l)
}

func TestDecompressKeepsSourceMode(t *testing.T) {
	dir := t.TempDir()
	zst, _, _ := writeCompressedImage(t, dir, layoutNamed(t, "hole at start"), 0)
	if err := os.Chmod(zst, 0o604); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.img")

	if _, err := Decompress(context.Background(), zst, dst, nil); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o604 {
		t.Errorf("target mode = %v, want %v", info.Mode(), fs.FileMode(0o604))
	}
}

func TestDecompressInvalidData(t *testing.T) {
	valid := compress(t, bytes.Repeat([]byte("smolvm disk image "), 100_000), 0)
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)/2] ^= 0xff

	tests := []struct {
		name    string
		content []byte
	}{
		{"empty file", nil},
		{"not zstd", []byte("this is a raw image, not a zstd frame")},
		{"truncated", valid[:len(valid)/2]},
		{"header only", valid[:6]},
		{"corrupt", corrupt},
		{"trailing garbage", append(bytes.Clone(valid), "garbage"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := writeFile(t, dir, "src.zst", tt.content)
			dst := filepath.Join(dir, "dst.img")

			_, err := Decompress(context.Background(), src, dst, nil)
			if !errors.Is(err, ErrInvalidZstd) {
				t.Fatalf("error = %v, want one matching ErrInvalidZstd", err)
			}
			var operr *OpError
			if !errors.As(err, &operr) || operr.Op != "decompress" || operr.Source != src || operr.Target != dst {
				t.Errorf("error %#v does not name the operation, source and target", err)
			}
			if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("target exists after a failed decompress: %v", err)
			}
			checkNoTempFiles(t, dir)
		})
	}
}

func TestDecompressProgress(t *testing.T) {
	dir := t.TempDir()
	zst, _, _ := writeCompressedImage(t, dir, layoutNamed(t, "holes at start middle and end"), 1<<20)
	info, err := os.Stat(zst)
	if err != nil {
		t.Fatal(err)
	}

	var calls [][2]int64
	opts := &Options{ChunkSize: 256 << 10, Progress: func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	}}
	if _, err := Decompress(context.Background(), zst, filepath.Join(dir, "dst.img"), opts); err != nil {
		t.Fatal(err)
	}
	checkProgress(t, calls, info.Size())
}

func TestDecompressCancelled(t *testing.T) {
	dir := t.TempDir()
	zst, _, _ := writeCompressedImage(t, dir, layout{"dense", 4 * mib, []extent{{0, 4 * mib}}}, 256<<10)
	old := []byte("the old target")
	dst := writeFile(t, dir, "dst.img", old)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &Options{ChunkSize: 64 << 10, Overwrite: true, Progress: func(done, total int64) {
		if done > 0 && done < total {
			cancel()
		}
	}}
	_, err := Decompress(ctx, zst, dst, opts)
	checkCancelled(t, err, dir, dst, old)
}

func TestDecompressExistingTarget(t *testing.T) {
	dir := t.TempDir()
	zst, _, _ := writeCompressedImage(t, dir, layoutNamed(t, "hole at start"), 0)
	dst := writeFile(t, dir, "dst.img", []byte("old"))

	_, err := Decompress(context.Background(), zst, dst, nil)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("error = %v, want one matching fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "old" {
		t.Errorf("target = %q, want it unchanged", got)
	}
	checkNoTempFiles(t, dir)
}

// failingReader returns its error after the first n bytes of r.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestDecompressReadErrorIsNotInvalidData(t *testing.T) {
	readErr := &fs.PathError{Op: "read", Path: "src.zst", Err: errors.New("input/output error")}
	valid := compress(t, bytes.Repeat([]byte("x"), 1<<20), 0)
	counter := &countingReader{r: &failingReader{r: bytes.NewReader(valid), n: len(valid) / 2, err: readErr}}
	dec, err := zstd.NewReader(counter, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()

	_, err = io.Copy(io.Discard, dec)
	err = counter.classify(err)
	if !errors.Is(err, readErr) {
		t.Errorf("error = %v, want the read error", err)
	}
	if errors.Is(err, ErrInvalidZstd) {
		t.Errorf("error = %v matches ErrInvalidZstd, want a read error", err)
	}
}
