"""Disk image copies and zstd unpacking on sparse images in temp dirs.

Holes are checked through st_blocks: a copy that wrote them as zeros
would allocate the whole image. The full-disk and reflink tests mount a
small tmpfs or a loop-mounted XFS on a temp dir, which needs root.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import smolvm_core
from smolvm_core import capabilities, disk
from support import require, require_library

MiB = 1024 * 1024
IMAGE_SIZE = 64 * MiB
BLOCK = 4096
# Where make_image writes data: the first block, one in the middle and the
# last, so holes sit between them.
DATA_OFFSETS = (0, 32 * MiB, IMAGE_SIZE - BLOCK)
# Allocation allowed for an image that holds three data blocks. Filesystems
# may allocate a little more than the data, such as extent tree blocks, but
# an image whose holes were filled would allocate all 64 MiB.
MAX_ALLOCATED = 1 * MiB


def make_image(path: Path) -> bytes:
    """Write a sparse image of IMAGE_SIZE bytes with data at DATA_OFFSETS and return its content."""
    content = bytearray(IMAGE_SIZE)
    with open(path, "wb") as f:
        f.truncate(IMAGE_SIZE)
        for n, offset in enumerate(DATA_OFFSETS):
            block = bytes([n + 1]) * BLOCK
            f.seek(offset)
            f.write(block)
            content[offset : offset + BLOCK] = block
    return bytes(content)


def allocated(path: Path) -> int:
    """Return the bytes of storage allocated to path."""
    return os.stat(path).st_blocks * 512


def expected_clone_method(directory: Path) -> str:
    """Return the method that a clone within directory must report, by the library's reflink check."""
    for check in capabilities.report(directory)["checks"]:
        if check["name"] == "disk.reflink":
            return "reflink" if check["available"] else "sparse"
    raise AssertionError("the capability report has no disk.reflink check")


class DiskTestCase(unittest.TestCase):
    def setUp(self) -> None:
        require_library(self)
        self.dir = Path(tempfile.mkdtemp(prefix="smolvm-py-disk-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def assertSameImage(self, path: Path, content: bytes) -> None:
        self.assertEqual(path.stat().st_size, len(content))
        self.assertTrue(path.read_bytes() == content, f"{path} differs from the source image")
        self.assertLess(allocated(path), MAX_ALLOCATED, f"{path} has its holes filled")

    def assertNoTempFiles(self, directory: Path) -> None:
        self.assertEqual([p.name for p in directory.glob(".smolvm-tmp-*")], [])


class CloneTest(DiskTestCase):
    def test_available(self) -> None:
        self.assertTrue(disk.available())
        self.assertTrue(smolvm_core.has_native_disk_io())

    def test_sparse_image_keeps_holes(self) -> None:
        source = self.dir / "base.img"
        content = make_image(source)
        target = self.dir / "copy.img"

        method = disk.clone_or_sparse_copy(str(source), str(target))

        self.assertEqual(method, expected_clone_method(self.dir))
        self.assertLess(allocated(source), MAX_ALLOCATED)
        self.assertSameImage(target, content)
        self.assertNoTempFiles(self.dir)

    def test_keeps_the_mode(self) -> None:
        source = self.dir / "base.img"
        make_image(source)
        source.chmod(0o640)
        target = self.dir / "copy.img"

        disk.clone_or_sparse_copy(source, target)

        self.assertEqual(target.stat().st_mode & 0o7777, 0o640)

    def test_creates_missing_parent_directories(self) -> None:
        source = self.dir / "base.img"
        content = make_image(source)
        target = self.dir / "a" / "b" / "copy.img"

        disk.clone_or_sparse_copy(source, target)

        self.assertSameImage(target, content)

    def test_replaces_an_existing_target(self) -> None:
        source = self.dir / "base.img"
        content = make_image(source)
        target = self.dir / "copy.img"
        target.write_bytes(b"old image " * 1000)

        disk.clone_or_sparse_copy(source, target)

        self.assertSameImage(target, content)

    def test_empty_file(self) -> None:
        source = self.dir / "empty.img"
        source.touch()
        target = self.dir / "copy.img"

        disk.clone_or_sparse_copy(source, target)

        self.assertEqual(target.read_bytes(), b"")

    def test_missing_source(self) -> None:
        source = self.dir / "none.img"
        target = self.dir / "new" / "copy.img"

        with self.assertRaises(FileNotFoundError) as caught:
            disk.clone_or_sparse_copy(source, target)

        self.assertEqual(caught.exception.errno, errno.ENOENT)
        self.assertIn(str(source), str(caught.exception))
        self.assertIn(str(target), str(caught.exception))
        self.assertFalse((self.dir / "new").exists(), "a failed clone created the target's directory")

    def test_source_is_a_directory(self) -> None:
        with self.assertRaises(OSError) as caught:
            disk.clone_or_sparse_copy(self.dir, self.dir / "copy.img")

        self.assertEqual(caught.exception.errno, errno.EINVAL)
        self.assertIn("is a directory, not a regular file", str(caught.exception))
        self.assertFalse((self.dir / "copy.img").exists())

    def test_target_is_a_directory(self) -> None:
        source = self.dir / "base.img"
        make_image(source)
        target = self.dir / "images"
        target.mkdir()

        with self.assertRaises(IsADirectoryError):
            disk.clone_or_sparse_copy(source, target)

        self.assertTrue(target.is_dir())
        self.assertNoTempFiles(self.dir)

    def test_bad_arguments(self) -> None:
        cases = [
            ((None, "b"), TypeError),
            (("a", 1), TypeError),
            (("a\x00b", "c"), ValueError),
            (("", "c"), OSError),
        ]
        for arguments, error in cases:
            with self.subTest(arguments=arguments):
                with self.assertRaises(error):
                    disk.clone_or_sparse_copy(*arguments)


class DecompressTest(DiskTestCase):
    def setUp(self) -> None:
        super().setUp()
        zstd = shutil.which("zstd")
        require(self, zstd is not None, "the zstd command makes the test images: apt-get install zstd")
        self.image = self.dir / "image.img"
        self.content = make_image(self.image)
        self.compressed = self.dir / "image.img.zst"
        subprocess.run([zstd, "-q", str(self.image), "-o", str(self.compressed)], check=True)

    def test_keeps_holes(self) -> None:
        target = self.dir / "out.img"

        method = disk.decompress_zstd_sparse(str(self.compressed), str(target))

        self.assertEqual(method, "sparse")
        self.assertSameImage(target, self.content)
        self.assertNoTempFiles(self.dir)

    def test_chunk_sizes(self) -> None:
        for chunk_size in (BLOCK, 3 * BLOCK + 1, 8 * MiB):
            with self.subTest(chunk_size=chunk_size):
                target = self.dir / f"out-{chunk_size}.img"

                self.assertEqual(disk.decompress_zstd_sparse(self.compressed, target, chunk_size=chunk_size), "sparse")

                self.assertSameImage(target, self.content)

    def test_creates_parents_and_replaces_target(self) -> None:
        target = self.dir / "a" / "b" / "out.img"
        target.parent.mkdir(parents=True)
        target.write_bytes(b"old")

        disk.decompress_zstd_sparse(self.compressed, target)

        self.assertSameImage(target, self.content)

    def test_missing_source(self) -> None:
        with self.assertRaises(FileNotFoundError) as caught:
            disk.decompress_zstd_sparse(self.dir / "none.zst", self.dir / "new" / "out.img")

        self.assertEqual(caught.exception.errno, errno.ENOENT)
        self.assertFalse((self.dir / "new").exists())

    def test_not_zstd(self) -> None:
        target = self.dir / "out.img"

        with self.assertRaises(OSError) as caught:
            disk.decompress_zstd_sparse(self.image, target)

        self.assertIsNone(caught.exception.errno)
        self.assertIn("invalid zstd data", str(caught.exception))
        self.assertFalse(target.exists())
        self.assertNoTempFiles(self.dir)

    def test_bad_chunk_size(self) -> None:
        cases = [(0, ValueError), (-1, ValueError), (disk.MAX_CHUNK_SIZE + 1, ValueError), ("1", TypeError), (True, TypeError)]
        for chunk_size, error in cases:
            with self.subTest(chunk_size=chunk_size):
                with self.assertRaises(error):
                    disk.decompress_zstd_sparse(self.compressed, self.dir / "out.img", chunk_size=chunk_size)


def mount(test: unittest.TestCase, *arguments: str) -> None:
    """Run ``mount ARGUMENTS`` with the mount point last, and unmount it when the test ends."""
    subprocess.run(["mount", *arguments], check=True, capture_output=True)
    test.addCleanup(subprocess.run, ["umount", arguments[-1]], check=True)


class FilesystemTest(DiskTestCase):
    def setUp(self) -> None:
        super().setUp()
        require(self, os.geteuid() == 0, "this test mounts a filesystem on a temp dir, which needs root: run it with sudo")

    def test_full_disk(self) -> None:
        source = self.dir / "data.img"
        source.write_bytes(os.urandom(4 * MiB))
        small = self.dir / "small"
        small.mkdir()
        mount(self, "-t", "tmpfs", "-o", "size=1m", "smolvm-test", str(small))
        target = small / "copy.img"

        with self.assertRaises(OSError) as caught:
            disk.clone_or_sparse_copy(source, target)

        self.assertEqual(caught.exception.errno, errno.ENOSPC)
        self.assertFalse(target.exists())
        self.assertNoTempFiles(small)

    def test_reflink_on_xfs(self) -> None:
        mkfs = shutil.which("mkfs.xfs")
        require(self, mkfs is not None, "mkfs.xfs makes the reflink filesystem: apt-get install xfsprogs")
        image = self.dir / "xfs.img"
        with open(image, "wb") as f:
            # 300 MiB is the smallest XFS that xfsprogs 5.19 and later accept.
            f.truncate(300 * MiB)
        subprocess.run([mkfs, "-q", "-m", "reflink=1", str(image)], check=True)
        mountpoint = self.dir / "xfs"
        mountpoint.mkdir()
        mount(self, "-o", "loop", str(image), str(mountpoint))
        source = mountpoint / "base.img"
        content = make_image(source)

        method = disk.clone_or_sparse_copy(source, mountpoint / "copy.img")

        self.assertEqual(method, "reflink")
        self.assertEqual(expected_clone_method(mountpoint), "reflink")
        self.assertSameImage(mountpoint / "copy.img", content)


if __name__ == "__main__":
    unittest.main()
