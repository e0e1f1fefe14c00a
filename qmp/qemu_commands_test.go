package qmp_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smolvm/smolvm-core/qmp"
)

func TestQEMUQueries(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	v, err := c.QueryVersion(ctx)
	if err != nil {
		t.Fatalf("QueryVersion: %v", err)
	}
	if diff := cmp.Diff(c.Greeting().Version, v, cmpopts.IgnoreFields(qmp.Version{}, "Raw")); diff != "" {
		t.Errorf("QueryVersion differs from greeting (-greeting +query):\n%s", diff)
	}
	if v.Major < 7 {
		t.Errorf("QEMU version %s, want at least 7", v)
	}

	st, err := c.QueryStatus(ctx)
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if !st.Running || st.Status != "running" {
		t.Errorf("QueryStatus = %+v, want running", st)
	}

	cmds, err := c.QueryCommands(ctx)
	if err != nil {
		t.Fatalf("QueryCommands: %v", err)
	}
	for _, name := range []string{"snapshot-save", "getfd", "blockdev-backup", "query-status"} {
		if !cmds.Has(name) {
			t.Errorf("QueryCommands lacks %s", name)
		}
	}

	kvm, err := c.QueryKVM(ctx)
	if err != nil {
		t.Fatalf("QueryKVM: %v", err)
	}
	if kvm.Enabled {
		t.Errorf("QueryKVM = %+v, want KVM disabled under TCG", kvm)
	}
}

func TestQEMUStopCont(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	tests := []struct {
		command, event, status string
	}{
		{command: "stop", event: "STOP", status: "paused"},
		{command: "cont", event: "RESUME", status: "running"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			_, ev, err := c.ExecuteAndWait(ctx, tt.command, nil, qmp.EventFilter{Names: []string{tt.event}})
			if err != nil {
				t.Fatalf("ExecuteAndWait(%s): %v", tt.command, err)
			}
			if ev.Name != tt.event || ev.Time.IsZero() {
				t.Errorf("event = %+v, want %s with a timestamp", ev, tt.event)
			}
			st, err := c.QueryStatus(ctx)
			if err != nil {
				t.Fatalf("QueryStatus: %v", err)
			}
			if st.Status != tt.status {
				t.Errorf("status = %q, want %q", st.Status, tt.status)
			}
		})
	}
}

func TestQEMULargeReply(t *testing.T) {
	vm := startQEMU(t)
	ctx := qemuContext(t)

	c := vm.dial(t, nil)
	schema, err := c.Execute(ctx, "query-qmp-schema", nil)
	if err != nil {
		t.Fatalf("query-qmp-schema: %v", err)
	}
	if len(schema) < 64<<10 {
		t.Fatalf("query-qmp-schema returned %d bytes, want a reply over 64 KiB for this test", len(schema))
	}
	c.Close()

	small := vm.dial(t, &qmp.Options{MaxLineSize: 64 << 10})
	_, err = small.Execute(ctx, "query-qmp-schema", nil)
	if !errors.Is(err, qmp.ErrMessageTooLarge) {
		t.Fatalf("query-qmp-schema with a 64 KiB limit: error %v, want ErrMessageTooLarge", err)
	}
	if _, err := small.QueryStatus(ctx); err != nil {
		t.Errorf("QueryStatus after an over-long reply: %v", err)
	}
	if got := small.Stats().OversizeLines; got != 1 {
		t.Errorf("Stats().OversizeLines = %d, want 1", got)
	}
}

func TestQEMUConcurrentCallers(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	const callers, calls = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, callers*calls)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				var err error
				if i%2 == 0 {
					_, err = c.QueryStatus(ctx)
				} else {
					_, err = c.QueryVersion(ctx)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}

	st := c.Stats()
	if want := uint64(callers*calls + 1); st.Replies != want {
		t.Errorf("Stats().Replies = %d, want %d", st.Replies, want)
	}
	if st.UnknownReplies+st.LateReplies+st.InvalidLines != 0 {
		t.Errorf("Stats() = %+v, want no dropped replies or invalid lines", st)
	}
}

func TestQEMUHumanMonitorCommand(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	out, err := c.HumanMonitorCommand(ctx, "info version", qmp.HMPErrorPrefixed)
	if err != nil {
		t.Fatalf("info version: %v", err)
	}
	if !strings.HasPrefix(out, "7.") {
		t.Errorf("info version output = %q, want it to start with 7.", out)
	}

	notFound := func(out string) bool { return strings.Contains(out, "not found") }
	tests := []struct {
		name        string
		commandLine string
		isError     func(string) bool
	}{
		{name: "unknown command", commandLine: "no-such-hmp-command", isError: qmp.HMPErrorPrefixed},
		{name: "qmp-backed command error", commandLine: "device_del no-such-device", isError: qmp.HMPErrorPrefixed},
		{name: "custom error check", commandLine: "drive_del no-such-drive", isError: notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.HumanMonitorCommand(ctx, tt.commandLine, nil)
			if err != nil {
				t.Fatalf("without detection: %v", err)
			}
			if out == "" {
				t.Fatal("without detection: empty output, want an error text")
			}

			_, err = c.HumanMonitorCommand(ctx, tt.commandLine, tt.isError)
			var qerr *qmp.Error
			if !errors.As(err, &qerr) || qerr.Class != "HMPError" {
				t.Errorf("with detection: error %v, want *qmp.Error of class HMPError (output %q)", err, out)
			}
		})
	}
}

func TestQEMUGetFD(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	pipeLink, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(w.Fd())))
	if err != nil {
		t.Fatalf("read link of pipe: %v", err)
	}

	if err := c.GetFD(ctx, "pipe0", w); err != nil {
		t.Fatalf("GetFD: %v", err)
	}
	if n := countFDs(t, vm.cmd.Process.Pid, pipeLink); n != 1 {
		t.Errorf("QEMU holds %d descriptors of %s after getfd, want 1", n, pipeLink)
	}
	if err := c.CloseFD(ctx, "pipe0"); err != nil {
		t.Fatalf("CloseFD: %v", err)
	}
	if n := countFDs(t, vm.cmd.Process.Pid, pipeLink); n != 0 {
		t.Errorf("QEMU holds %d descriptors of %s after closefd, want 0", n, pipeLink)
	}

	info, err := c.AddFD(ctx, w, qmp.AddFDOptions{Opaque: "test pipe"})
	if err != nil {
		t.Fatalf("AddFD: %v", err)
	}
	if info.FD < 0 {
		t.Errorf("AddFD = %+v, want a descriptor number", info)
	}
	if n := countFDs(t, vm.cmd.Process.Pid, pipeLink); n != 1 {
		t.Errorf("QEMU holds %d descriptors of %s after add-fd, want 1", n, pipeLink)
	}
	if err := c.RemoveFD(ctx, info.FDSetID, nil); err != nil {
		t.Fatalf("RemoveFD: %v", err)
	}

	var qerr *qmp.Error
	if err := c.GetFD(ctx, "0pipe", w); !errors.As(err, &qerr) {
		t.Errorf("GetFD with a name starting with a digit: error %v, want *qmp.Error", err)
	}
}

// countFDs counts the descriptors of process pid that point at target,
// such as "pipe:[1234]".
func countFDs(t *testing.T, pid int, target string) int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list descriptors of qemu: %v", err)
	}
	n := 0
	for _, e := range entries {
		if link, err := os.Readlink(dir + "/" + e.Name()); err == nil && link == target {
			n++
		}
	}
	return n
}

func TestQEMUQuit(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	if err := c.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	if err := vm.cmd.Wait(); err != nil {
		t.Errorf("qemu exit after quit: %v", err)
	}
	<-c.Done()
	if _, err := c.QueryStatus(ctx); !errors.Is(err, qmp.ErrDisconnected) {
		t.Errorf("QueryStatus after quit: error %v, want ErrDisconnected", err)
	}
}

func TestQEMUMonitorBusy(t *testing.T) {
	vm := startQEMU(t)
	vm.dial(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, err := qmp.Dial(ctx, vm.socket, nil)
	if err == nil {
		c.Close()
		t.Fatal("second Dial on a held monitor succeeded, want ErrMonitorBusy")
	}
	for _, target := range []error{qmp.ErrMonitorBusy, qmp.ErrTimeout, context.DeadlineExceeded} {
		if !errors.Is(err, target) {
			t.Errorf("second Dial error = %v, want it to match %v", err, target)
		}
	}
}

func TestQEMUDialAfterExit(t *testing.T) {
	vm := startQEMU(t)
	vm.dial(t, nil).Close()
	vm.cmd.Process.Kill()
	vm.cmd.Wait()

	// Without the process check Dial would retry the stale socket until
	// the dial timeout and fail with ErrTimeout instead.
	_, err := qmp.Dial(context.Background(), vm.socket, &qmp.Options{ProcessID: vm.cmd.Process.Pid, DialTimeout: 2 * time.Minute})
	if !errors.Is(err, qmp.ErrProcessExited) {
		t.Errorf("Dial after qemu exited: error %v, want ErrProcessExited", err)
	}
}

// TestQEMUHotplugNICOnPassedFD hands QEMU one end of a socket pair,
// builds a network backend on it and hot-plugs a NIC, the same steps a
// runtime takes to give QEMU a TAP device it opened. A socket replaces the
// TAP so that the test changes no host network state. The pc machine is
// used because its PCI bus accepts hot-plugged devices.
func TestQEMUHotplugNICOnPassedFD(t *testing.T) {
	vm := startQEMUMachine(t, "pc")
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "socketpair-ours")
	theirs := os.NewFile(uintptr(fds[1]), "socketpair-qemu")
	t.Cleanup(func() { ours.Close(); theirs.Close() })

	if err := c.GetFD(ctx, "net0fd", theirs); err != nil {
		t.Fatalf("GetFD: %v", err)
	}
	theirs.Close()
	if _, err := c.Execute(ctx, "netdev_add", map[string]string{"type": "socket", "id": "net0", "fd": "net0fd"}); err != nil {
		t.Fatalf("netdev_add with the passed descriptor: %v", err)
	}
	if _, err := c.Execute(ctx, "device_add", map[string]string{"driver": "virtio-net-pci", "id": "nic0", "netdev": "net0"}); err != nil {
		t.Fatalf("device_add: %v", err)
	}

	raw, err := c.Execute(ctx, "qom-get", map[string]string{"path": "/machine/peripheral/nic0", "property": "netdev"})
	if err != nil {
		t.Fatalf("qom-get netdev of nic0: %v", err)
	}
	if string(raw) != `"net0"` {
		t.Errorf("nic0 netdev = %s, want \"net0\"", raw)
	}
}

func TestQEMUSystemPowerdown(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	sub, err := c.Subscribe(qmp.EventFilter{Names: []string{"POWERDOWN"}})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := c.SystemPowerdown(ctx); err != nil {
		t.Fatalf("SystemPowerdown: %v", err)
	}
	select {
	case ev := <-sub.Events():
		if ev.Name != "POWERDOWN" {
			t.Errorf("event = %s, want POWERDOWN", ev.Name)
		}
	case <-ctx.Done():
		t.Fatal("no POWERDOWN event after system_powerdown")
	}
}

func TestQEMUMonitorBusyQueueFull(t *testing.T) {
	vm := startQEMU(t)
	vm.dial(t, nil)

	// Connections that QEMU does not accept fill its short listen queue, so
	// further connects fail with EAGAIN until the holder goes away.
	for range 4 {
		conn, err := net.Dial("unix", vm.socket)
		if err != nil {
			break
		}
		t.Cleanup(func() { conn.Close() })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c, err := qmp.Dial(ctx, vm.socket, nil)
	if err == nil {
		c.Close()
		t.Fatal("Dial on a held monitor with a full queue succeeded")
	}
	for _, target := range []error{qmp.ErrMonitorBusy, context.DeadlineExceeded} {
		if !errors.Is(err, target) {
			t.Errorf("Dial error = %v, want it to match %v", err, target)
		}
	}
	if !errors.Is(err, syscall.EAGAIN) {
		t.Logf("the listen queue did not fill up here (error %v), so the no-greeting path was tested instead", err)
	}
}

func TestQEMUDialWaitsForBusyMonitor(t *testing.T) {
	vm := startQEMU(t)
	holder := vm.dial(t, nil)
	go func() {
		time.Sleep(300 * time.Millisecond)
		holder.Close()
	}()

	c, err := qmp.Dial(qemuContext(t), vm.socket, nil)
	if err != nil {
		t.Fatalf("Dial while the holder disconnects = %v, want a session", err)
	}
	defer c.Close()
	if _, err := c.QueryStatus(qemuContext(t)); err != nil {
		t.Fatal(err)
	}
}

func TestQEMUDialNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regular-file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := qmp.Dial(qemuContext(t), path, nil)
	if err == nil || !strings.Contains(err.Error(), "is not a Unix socket") {
		t.Fatalf("Dial on a regular file = %v, want a not-a-socket error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Dial on a regular file retried for %v", time.Since(start))
	}
}

func TestQEMUSnapshotTimeoutNamesJob(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
	defer cancel()
	_, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{JobID: "left-behind", Tag: "t1", VMState: "disk0", Devices: []string{"disk0"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SnapshotSave with an expired context = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "left-behind") {
		t.Fatalf("error %q does not name the job", err)
	}

	// The job may or may not have reached QEMU; either way WaitJob ends it.
	_, err = c.WaitJob(qemuContext(t), "left-behind")
	if err != nil && !errors.Is(err, qmp.ErrJobNotFound) {
		t.Fatalf("WaitJob on the left job = %v", err)
	}
	jobs, err := c.QueryJobs(qemuContext(t))
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after WaitJob = %v, %v, want none", jobs, err)
	}
}

func TestQEMUExecuteAndWaitDefaultTimeout(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, &qmp.Options{QueryTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, _, err := c.ExecuteAndWait(context.Background(), "query-status", nil, qmp.EventFilter{Names: []string{"NEVER_SENT"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ExecuteAndWait for an event that never comes = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the wait took %v, want about the 200ms query timeout", time.Since(start))
	}
}
