package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// TempPrefix starts the name of every temporary file that [Clone] and
// [Decompress] create beside their target. The rest of the name is the
// target's name (cut to maxTempBase bytes), a hyphen and a random number, as
// in ".smolvm-tmp-rootfs.ext4-1234567890".
const TempPrefix = ".smolvm-tmp-"

// maxTempBase keeps a temporary file's name under NAME_MAX (255 bytes)
// whatever the length of the target's name.
const maxTempBase = 200

// publish writes the target through a temporary file in its directory. fill
// writes the data; publish then sets the mode, fsyncs the file, renames it
// over the target and fsyncs the directory. On any error before the rename
// the temporary file is removed and the target is left as it was. The
// returned Result has Size and Allocated set.
func (j *job) publish(mode fs.FileMode, fill func(tmp *os.File) error) (Result, error) {
	if err := j.ctx.Err(); err != nil {
		return Result{}, err
	}
	dir, base := filepath.Dir(j.dst), filepath.Base(j.dst)
	if err := checkDir(dir); err != nil {
		return Result{}, err
	}
	if err := j.checkTarget(); err != nil {
		return Result{}, err
	}

	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+base+"-*")
	if err != nil {
		return Result{}, err
	}
	published := false
	defer func() {
		if !published {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	if err := fill(tmp); err != nil {
		return Result{}, err
	}
	info, err := finishTemp(tmp, mode)
	if err != nil {
		return Result{}, err
	}
	// The last moment to cancel: after the rename the target is replaced.
	if err := j.ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := j.rename(tmp.Name()); err != nil {
		return Result{}, err
	}
	published = true

	r := Result{Size: info.Size(), Allocated: allocatedBytes(info)}
	return r, syncDir(dir)
}

// finishTemp sets the permission bits, fsyncs and closes tmp, and returns
// its final state.
func finishTemp(tmp *os.File, mode fs.FileMode) (fs.FileInfo, error) {
	if err := tmp.Chmod(mode.Perm()); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	info, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	return info, tmp.Close()
}

// checkDir reports an error unless dir is an existing directory.
func checkDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return &fs.PathError{Op: "stat", Path: dir, Err: syscall.ENOTDIR}
	}
	return nil
}

// checkTarget rejects an existing target early, before any data is copied.
// The rename checks again, because the target may appear in the meantime.
func (j *job) checkTarget() error {
	info, err := os.Lstat(j.dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !j.opts.Overwrite {
		return ErrTargetExists
	}
	if info.IsDir() {
		return &fs.PathError{Op: "replace", Path: j.dst, Err: syscall.EISDIR}
	}
	return nil
}

// rename moves the finished temporary file to the target, replacing an
// existing file only when the options allow it.
func (j *job) rename(tmp string) error {
	if j.opts.Overwrite {
		return os.Rename(tmp, j.dst)
	}
	return renameNoReplace(tmp, j.dst)
}

// linkNoReplace publishes tmp as target without replacing an existing file,
// for filesystems and platforms without an atomic rename that refuses to
// replace: link(2) fails when target exists, then tmp is removed.
func linkNoReplace(tmp, target string) error {
	err := os.Link(tmp, target)
	if errors.Is(err, fs.ErrExist) {
		return ErrTargetExists
	}
	if err != nil {
		// NOTE: a filesystem without hard links (vfat, some FUSE ones) ends
		// up here, and then a target created between this check and the
		// rename is replaced.
		if _, serr := os.Lstat(target); serr == nil {
			return ErrTargetExists
		}
		return os.Rename(tmp, target)
	}
	return os.Remove(tmp)
}

// syncDir fsyncs dir so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	// Some filesystems (some FUSE and network ones) reject fsync on a
	// directory; the rename has happened and there is nothing more to do.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}

// StaleTempFiles lists the temporary files in dir that [Clone] or
// [Decompress] left behind and that were last modified at least minAge ago.
// It returns their paths in lexical order. A copy in progress writes to its
// temporary file, but it writes nothing while it reads a long run of zero
// blocks, so choose minAge well above the longest copy, such as an hour.
func StaleTempFiles(dir string, minAge time.Duration) ([]string, error) {
	const op = "list stale temp files in"
	if minAge < 0 {
		return nil, invalid("minimum age", minAge.String(), "must not be negative")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &OpError{Op: op, Source: dir, Err: pathCause(err)}
	}
	cutoff := time.Now().Add(-minAge)
	var stale []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), TempPrefix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir, for example by the copy's rename
		}
		if err != nil {
			return nil, &OpError{Op: op, Source: dir, Err: err}
		}
		if !info.ModTime().After(cutoff) {
			stale = append(stale, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(stale)
	return stale, nil
}

// RemoveStaleTempFiles removes the files that [StaleTempFiles] lists for dir
// and minAge, and returns the paths it removed. It goes on after a failed
// removal and returns the failures joined. A file that is already gone is
// not an error.
func RemoveStaleTempFiles(dir string, minAge time.Duration) ([]string, error) {
	stale, err := StaleTempFiles(dir, minAge)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, path := range stale {
		err := os.Remove(path)
		switch {
		case err == nil:
			removed = append(removed, path)
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, &OpError{Op: "remove stale temp file", Target: path, Err: pathCause(err)})
		}
	}
	return removed, errors.Join(errs...)
}

// pathCause drops the *fs.PathError around err where the OpError that will
// carry it names the same path.
func pathCause(err error) error {
	var perr *fs.PathError
	if errors.As(err, &perr) {
		return perr.Err
	}
	return err
}
