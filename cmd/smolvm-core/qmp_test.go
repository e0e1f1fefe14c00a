package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// startQEMU starts a QEMU with no machine, paused, with one QMP socket per
// name in sockets and optionally a qcow2 disk with node name disk0. QEMU is
// killed when t ends.
func startQEMU(t *testing.T, disk bool, sockets ...string) []string {
	t.Helper()
	qemu := netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	dir := t.TempDir()
	args := []string{"-machine", "none", "-accel", "tcg", "-nodefaults", "-display", "none", "-S"}
	var paths []string
	for _, name := range sockets {
		p := filepath.Join(dir, name+".sock")
		paths = append(paths, p)
		args = append(args, "-qmp", "unix:"+p+",server=on,wait=off")
	}
	if disk {
		img := netnstest.RequireCommand(t, "qemu-img", "qemu-utils")
		file := filepath.Join(dir, "disk.qcow2")
		if out, err := exec.Command(img, "create", "-q", "-f", "qcow2", file, "16M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img create: %v: %s", err, out)
		}
		args = append(args,
			"-blockdev", "driver=file,filename="+file+",node-name=disk0-file",
			"-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0")
	}
	cmd := exec.Command(qemu, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return paths
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestQMPEventsStream(t *testing.T) {
	socks := startQEMU(t, false, "events", "control")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"qmp", "--socket", socks[0], "events", "--name", "STOP", "--name", "RESUME"}, &out, &errOut)
	}()

	// The subscription starts once the events client has connected, which
	// the test cannot see, so it pauses and resumes until a STOP shows.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), `"RESUME"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no STOP and RESUME events within 20 s; output %q, errors %q", out.String(), errOut.String())
		}
		for _, c := range []string{"cont", "stop"} {
			if code, _, stderr := runCLI(t, "qmp", "--socket", socks[1], "exec", c); code != 0 {
				t.Fatalf("qmp exec %s: %s", c, stderr)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("qmp events exit %d: %s", code, errOut.String())
	}

	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev eventLine
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if ev.Event != "STOP" && ev.Event != "RESUME" {
			t.Errorf("event %s passed the --name filter", ev.Event)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
			t.Errorf("event time %q: %v", ev.Time, err)
		}
	}
}

func TestQMPEventsEndWithQEMU(t *testing.T) {
	socks := startQEMU(t, false, "events", "control")
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"qmp", "--socket", socks[0], "events"}, &out, &errOut)
	}()
	time.Sleep(300 * time.Millisecond)
	if code, _, stderr := runCLI(t, "qmp", "--socket", socks[1], "exec", "quit"); code != 0 {
		t.Fatalf("qmp exec quit: %s", stderr)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("qmp events exit %d after QEMU quit: %s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("qmp events still runs 20 s after QEMU quit")
	}
}

func TestQMPSnapshotCommands(t *testing.T) {
	sock := startQEMU(t, true, "qmp")[0]
	qmpCLI := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"qmp", "--socket", sock}, args...)...)
	}

	code, stdout, stderr := qmpCLI("snapshot", "save", "snap1")
	if code != 0 || !strings.Contains(stdout, "save snap1: job") || !strings.Contains(stdout, "concluded") || !strings.Contains(stdout, "[disk0]") {
		t.Fatalf("snapshot save: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, nodes, _ := qmpCLI("exec", "query-named-block-nodes"); !strings.Contains(nodes, `"snap1"`) {
		t.Fatalf("snap1 is not listed on the disk: %s", nodes)
	}
	if code, stdout, stderr := qmpCLI("snapshot", "load", "snap1", "--device", "disk0", "--vmstate", "disk0"); code != 0 {
		t.Fatalf("snapshot load: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := qmpCLI("snapshot", "load", "nosuch"); code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Fatalf("loading a missing snapshot: exit %d, stderr %q, want 1 and an error naming it", code, stderr)
	}
	if code, stdout, stderr := qmpCLI("snapshot", "delete", "snap1"); code != 0 {
		t.Fatalf("snapshot delete: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, nodes, _ := qmpCLI("exec", "query-named-block-nodes"); strings.Contains(nodes, `"snap1"`) {
		t.Fatalf("snap1 is still listed after delete: %s", nodes)
	}
}

func TestQMPSnapshotWithoutDisk(t *testing.T) {
	sock := startQEMU(t, false, "qmp")[0]
	code, _, stderr := runCLI(t, "qmp", "--socket", sock, "snapshot", "save", "s")
	if code != 1 || !strings.Contains(stderr, "no writable qcow2 block node") {
		t.Fatalf("snapshot save without a disk: exit %d, stderr %q", code, stderr)
	}
}
