package capabilities

import (
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probeReflink reports whether the filesystem of dir can share blocks
// between files (FICLONE), which makes disk.Clone instant. It writes
// nothing: Btrfs always can, and XFS can when it was made with reflink=1,
// which its geometry reports.
func probeReflink(dir string) Check {
	c := Check{Name: "disk.reflink"}
	if dir == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		c.Detail = "cannot read the filesystem of " + dir + ": " + err.Error()
		return c
	}
	switch st.Type {
	case unix.BTRFS_SUPER_MAGIC:
		c.Available, c.Detail = true, dir+" is on Btrfs, which shares blocks: clones are reflinks"
	case unix.XFS_SUPER_MAGIC:
		c.Available, c.Detail = xfsReflink(dir)
	default:
		c.Detail = dir + " is on " + fsName(st.Type) + ", which has no reflinks, so clones copy the data extents " +
			"and keep holes; Btrfs or XFS with reflink=1 would make them instant"
	}
	return c
}

// xfsGeometry is the start of struct xfs_fsop_geom (xfs_fs.h) up to its
// flags field.
type xfsGeometry struct {
	blockSize, rtExtSize, agBlocks, agCount, logBlocks, sectSize, inodeSize, imaxPct uint32
	dataBlocks, rtBlocks, rtExtents, logStart                                        uint64
	uuid                                                                             [16]byte
	sunit, swidth                                                                    uint32
	version                                                                          int32
	flags                                                                            uint32
	rest                                                                             [64]uint64
}

const (
	// xfsIocFsGeometry is XFS_IOC_FSGEOMETRY, _IOR('X', 126, struct xfs_fsop_geom).
	xfsIocFsGeometry = 0x8100587e
	// xfsGeomFlagReflink is XFS_FSOP_GEOM_FLAGS_REFLINK.
	xfsGeomFlagReflink = 0x100000
)

func xfsReflink(dir string) (bool, string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, "cannot open " + dir + ": " + err.Error()
	}
	defer unix.Close(fd)
	var g xfsGeometry
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), xfsIocFsGeometry, uintptr(unsafe.Pointer(&g))); errno != 0 {
		return false, dir + " is on XFS, whose geometry could not be read (" + errno.Error() + ")"
	}
	if g.flags&xfsGeomFlagReflink == 0 {
		return false, dir + " is on XFS made without reflink=1, so clones copy the data extents and keep holes"
	}
	return true, dir + " is on XFS with reflink=1: clones are reflinks"
}

// fsName names the common filesystem types, or gives the magic number.
func fsName(magic int64) string {
	names := map[int64]string{
		unix.EXT4_SUPER_MAGIC:      "ext4",
		unix.TMPFS_MAGIC:           "tmpfs",
		unix.OVERLAYFS_SUPER_MAGIC: "overlayfs",
		unix.NFS_SUPER_MAGIC:       "NFS",
		unix.F2FS_SUPER_MAGIC:      "F2FS",
		0x2fc12fc1:                 "ZFS",
	}
	if n, ok := names[magic]; ok {
		return n
	}
	return "a filesystem of type 0x" + strconv.FormatInt(magic, 16)
}
