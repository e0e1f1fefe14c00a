//go:build !linux

package disk

import "os"

// copyData copies the source's first size bytes into out, an empty file.
// Without Linux's FICLONE, SEEK_DATA and copy_file_range, every byte is read
// and only blocks that are not all zero are written.
func (j *job) copyData(in, out *os.File, size int64, _ copyPlan) (Technique, error) {
	if err := j.ctx.Err(); err != nil {
		return "", err
	}
	return TechniqueZeroSkip, j.copyZeroSkip(in, out, size)
}

// renameNoReplace renames tmp to target unless target exists.
func renameNoReplace(tmp, target string) error {
	return linkNoReplace(tmp, target)
}

// startWriteback does nothing where sync_file_range is not available; the
// final fsync writes everything.
func startWriteback(*os.File, int64, int64) {}
