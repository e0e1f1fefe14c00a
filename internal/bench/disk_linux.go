package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/disk"
)

// The image layout: diskData bytes of random data at the start of every
// diskStride bytes, 5% data in all, and holes elsewhere.
const (
	diskStride = 5 << 20
	diskData   = 256 << 10
	// diskGoal is the goal for Clone's median divided by cp's.
	diskGoal = 1.0
)

func diskSection(r *runner, s *Section) (err error) {
	size, n := r.scale.diskSize, r.scale.diskSamples
	s.Intro = []string{
		fmt.Sprintf("Copying a raw image of %s with 5%% data (256 KiB of random bytes at the start of every 5 MiB, holes elsewhere), ", formatBytes(size)) +
			"written once to a temp directory and read from the page cache: `disk.Clone` against `cp --sparse=always`. " +
			"`Clone` fsyncs the copy and its directory before it returns, so the time of `cp` includes an fsync of the copy and of its directory. " +
			fmt.Sprintf("The two alternate, %s each; the copy is deleted after each one.", plural(n, "sample")),
	}
	cp, err := exec.LookPath("cp")
	if err != nil {
		return fmt.Errorf("%w (apt-get install coreutils)", err)
	}
	dir, err := os.MkdirTemp("", "smolvm-bench-disk-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	src := filepath.Join(dir, "src.img")
	r.logf("disk: writing a %s image", formatBytes(size))
	if err := writeSparseImage(src, size); err != nil {
		return err
	}

	dst := filepath.Join(dir, "copy.img")
	var technique disk.Technique
	allocated := make([]int64, 2)
	remove := func(context.Context) error { return os.Remove(dst) }
	cs := []contender{
		{name: "`disk.Clone`", reset: remove, run: func(ctx context.Context) (time.Duration, error) {
			var res disk.Result
			d, err := timed(func() error {
				var err error
				res, err = disk.Clone(ctx, src, dst, nil)
				return err
			})
			technique, allocated[0] = res.Technique, res.Allocated
			return d, err
		}},
		{name: "`cp --sparse=always` and fsync", reset: remove, run: func(ctx context.Context) (time.Duration, error) {
			d, err := timed(func() error {
				if out, err := exec.CommandContext(ctx, cp, "--sparse=always", src, dst).CombinedOutput(); err != nil {
					return fmt.Errorf("cp: %w: %s", err, out)
				}
				return syncPath(dst)
			})
			if err == nil {
				allocated[1], err = allocatedBytes(dst)
			}
			return d, err
		}},
	}
	r.logf("disk: %s per contender", plural(n, "sample"))
	samples, err := r.interleave(n, cs)
	if err != nil {
		return err
	}

	ours, theirs := summarize(samples[0]), summarize(samples[1])
	rt := ratio(ours.Median, theirs.Median)
	met := rt <= diskGoal
	s.Tables = append(s.Tables, Table{
		Header: []string{"contender", "samples", "median", "p90", "allocated by the copy", "ours ÷ cp", "goal"},
		Rows: [][]string{
			{cs[0].name, formatCount(ours.N), formatDuration(ours.Median), formatDuration(ours.P90), formatBytes(allocated[0]),
				formatRatio(rt), fmt.Sprintf("≤ %.1f×: %s", diskGoal, verdict(met))},
			{cs[1].name, formatCount(theirs.N), formatDuration(theirs.Median), formatDuration(theirs.P90), formatBytes(allocated[1]), "", ""},
		},
	})
	s.addGoal(fmt.Sprintf("sparse clone of a %s image ≤ %.1f× `cp --sparse=always`", formatBytes(size), diskGoal),
		fmt.Sprintf("%s (%s against %s)", formatRatio(rt), formatDuration(ours.Median), formatDuration(theirs.Median)), met)
	s.Notes = append(s.Notes, fmt.Sprintf("The temp directory is on %s, where `Clone` used the technique %q.",
		filesystemName(dir), technique))
	return nil
}

// writeSparseImage writes the image to path and fsyncs it.
func writeSparseImage(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	buf := make([]byte, diskData)
	for off := int64(0); off < size; off += diskStride {
		for i := range buf {
			buf[i] = byte(rng.Uint32()) | 1 // never a zero byte, so no block is all zero
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// syncPath fsyncs path and its directory.
func syncPath(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// allocatedBytes returns the storage the filesystem reports for path.
func allocatedBytes(path string) (int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Blocks * 512, nil
}

// filesystemName names the filesystem that holds path, by its magic number.
func filesystemName(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "an unknown filesystem"
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.XFS_SUPER_MAGIC:
		return "XFS"
	case unix.BTRFS_SUPER_MAGIC:
		return "Btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("a filesystem with magic number %#x", st.Type)
}
