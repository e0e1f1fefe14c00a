package capabilities

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/smolvm/smolvm-core/internal/mounttest"
)

func check(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("the report has no %s check: %+v", name, r.Checks)
	return Check{}
}

func TestReflinkOnXFS(t *testing.T) {
	for _, tc := range []struct {
		reflink bool
	}{{true}, {false}} {
		dir := mounttest.XFS(t, tc.reflink)
		c := check(t, ProbeWith(Options{DiskDir: dir}), "disk.reflink")
		if c.Available != tc.reflink || c.Detail == "" {
			t.Errorf("XFS with reflink=%v: check %+v", tc.reflink, c)
		}
	}
}

func TestReflinkOnTmpfs(t *testing.T) {
	c := check(t, ProbeWith(Options{DiskDir: mounttest.Tmpfs(t, "1m")}), "disk.reflink")
	if c.Available {
		t.Errorf("tmpfs reported as able to share blocks: %+v", c)
	}
}

// TestProbeWritesNothing checks that a probe leaves the directory it looks
// at as it was, and that the report names every check.
func TestProbeWritesNothing(t *testing.T) {
	dir := t.TempDir()
	r := ProbeWith(Options{DiskDir: dir})
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("the probe left %d entries in %s: %v", len(entries), dir, err)
	}
	for _, name := range []string{"network.native", "network.command", "network.path", "netns", "qemu", "kvm", "qmp", "firecracker", "disk.reflink", "disk.zstd"} {
		check(t, r, name)
	}
	if r.Version != Version || r.GoVersion == "" || r.NetworkPath.Reason == "" {
		t.Errorf("report header %+v", r)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}
