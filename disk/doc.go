// Package disk copies and unpacks microVM disk images without filling their
// holes, and publishes each result atomically.
//
// [Clone] copies a raw image in the cheapest way the filesystem allows. It
// first tries a reflink (the FICLONE ioctl, as `cp --reflink=always` does),
// which shares the source's blocks until either file is written. Where the
// filesystem cannot share blocks (ext4, tmpfs, or a target on another
// filesystem), it copies only the source's data extents, so holes stay
// holes. It finds them with lseek SEEK_DATA and SEEK_HOLE and copies them
// with copy_file_range, or with read and write where the kernel rejects that
// call. Where the filesystem does not report holes, it reads every block and
// skips those that are all zero. [Decompress] unpacks a zstd image and skips all-zero blocks in the
// same way, so a mostly empty image stays mostly unallocated.
//
// Both write to a temporary file beside the target, whose name starts with
// [TempPrefix], then fsync it, rename it over the target and fsync the
// directory. A failure or a cancelled context removes the temporary file and
// leaves an existing target as it was. Temporary files that a crashed process
// left behind can be found with [StaleTempFiles] and removed with
// [RemoveStaleTempFiles].
//
// The source is validated before anything is written: it must be a regular
// file, and a non-regular source (a directory, a device, a FIFO) is rejected
// with a [*ValidationError] that matches [io/fs.ErrInvalid]. Other failures
// come back as [*OpError], which names the operation, the source and the
// target and keeps the cause, so [errors.Is] works against
// [io/fs.ErrNotExist], [io/fs.ErrExist], [io/fs.ErrPermission],
// [syscall.ENOSPC] and [context.Canceled].
//
// Privilege: none beyond read access to the source and write access to the
// target's directory. The copy belongs to the calling user and keeps the
// source's permission bits, not its owner.
//
// Reflinks and extent copies need Linux. On other platforms both functions
// work, with the copy that reads every block and skips zero blocks.
//
// The functions keep no state between calls and are safe for concurrent use,
// as long as no two calls write the same target.
package disk
