package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/qmp"
)

const (
	snapshotTag = "e2e-snapshot"
	// hotplugMAC is the MAC address of the hot-plugged NIC, which is how
	// the test finds it among the guest's devices.
	hotplugMAC = "52:54:00:e2:e0:12"
	// hotplugFD names the hot-plugged TAP's descriptor inside QEMU.
	hotplugFD = "hotplug-tap"
)

// TestSandboxLifecycle runs a sandbox's life with smolvm-core doing every
// host-side step: TAPs for the VMM's user, QEMU driven over QMP (stop and
// cont, snapshots, a hot-plugged NIC), and a teardown that leaves nothing.
func TestSandboxLifecycle(t *testing.T) {
	netnstest.RequireRoot(t)
	qemuPath := netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	netnstest.RequireCommand(t, "qemu-img", "qemu-utils")
	img := buildGuest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := newSandbox(t)

	s.run("prepare tap0 for the vmm's user", func() error { return s.prepareTAP(ctx, tapName, hostAddr, guestAddr) })
	s.run("add nat masquerade for the guest's egress", func() error { return s.setupNAT(ctx) })
	s.run("forward tcp port 18080 of the host address and of 127.0.0.1 to the guest's port 8080", func() error { return s.addForward(ctx) })
	s.run("boot the guest with tap0, a qcow2 disk and a qmp socket", func() error {
		line, err := s.boot(ctx, qemuPath, img)
		if err == nil && !strings.HasSuffix(line, " disks=vda") {
			err = fmt.Errorf("the ready line %q does not list the disk vda", line)
		}
		return err
	})
	s.run("check tap0 has a carrier", func() error { return s.waitCarrier(ctx, tapName, true) })
	s.run("ping the guest", func() error { return s.checkPing(guestAddr) })
	s.run("fetch the guest's page", func() error { return s.checkPage(ctx, guestAddr) })
	s.run("fetch the guest's page through the port forward on the host address", func() error {
		return s.checkForward(ctx, hostAddr.Addr())
	})
	s.run("fetch the guest's page through the port forward on 127.0.0.1", func() error {
		return s.checkForward(ctx, netip.MustParseAddr("127.0.0.1"))
	})

	s.run("qmp query-kvm matches the accelerator", func() error { return s.checkAccel(ctx) })
	s.run("qmp query-status is running", func() error { return s.checkStatus(ctx, "running") })
	s.run("qmp stop", func() error { return s.client.Stop(ctx) })
	s.run("qmp query-status is paused", func() error { return s.checkStatus(ctx, "paused") })
	s.run("check the paused guest does not answer", func() error { return s.checkNoAnswer(ctx) })
	s.run("qmp cont", func() error { return s.client.Cont(ctx) })
	s.run("qmp query-status is running again", func() error { return s.checkStatus(ctx, "running") })
	s.run("fetch the guest's page after cont", func() error { return s.checkPage(ctx, guestAddr) })

	saved := "saved-" + s.token
	s.run("set the guest's value before the snapshot", func() error { return s.setValue(ctx, saved) })
	s.run("qmp snapshot-save", func() error { return s.saveSnapshot(ctx) })
	s.run("change the guest's value after the snapshot", func() error { return s.setValue(ctx, "changed") })
	s.run("qmp snapshot-load", func() error { return s.loadSnapshot(ctx) })
	s.run("check the guest's value came back", func() error { return s.checkValue(ctx, saved) })
	s.run("fetch the guest's page after snapshot-load", func() error { return s.checkPage(ctx, guestAddr) })
	s.run("qmp snapshot-delete and wait for its job", func() error { return s.deleteSnapshot(ctx) })

	s.run("prepare tap1 for the hot-plugged nic", func() error {
		return s.prepareTAP(ctx, hotplugTAP, hotplugHostAddr, hotplugGuestAddr)
	})
	var nic string
	s.run("hot-plug a nic on tap1 through getfd, netdev_add and device_add", func() error {
		var err error
		nic, err = s.hotplugNIC(ctx)
		return err
	})
	s.run("bring the hot-plugged nic up in the guest", func() error { return s.bringUp(ctx, nic) })
	s.run("check tap1 has a carrier", func() error { return s.waitCarrier(ctx, hotplugTAP, true) })
	s.run("ping the guest through tap1", func() error { return s.checkPing(hotplugGuestAddr) })
	s.run("fetch the guest's page through tap1", func() error { return s.checkPage(ctx, hotplugGuestAddr) })

	s.run("check a collection finds both taps held", func() error {
		return s.collectTAPs(ctx, nil, []string{tapName, hotplugTAP})
	})
	s.run("qmp quit and wait for qemu to exit", func() error {
		if err := s.client.Quit(ctx); err != nil {
			return err
		}
		return s.vm.waitExit(exitTimeout)
	})
	s.run("check the qemu process is gone", s.checkQEMUGone)
	s.run("check both taps lost their carrier", func() error {
		if err := s.waitCarrier(ctx, tapName, false); err != nil {
			return err
		}
		return s.waitCarrier(ctx, hotplugTAP, false)
	})
	s.run("check a collection finds both taps unheld", func() error {
		return s.collectTAPs(ctx, []string{tapName, hotplugTAP}, nil)
	})
	s.run("delete the sandbox's firewall entries and check none is left", func() error { return s.removeFirewall(ctx) })
	s.run("delete both taps in one batch", func() error { return s.deleteTAPs(ctx, tapName, hotplugTAP) })
	s.run("delete the netns and the working directory", s.removeNetnsAndDir)
}

// checkAccel checks that QEMU uses KVM exactly when the test requested it.
func (s *sandbox) checkAccel(ctx context.Context) error {
	kvm, err := s.client.QueryKVM(ctx)
	if err != nil {
		return err
	}
	if kvm.Enabled != (s.vm.accel == "kvm") {
		return fmt.Errorf("query-kvm reports enabled=%v with accel=%s", kvm.Enabled, s.vm.accel)
	}
	return nil
}

func (s *sandbox) checkStatus(ctx context.Context, want string) error {
	status, err := s.client.QueryStatus(ctx)
	if err != nil {
		return err
	}
	if status.Status != want || status.Running != (want == "running") {
		return fmt.Errorf("query-status = %q (running=%v), want %q", status.Status, status.Running, want)
	}
	return nil
}

// checkNoAnswer checks that a request to the paused guest times out,
// rather than failing in another way that would show a fault in the test
// setup instead of a stopped guest.
func (s *sandbox) checkNoAnswer(ctx context.Context) error {
	url := guestURL(guestAddr, "/")
	got, err := guest.Fetch(ctx, guest.HTTPClient(s.netns, pausedFetchTimeout), url)
	switch {
	case err == nil:
		return fmt.Errorf("get %s from the paused guest = %q, want a timeout", url, got)
	case !isTimeout(err):
		return fmt.Errorf("get %s from the paused guest: %w, want a timeout", url, err)
	}
	return nil
}

// setValue replaces the value that the guest keeps in its RAM.
func (s *sandbox) setValue(ctx context.Context, value string) error {
	u := guestURL(guestAddr, "/cgi-bin/value?"+url.Values{"set": {value}}.Encode())
	got, err := guest.Fetch(ctx, s.http, u)
	if err != nil {
		return err
	}
	if got != value {
		return fmt.Errorf("get %s = %q, want %q", u, got, value)
	}
	return nil
}

func (s *sandbox) checkValue(ctx context.Context, want string) error {
	u := guestURL(guestAddr, "/cgi-bin/value")
	got, err := guest.Fetch(ctx, s.http, u)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("get %s = %q, want %q", u, got, want)
	}
	return nil
}

// snapshotArgs saves the VM state in the guest's qcow2 disk, along with an
// internal snapshot of that disk.
var snapshotArgs = qmp.SnapshotArgs{Tag: snapshotTag, VMState: diskNode, Devices: []string{diskNode}}

// saveSnapshot saves a snapshot with the job waiter of qmp.SnapshotSave
// and checks the job's result, the snapshot in the image and the run
// state afterwards.
func (s *sandbox) saveSnapshot(ctx context.Context) error {
	job, err := s.client.SnapshotSave(ctx, snapshotArgs)
	if err != nil {
		return err
	}
	if err := checkJob(job, "snapshot-save"); err != nil {
		return err
	}
	snap, err := s.findSnapshot(ctx)
	switch {
	case err != nil:
		return err
	case snap == nil:
		return fmt.Errorf("node %s lists no snapshot %q after snapshot-save", diskNode, snapshotTag)
	case snap.VMStateSize == 0:
		return fmt.Errorf("snapshot %q on node %s has no VM state", snapshotTag, diskNode)
	}
	return s.checkStatus(ctx, "running")
}

func (s *sandbox) loadSnapshot(ctx context.Context) error {
	job, err := s.client.SnapshotLoad(ctx, snapshotArgs)
	if err != nil {
		return err
	}
	if err := checkJob(job, "snapshot-load"); err != nil {
		return err
	}
	return s.checkStatus(ctx, "running")
}

// deleteSnapshot starts snapshot-delete with Execute and waits for its job
// with WaitJob, as a runtime does when it starts a job in one call and
// collects it in another.
func (s *sandbox) deleteSnapshot(ctx context.Context) error {
	id := "e2e-delete-" + s.token
	args := map[string]any{"job-id": id, "tag": snapshotTag, "devices": snapshotArgs.Devices}
	if _, err := s.client.Execute(ctx, "snapshot-delete", args); err != nil {
		return err
	}
	job, err := s.client.WaitJob(ctx, id)
	if err != nil {
		return err
	}
	if err := checkJob(job, "snapshot-delete"); err != nil {
		return err
	}
	snap, err := s.findSnapshot(ctx)
	if err != nil {
		return err
	}
	if snap != nil {
		return fmt.Errorf("node %s still lists snapshot %q after snapshot-delete", diskNode, snapshotTag)
	}
	return nil
}

// checkJob checks a job that a waiter returned: it has the expected type
// and concluded without an error.
func checkJob(job qmp.JobInfo, wantType string) error {
	if job.Type != wantType || job.Status != qmp.JobConcluded || job.Error != "" {
		return fmt.Errorf("job %s is type %q, status %q, error %q; want type %q, status %q, no error",
			job.ID, job.Type, job.Status, job.Error, wantType, qmp.JobConcluded)
	}
	return nil
}

// findSnapshot returns the snapshot snapshotTag of the guest's disk, or nil
// when the image has none of that name.
func (s *sandbox) findSnapshot(ctx context.Context) (*qmp.SnapshotInfo, error) {
	nodes, err := s.client.QueryNamedBlockNodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, node := range nodes {
		if node.NodeName != diskNode {
			continue
		}
		for i, snap := range node.Image.Snapshots {
			if snap.Name == snapshotTag {
				return &node.Image.Snapshots[i], nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("query-named-block-nodes lists no node %s", diskNode)
}

// hotplugNIC opens tap1 as a VMM would and hands the descriptor to QEMU
// with getfd (SCM_RIGHTS). It adds a tap netdev on it and a virtio-net-pci
// device in the PCIe root port. Then it waits until the guest reports a
// network device with the NIC's MAC address, and returns the device's
// name in the guest.
func (s *sandbox) hotplugNIC(ctx context.Context) (string, error) {
	file, err := openTAP(s.netns, hotplugTAP)
	if err != nil {
		return "", err
	}
	err = s.client.GetFD(ctx, hotplugFD, file)
	// QEMU holds its own copy now. Closing this one leaves QEMU the only
	// holder, as the carrier and collection checks expect.
	file.Close()
	if err != nil {
		return "", err
	}

	netdev := map[string]any{"type": "tap", "id": "hotnet0", "fd": hotplugFD}
	if _, err := s.client.Execute(ctx, "netdev_add", netdev); err != nil {
		return "", err
	}
	device := map[string]any{"driver": "virtio-net-pci", "id": "hotnic0", "netdev": "hotnet0", "mac": hotplugMAC, "bus": hotplugPort}
	if _, err := s.client.Execute(ctx, "device_add", device); err != nil {
		return "", err
	}

	mac := " mac=" + hotplugMAC + " "
	line, err := s.vm.waitConsole(ctx, consoleTimeout, func(line string) bool {
		return strings.Contains(line, guest.LinkMarker+" ") && strings.Contains(line, mac)
	})
	if err != nil {
		return "", fmt.Errorf("wait for the guest to report a device with mac %s: %w", hotplugMAC, err)
	}
	fields := strings.Fields(line[strings.Index(line, guest.LinkMarker):])
	if len(fields) < 2 {
		return "", fmt.Errorf("invalid link line %q on the guest console", line)
	}
	s.t.Logf("the guest reports the hot-plugged nic: %s", line)
	return fields[1], nil
}

// bringUp has the guest add the hot-plugged NIC's address and set it up,
// then waits until the guest reports the device's state as up.
func (s *sandbox) bringUp(ctx context.Context, nic string) error {
	query := url.Values{
		"dev":    {nic},
		"ip":     {hotplugGuestAddr.Addr().String()},
		"prefix": {fmt.Sprint(hotplugGuestAddr.Bits())},
	}
	if _, err := guest.Fetch(ctx, s.http, guestURL(guestAddr, "/cgi-bin/ifup?"+query.Encode())); err != nil {
		return err
	}
	want := guest.LinkMarker + " " + nic + " mac=" + hotplugMAC + " state=up"
	if _, err := s.vm.waitConsole(ctx, consoleTimeout, func(line string) bool { return strings.Contains(line, want) }); err != nil {
		return fmt.Errorf("wait for %q on the guest console: %w", want, err)
	}
	return nil
}
