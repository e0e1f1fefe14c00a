package disk

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// extent is a byte range of a test image: data in a layout's data list, or
// a hole.
type extent struct{ off, len int64 }

// layout describes a test image: its size and where its data is. The rest
// is holes.
type layout struct {
	name string
	size int64
	data []extent
}

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

var layouts = []layout{
	{"hole at start", 4 * mib, []extent{{3 * mib, mib}}},
	{"hole in middle", 4 * mib, []extent{{0, mib}, {3 * mib, mib}}},
	{"hole at end", 4 * mib, []extent{{0, mib}}},
	{"holes at start middle and end", 8 * mib, []extent{{mib, mib}, {5 * mib, mib}}},
	{"all hole", 4 * mib, nil},
	{"empty", 0, nil},
	{"dense unaligned size", 2*mib + 123, []extent{{0, 2*mib + 123}}},
	{"unaligned extents", mib + 17, []extent{{1000, 5000}, {70000, 1}, {mib, 17}}},
	{"many extents", 4 * mib, manyExtents(4*mib, 64*kib)},
}

func layoutNamed(t *testing.T, name string) layout {
	t.Helper()
	for _, l := range layouts {
		if l.name == name {
			return l
		}
	}
	t.Fatalf("no layout named %q", name)
	return layout{}
}

// manyExtents alternates data and holes of length step over size bytes.
func manyExtents(size, step int64) []extent {
	var data []extent
	for off := int64(0); off < size; off += 2 * step {
		data = append(data, extent{off, step})
	}
	return data
}

// writeImage creates path with the layout and mode: random bytes in each
// data extent and holes elsewhere. It returns the file's content.
func writeImage(t *testing.T, path string, l layout, mode fs.FileMode) []byte {
	t.Helper()
	content := make([]byte, l.size)
	rng := rand.New(rand.NewChaCha8([32]byte{byte(len(l.name)), byte(l.size)}))
	for _, e := range l.data {
		for i := e.off; i < e.off+e.len; i++ {
			content[i] = byte(rng.IntN(255) + 1) // never zero, so no data block is all zero
		}
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range l.data {
		if _, err := f.WriteAt(content[e.off:e.off+e.len], e.off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(l.size); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(mode); err != nil {
		t.Fatal(err)
	}
	// Syncing makes the filesystem allocate the blocks, extent tree blocks
	// included, so that the source's allocated bytes are final.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return content
}

// holes returns the layout's holes shrunk to whole blocks of size block,
// which are the ranges that a sparse copy must leave unallocated.
func holes(l layout, block int64) []extent {
	var out []extent
	pos := int64(0)
	add := func(start, end int64) {
		start = (start + block - 1) / block * block
		end = end / block * block
		if end > start {
			out = append(out, extent{start, end - start})
		}
	}
	for _, e := range l.data {
		add(pos, e.off)
		pos = e.off + e.len
	}
	add(pos, l.size)
	return out
}

// dataBlocks is the number of bytes in the blocks that hold data.
func dataBlocks(l layout, block int64) int64 {
	seen := map[int64]bool{}
	for _, e := range l.data {
		for b := e.off / block; b <= (e.off+e.len-1)/block; b++ {
			seen[b] = true
		}
	}
	return int64(len(seen)) * block
}

// checkCopy checks that path has the content want and that the layout's
// holes are holes in it: its allocated blocks cover the data and are no
// more than those of the source image src, plus metaSlack.
func checkCopy(t *testing.T, path, src string, want []byte, l layout) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: content differs from the source (%d bytes, want %d)", path, len(got), len(want))
	}

	const block = 4 * kib
	gotAlloc := allocated(t, path)
	srcAlloc := allocated(t, src)
	if gotAlloc > srcAlloc+metaSlack {
		t.Errorf("copy has %d bytes allocated, more than the source's %d and %d for metadata", gotAlloc, srcAlloc, metaSlack)
	}
	if minAlloc := dataBlocks(l, block); gotAlloc < minAlloc {
		t.Errorf("copy has %d bytes allocated, fewer than its %d bytes of data blocks", gotAlloc, minAlloc)
	}
	checkHoles(t, path, holes(l, block))
}

// metaSlack allows a copy more extent-tree blocks than its source. The copy
// is written back in chunks, so ext4 may place its data in more pieces and
// need a block for the extent tree (4 KiB) where the source needed none.
const metaSlack = 16 * kib

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return allocatedBytes(info)
}

// tempFiles lists the names in dir that start with TempPrefix.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkNoTempFiles fails t when dir holds a temporary file.
func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	if names := tempFiles(t, dir); len(names) > 0 {
		t.Errorf("temporary files left in %s: %v", dir, names)
	}
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
