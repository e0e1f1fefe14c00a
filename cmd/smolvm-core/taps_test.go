package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// cli runs the command line in ns and fails t unless it exits 0.
func cli(t *testing.T, ns string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"--netns", ns}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return stdout
}

func TestTAPListDeleteAndGC(t *testing.T) {
	ns := netnstest.New(t)
	cli(t, ns, "tap", "create", "sb0", "--sandbox", "s-1")
	cli(t, ns, "tap", "prepare", "sb1", "--host-ip", "10.0.0.1/24", "--sandbox", "s-2")
	cli(t, ns, "tap", "create", "del0")
	cli(t, ns, "tap", "create", "del1")
	if out, err := exec.Command("ip", "-n", ns, "tuntap", "add", "dev", "plain0", "mode", "tap").CombinedOutput(); err != nil {
		t.Fatalf("ip tuntap add: %v: %s", err, out)
	}

	var rows []struct {
		Name    string `json:"name"`
		Marked  bool   `json:"marked"`
		Sandbox string `json:"sandbox"`
	}
	if err := json.Unmarshal([]byte(cli(t, ns, "tap", "list", "--json", "--marked")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("tap list --marked = %+v, want 4 marked TAPs", rows)
	}

	cli(t, ns, "tap", "delete", "del0", "del1", "absent0")
	if out := cli(t, ns, "tap", "list"); strings.Contains(out, "del0") || strings.Contains(out, "del1") {
		t.Fatalf("tap list after the batch delete still shows del0 or del1:\n%s", out)
	}

	dry := cli(t, ns, "gc", "--dry-run")
	if !strings.Contains(dry, "dry run: 2 taps would be removed") {
		t.Fatalf("gc --dry-run printed:\n%s", dry)
	}
	var report struct {
		Taps struct {
			Removed []string `json:"removed"`
		} `json:"taps"`
	}
	if err := json.Unmarshal([]byte(cli(t, ns, "gc", "--json", "--sandbox", "s-1")), &report); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sb0"}, report.Taps.Removed); diff != "" {
		t.Fatalf("gc --sandbox s-1 removed (-want +got):\n%s", diff)
	}
	cli(t, ns, "gc")
	out := cli(t, ns, "tap", "list")
	if strings.Contains(out, "sb1") || !strings.Contains(out, "plain0") {
		t.Fatalf("after gc, tap list shows:\n%s\nwant plain0 only", out)
	}
}

func TestTAPDeleteNeedsAName(t *testing.T) {
	code, _, stderr := runCLI(t, "tap", "delete")
	if code != 2 || !strings.Contains(stderr, "takes one or more NAME arguments") {
		t.Fatalf("tap delete: exit %d, stderr %q, want 2 and the usage message", code, stderr)
	}
}
