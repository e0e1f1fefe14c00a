package disk

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// clonePlans are the techniques that each clone test runs with, and the
// technique each one must report.
var clonePlans = []struct {
	name string
	plan copyPlan
	want []Technique
}{
	{"auto", copyPlan{}, []Technique{TechniqueReflink, TechniqueExtents}},
	{"extents", copyPlan{noReflink: true}, []Technique{TechniqueExtents}},
	{"extents read write", copyPlan{noReflink: true, noCopyRange: true}, []Technique{TechniqueExtentsReadWrite}},
	{"zero skip", copyPlan{noReflink: true, noExtents: true}, []Technique{TechniqueZeroSkip}},
}

// checkHoles checks with lseek SEEK_DATA that each extent in want is a hole
// in the file at path.
func checkHoles(t *testing.T, path string, want []extent) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, h := range want {
		data, err := unix.Seek(int(f.Fd()), h.off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			continue // only holes follow
		}
		if err != nil {
			t.Fatalf("lseek SEEK_DATA %d: %v", h.off, err)
		}
		if data < h.off+h.len {
			t.Errorf("%s has data at %d, inside the hole [%d, %d)", path, data, h.off, h.off+h.len)
		}
	}
}
