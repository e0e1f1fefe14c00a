package disk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Benchmark image: 1 GiB with 5% data, as 256 KiB of random bytes at the
// start of every 5 MiB. The rest is holes.
const (
	benchSize   = 1 << 30
	benchStride = 5 << 20
	benchData   = 256 << 10
)

// writeBenchImage writes the benchmark image to path and syncs it.
func writeBenchImage(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	buf := make([]byte, benchData)
	for off := int64(0); off < benchSize; off += benchStride {
		for i := range buf {
			buf[i] = byte(rng.Uint32()) | 1 // never zero
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Truncate(benchSize); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// syncFile fsyncs path and its directory, so that commands that do not
// fsync their output (cp, zstd) are timed up to the same durability as
// Clone and Decompress: the data and the new directory entry on disk.
func syncFile(b *testing.B, path string) {
	b.Helper()
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// contender is one way of copying the benchmark image.
type contender struct {
	name string
	copy func(b *testing.B, src, dst string)
}

// raceCopies times each contender on the same source once per iteration,
// rotating their order so that none always runs first, and reports each
// one's mean time and its ratio to the first contender's. The benchmark's
// own ns/op is the first contender's time.
func raceCopies(b *testing.B, src string, contenders []contender) {
	dir := filepath.Dir(src)
	totals := make([]time.Duration, len(contenders))
	allocs := make([]int64, len(contenders))

	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		for k := range contenders {
			n := (i + k) % len(contenders)
			c := contenders[n]
			dst := filepath.Join(dir, fmt.Sprintf("dst-%d.img", n))

			start := time.Now()
			if n == 0 {
				b.StartTimer()
			}
			c.copy(b, src, dst)
			if n == 0 {
				b.StopTimer()
			}
			totals[n] += time.Since(start)

			info, err := os.Stat(dst)
			if err != nil {
				b.Fatal(err)
			}
			allocs[n] = allocatedBytes(info)
			if err := os.Remove(dst); err != nil {
				b.Fatal(err)
			}
		}
	}

	first := totals[0]
	for n, c := range contenders {
		mean := totals[n] / time.Duration(b.N)
		b.Logf("N=%d %-18s %10v per copy, %6.1f MiB allocated, %5.2f times the time of %s",
			b.N, c.name, mean.Round(10*time.Microsecond), float64(allocs[n])/(1<<20),
			float64(totals[n])/float64(first), contenders[0].name)
		if n > 0 {
			b.ReportMetric(float64(totals[n])/float64(first), c.name+"/"+contenders[0].name)
		}
	}
}

// BenchmarkCloneSparseImage compares Clone with `cp --sparse=always` and
// with a copy that reads every byte and skips zero blocks, on the
// benchmark image:
//
//	go test -run '^$' -bench CloneSparseImage -benchtime 5x ./disk/
func BenchmarkCloneSparseImage(b *testing.B) {
	cp, err := exec.LookPath("cp")
	if err != nil {
		b.Skip("cp is not installed: apt-get install coreutils")
	}
	src := filepath.Join(b.TempDir(), "src.img")
	writeBenchImage(b, src)

	raceCopies(b, src, []contender{
		{"clone", func(b *testing.B, src, dst string) {
			if _, err := Clone(context.Background(), src, dst, nil); err != nil {
				b.Fatal(err)
			}
		}},
		{"cp-sparse-always", func(b *testing.B, src, dst string) {
			if out, err := exec.Command(cp, "--sparse=always", src, dst).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v: %s", err, out)
			}
			syncFile(b, dst)
		}},
		{"read-every-byte", func(b *testing.B, src, dst string) {
			plan := copyPlan{noReflink: true, noExtents: true}
			if _, err := clone(context.Background(), src, dst, nil, plan); err != nil {
				b.Fatal(err)
			}
		}},
	})
}

// BenchmarkDecompressSparseImage compares Decompress with
// `zstd -d --sparse` on the benchmark image compressed at zstd's default
// level:
//
//	go test -run '^$' -bench DecompressSparseImage -benchtime 5x ./disk/
func BenchmarkDecompressSparseImage(b *testing.B) {
	zstdPath, err := exec.LookPath("zstd")
	if err != nil {
		b.Skip("zstd is not installed: apt-get install zstd")
	}
	dir := b.TempDir()
	raw := filepath.Join(dir, "raw.img")
	writeBenchImage(b, raw)
	src := filepath.Join(dir, "src.img.zst")
	compressFile(b, raw, src)
	if err := os.Remove(raw); err != nil {
		b.Fatal(err)
	}

	raceCopies(b, src, []contender{
		{"decompress", func(b *testing.B, src, dst string) {
			if _, err := Decompress(context.Background(), src, dst, nil); err != nil {
				b.Fatal(err)
			}
		}},
		{"zstd-d-sparse", func(b *testing.B, src, dst string) {
			if out, err := exec.Command(zstdPath, "-q", "-d", "--sparse", src, "-o", dst).CombinedOutput(); err != nil {
				b.Fatalf("zstd: %v: %s", err, out)
			}
			syncFile(b, dst)
		}},
	})
}

// compressFile writes src to dst as one zstd frame at the default level.
func compressFile(b *testing.B, src, dst string) {
	b.Helper()
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	enc, err := zstd.NewWriter(out)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := enc.ReadFrom(in); err != nil {
		b.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		b.Fatal(err)
	}
}
