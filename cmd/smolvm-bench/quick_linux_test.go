package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/bench"
	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// requireTools skips or, with CI set, fails the test unless the programs
// that the comparisons run are installed.
func requireTools(t *testing.T) {
	t.Helper()
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "ip", "iproute2")
	netnstest.RequireCommand(t, "sysctl", "procps")
	netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	netnstest.RequireCommand(t, "qemu-img", "qemu-utils")
	netnstest.RequireCommand(t, "nft", "nftables")
	netnstest.RequireCommand(t, "time", "time")
}

// buildCLI builds smolvm-core into a temp directory and returns its path.
func buildCLI(t *testing.T) string {
	t.Helper()
	// go test puts the go command of its own toolchain first in PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "smolvm-core")
	out, err := exec.Command(goTool, "build", "-o", path, "github.com/smolvm/smolvm-core/cmd/smolvm-core").CombinedOutput()
	if err != nil {
		t.Fatalf("go build smolvm-core: %v: %s", err, out)
	}
	return path
}

// checkNothingLeft fails t if a namespace or a temp directory of a run is
// left.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	left, _ := filepath.Glob("/run/netns/" + bench.NetnsPrefix + "*")
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "smolvm-bench-*"))
	if len(left)+len(dirs) > 0 {
		t.Errorf("left after the run: %v", append(left, dirs...))
	}
}

func TestQuickRunWritesEverySection(t *testing.T) {
	requireTools(t)
	cli := buildCLI(t)
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, []string{"--quick", "--cli", cli, "--out", out}, io.Discard, &stderr)
	t.Log("progress:\n" + stderr.String())
	if code != 0 {
		t.Fatalf("smolvm-bench --quick: exit %d", code)
	}
	checkNothingLeft(t)

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(data)
	for _, want := range []string{
		"Quick mode", "## Machine", "## Goals",
		"## Prepare one TAP", "## Teardown and gc of many TAPs", "## Port forwards", "## Sandbox start and stop",
		"## Default interface lookup", "## QMP", "## Disk image copy", "## Memory",
		"`smolvm-bench --quick --cli " + cli,
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(report, "section failed") {
		t.Errorf("report has a failed section:\n%s", report)
	}
}

func TestFailedRunKeepsOldReport(t *testing.T) {
	requireTools(t)
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte("old report\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "no-such-cli")
	code := run(context.Background(), []string{"--quick", "--quiet", "--only", "memory", "--cli", missing, "--out", out}, io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("run with a missing CLI: exit %d, want 1 (stderr %q)", code, stderr.String())
	}
	checkNothingLeft(t)
	if data, _ := os.ReadFile(out); string(data) != "old report\n" {
		t.Errorf("%s was replaced by a failed run", out)
	}
	failed, err := os.ReadFile(out + ".failed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(failed), "This section failed") || !strings.Contains(string(failed), missing) {
		t.Errorf("the failed report does not name the failure:\n%s", failed)
	}
}
