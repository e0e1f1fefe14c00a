package qmp_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/qmp"
)

// qemuVM is a QEMU process started by a test, with a QMP socket and a
// qcow2 disk attached as node "disk0".
type qemuVM struct {
	cmd    *exec.Cmd
	dir    string
	socket string
	// extraSocket is a second QMP monitor, for raw-socket comparisons.
	extraSocket string
	stderr      *bytes.Buffer
}

// requireQEMU returns the path of qemu-system-x86_64 and qemu-img. It
// skips the test when they are missing, but fails it when CI is set, so
// CI cannot pass by skipping.
func requireQEMU(t testing.TB) (qemu, img string) {
	t.Helper()
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err == nil {
		img, err = exec.LookPath("qemu-img")
	}
	if err != nil {
		msg := "real QEMU test needs qemu-system-x86_64 and qemu-img (Debian: apt-get install qemu-system-x86 qemu-utils): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return qemu, img
}

// createImage creates a qcow2 image of the given size, such as "64M".
func createImage(t testing.TB, img, path, size string) {
	t.Helper()
	out, err := exec.Command(img, "create", "-f", "qcow2", path, size).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img create %s: %v: %s", path, err, out)
	}
}

// startQEMU starts QEMU with no machine, TCG and a qcow2 disk, and kills
// it in t.Cleanup.
func startQEMU(t testing.TB) *qemuVM {
	t.Helper()
	return startQEMUMachine(t, "none")
}

// startQEMUMachine is startQEMU with the given -machine type.
func startQEMUMachine(t testing.TB, machine string) *qemuVM {
	t.Helper()
	qemu, img := requireQEMU(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.qcow2")
	createImage(t, img, disk, "64M")

	vm := &qemuVM{
		dir:         dir,
		socket:      filepath.Join(dir, "qmp.sock"),
		extraSocket: filepath.Join(dir, "qmp2.sock"),
		stderr:      new(bytes.Buffer),
	}
	vm.cmd = exec.Command(qemu,
		"-machine", machine, "-accel", "tcg", "-nodefaults", "-display", "none",
		"-qmp", "unix:"+vm.socket+",server=on,wait=off",
		"-qmp", "unix:"+vm.extraSocket+",server=on,wait=off",
		"-blockdev", "driver=file,filename="+disk+",node-name=disk0-file",
		"-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
	)
	vm.cmd.Stdout = vm.stderr
	vm.cmd.Stderr = vm.stderr
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	t.Cleanup(func() {
		vm.cmd.Process.Kill()
		vm.cmd.Wait()
		if t.Failed() && vm.stderr.Len() > 0 {
			t.Logf("qemu output:\n%s", vm.stderr)
		}
	})
	return vm
}

// dial connects to the VM's main monitor and closes the client in
// t.Cleanup.
func (vm *qemuVM) dial(t testing.TB, opts *qmp.Options) *qmp.Client {
	t.Helper()
	o := qmp.Options{}
	if opts != nil {
		o = *opts
	}
	o.ProcessID = vm.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, vm.socket, &o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// qemuContext returns a context with a deadline generous enough for TCG
// on a slow machine.
func qemuContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
