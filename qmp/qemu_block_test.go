package qmp_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/qmp"
)

// snapshotNames returns the internal snapshot names of a block node.
func snapshotNames(t *testing.T, c *qmp.Client, ctx context.Context, node string) []string {
	t.Helper()
	nodes, err := c.QueryNamedBlockNodes(ctx)
	if err != nil {
		t.Fatalf("QueryNamedBlockNodes: %v", err)
	}
	names := []string{}
	for _, n := range nodes {
		if n.NodeName != node {
			continue
		}
		for _, s := range n.Image.Snapshots {
			names = append(names, s.Name)
		}
		return names
	}
	t.Fatalf("block node %s not found", node)
	return nil
}

// requireNoJobs fails the test when QEMU still lists a job, which would
// mean a waiter did not dismiss it.
func requireNoJobs(t *testing.T, c *qmp.Client, ctx context.Context) {
	t.Helper()
	jobs, err := c.QueryJobs(ctx)
	if err != nil {
		t.Fatalf("QueryJobs: %v", err)
	}
	if len(jobs) != 0 {
		t.Errorf("QueryJobs = %+v, want no jobs left", jobs)
	}
}

func TestQEMUSnapshotRoundTrip(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)
	args := qmp.SnapshotArgs{Tag: "snap1", VMState: "disk0", Devices: []string{"disk0"}}

	job, err := c.SnapshotSave(ctx, args)
	if err != nil {
		t.Fatalf("SnapshotSave: %v", err)
	}
	if job.Type != "snapshot-save" || job.Status != qmp.JobConcluded || job.ID == "" {
		t.Errorf("SnapshotSave job = %+v, want a concluded snapshot-save job with an id", job)
	}
	if diff := cmp.Diff([]string{"snap1"}, snapshotNames(t, c, ctx, "disk0")); diff != "" {
		t.Errorf("snapshots after save (-want +got):\n%s", diff)
	}

	if _, err := c.SnapshotLoad(ctx, args); err != nil {
		t.Fatalf("SnapshotLoad: %v", err)
	}
	st, err := c.QueryStatus(ctx)
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if st.Status != "running" {
		t.Errorf("status after load = %q, want running", st.Status)
	}

	if _, err := c.SnapshotDelete(ctx, args); err != nil {
		t.Fatalf("SnapshotDelete: %v", err)
	}
	if diff := cmp.Diff([]string{}, snapshotNames(t, c, ctx, "disk0")); diff != "" {
		t.Errorf("snapshots after delete (-want +got):\n%s", diff)
	}
	requireNoJobs(t, c, ctx)
}

func TestQEMUSnapshotJobFails(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	tests := []struct {
		name string
		args qmp.SnapshotArgs
	}{
		{name: "missing vmstate device", args: qmp.SnapshotArgs{JobID: "bad-vmstate", Tag: "s", VMState: "nodisk", Devices: []string{"disk0"}}},
		{name: "missing device", args: qmp.SnapshotArgs{JobID: "bad-device", Tag: "s", VMState: "disk0", Devices: []string{"nodisk"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SnapshotSave(ctx, tt.args)
			if !errors.Is(err, qmp.ErrJobFailed) {
				t.Fatalf("SnapshotSave error = %v, want ErrJobFailed", err)
			}
			var jerr *qmp.JobError
			if !errors.As(err, &jerr) {
				t.Fatalf("SnapshotSave error %v is not a *qmp.JobError", err)
			}
			if jerr.ID != tt.args.JobID || jerr.Type != "snapshot-save" || jerr.Status != qmp.JobConcluded || jerr.Desc == "" {
				t.Errorf("JobError = %+v, want id %s, type snapshot-save, status concluded and QEMU's text", jerr, tt.args.JobID)
			}
			requireNoJobs(t, c, ctx)
		})
	}
}

func TestQEMUWaitJobNotFound(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	_, err := c.WaitJob(ctx, "no-such-job")
	if !errors.Is(err, qmp.ErrJobNotFound) {
		t.Errorf("WaitJob error = %v, want ErrJobNotFound", err)
	}
	if _, err := c.WaitJob(ctx, ""); err == nil {
		t.Error("WaitJob with an empty id succeeded, want an error")
	}
}

func TestQEMUInternalBlockdevSnapshots(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)

	for _, name := range []string{"a", "b"} {
		if err := c.BlockdevSnapshotInternalSync(ctx, "disk0", name); err != nil {
			t.Fatalf("BlockdevSnapshotInternalSync(%s): %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, snapshotNames(t, c, ctx, "disk0")); diff != "" {
		t.Errorf("snapshots after create (-want +got):\n%s", diff)
	}

	info, err := c.BlockdevSnapshotDeleteInternalSync(ctx, "disk0", "a")
	if err != nil {
		t.Fatalf("BlockdevSnapshotDeleteInternalSync: %v", err)
	}
	if info.Name != "a" || info.ID == "" || len(info.Raw) == 0 {
		t.Errorf("deleted snapshot = %+v, want snapshot a with an id and raw JSON", info)
	}
	if diff := cmp.Diff([]string{"b"}, snapshotNames(t, c, ctx, "disk0")); diff != "" {
		t.Errorf("snapshots after delete (-want +got):\n%s", diff)
	}

	var qerr *qmp.Error
	if err := c.BlockdevSnapshotInternalSync(ctx, "disk0", "b"); !errors.As(err, &qerr) {
		t.Errorf("duplicate snapshot name: error %v, want *qmp.Error", err)
	}
}

func TestQEMUBlockdevAddBackupDel(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)
	_, img := requireQEMU(t)
	target := filepath.Join(vm.dir, "backup.qcow2")
	createImage(t, img, target, "64M")

	if err := c.BlockdevAddQcow2(ctx, qmp.Qcow2Node{NodeName: "backup0", Filename: target}); err != nil {
		t.Fatalf("BlockdevAddQcow2: %v", err)
	}
	job, err := c.BlockdevBackup(ctx, qmp.BackupArgs{Device: "disk0", Target: "backup0", Speed: 1 << 30})
	if err != nil {
		t.Fatalf("BlockdevBackup: %v", err)
	}
	if job.Type != "backup" || job.Status != qmp.JobConcluded {
		t.Errorf("backup job = %+v, want a concluded backup job", job)
	}
	requireNoJobs(t, c, ctx)

	blockJobs, err := c.QueryBlockJobs(ctx)
	if err != nil {
		t.Fatalf("QueryBlockJobs: %v", err)
	}
	if len(blockJobs) != 0 {
		t.Errorf("QueryBlockJobs = %+v, want none after the backup", blockJobs)
	}

	if err := c.BlockdevDel(ctx, "backup0"); err != nil {
		t.Fatalf("BlockdevDel: %v", err)
	}
	nodes, err := c.QueryNamedBlockNodes(ctx)
	if err != nil {
		t.Fatalf("QueryNamedBlockNodes: %v", err)
	}
	for _, n := range nodes {
		if n.NodeName == "backup0" || n.NodeName == "backup0-file" {
			t.Errorf("node %s still present after BlockdevDel", n.NodeName)
		}
	}

	if err := c.BlockdevAddQcow2(ctx, qmp.Qcow2Node{NodeName: "x"}); err == nil {
		t.Error("BlockdevAddQcow2 without a file name succeeded, want an error")
	}
}

func TestQEMUJobCancel(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)
	addSlowTarget(t, vm, c, ctx)

	// At 1 KiB/s the 64 MiB copy would run for hours, so the job is still
	// running when it is cancelled.
	args := map[string]any{"job-id": "slow", "device": "disk0", "target": "slow0", "sync": "full", "speed": 1024, "auto-dismiss": false}
	if _, err := c.Execute(ctx, "blockdev-backup", args); err != nil {
		t.Fatalf("blockdev-backup: %v", err)
	}
	blockJobs, err := c.QueryBlockJobs(ctx)
	if err != nil {
		t.Fatalf("QueryBlockJobs: %v", err)
	}
	if len(blockJobs) != 1 || blockJobs[0].Device != "slow" || blockJobs[0].Speed != 1024 || blockJobs[0].Type != "backup" {
		t.Errorf("QueryBlockJobs = %+v, want the slow backup job at 1024 bytes/s", blockJobs)
	}

	if err := c.JobCancel(ctx, "slow"); err != nil {
		t.Fatalf("JobCancel: %v", err)
	}
	// QEMU 7.2 concludes a cancelled job with the error "Operation
	// canceled".
	_, err = c.WaitJob(ctx, "slow")
	var jerr *qmp.JobError
	if !errors.Is(err, qmp.ErrJobFailed) || !errors.As(err, &jerr) {
		t.Fatalf("WaitJob after cancel: error %v, want a *qmp.JobError matching ErrJobFailed", err)
	}
	if jerr.ID != "slow" || jerr.Type != "backup" || jerr.Desc == "" {
		t.Errorf("JobError = %+v, want job slow of type backup with QEMU's text", jerr)
	}
	requireNoJobs(t, c, ctx)

	if err := c.BlockdevDel(ctx, "slow0"); err != nil {
		t.Errorf("BlockdevDel after the cancelled job: %v", err)
	}
}

// TestQEMUKilledMidJob kills QEMU while a job runs and a waiter follows it:
// the waiter must return an error naming the lost connection, not
// hang, and the client must leave no goroutine behind.
func TestQEMUKilledMidJob(t *testing.T) {
	vm := startQEMU(t)
	c := vm.dial(t, nil)
	ctx := qemuContext(t)
	addSlowTarget(t, vm, c, ctx)
	goroutines := runtime.NumGoroutine()

	// At 1 KiB/s the copy would run for hours.
	args := map[string]any{"job-id": "slow", "device": "disk0", "target": "slow0", "sync": "full", "speed": 1024}
	if _, err := c.Execute(ctx, "blockdev-backup", args); err != nil {
		t.Fatalf("blockdev-backup: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.WaitJob(ctx, "slow")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := vm.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-done:
		if !errors.Is(err, qmp.ErrDisconnected) {
			t.Fatalf("WaitJob after QEMU was killed = %v, want an error matching ErrDisconnected", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitJob did not return within 10 s of QEMU being killed")
	}
	c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before the job, %d after QEMU died and the client closed", goroutines, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addSlowTarget adds a 64 MiB qcow2 node named slow0, the target of the
// rate-limited backup jobs that these tests start.
func addSlowTarget(t *testing.T, vm *qemuVM, c *qmp.Client, ctx context.Context) {
	t.Helper()
	_, img := requireQEMU(t)
	target := filepath.Join(vm.dir, "slow.qcow2")
	createImage(t, img, target, "64M")
	if err := c.BlockdevAddQcow2(ctx, qmp.Qcow2Node{NodeName: "slow0", Filename: target}); err != nil {
		t.Fatalf("BlockdevAddQcow2: %v", err)
	}
}
