package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
)

const (
	guestMAC = "52:54:00:e2:e0:02" // the guest's eth0
	diskNode = "disk0"             // the qcow2 node of the guest's disk
	// hotplugPort is the id of the PCIe root port that takes the
	// hot-plugged NIC.
	hotplugPort = "hotplug0"
)

// vmConfig describes one guest to boot.
type vmConfig struct {
	qemu  string // path of qemu-system-x86_64
	guest guest.Image
	// dir is the working directory of this VM, owned by uid. It holds the
	// disk, the logs and the QMP socket.
	dir   string
	netns string // the namespace QEMU runs in
	// tap is a descriptor attached to the TAP of the guest's eth0, which
	// QEMU gets as its descriptor 3. QEMU does not open the TAP by name,
	// because it runs without privileges and /dev/net/tun may be
	// accessible to root only (mode 0600). The test attaches instead, as
	// a privileged runtime does for a confined VMM.
	tap *os.File
	// uid and gid are the VMM's user and group, which QEMU runs as.
	uid, gid int
	// disk is a qcow2 image, attached as a virtio-blk device on the node
	// diskNode. snapshot-save keeps the VM state in it.
	disk string
	// params configure the guest's eth0 and HTTP server.
	params guest.Params
}

// vm is a QEMU process started by a test. Its serial console log, QEMU's
// own output and the QMP socket live in the VM's working directory.
type vm struct {
	t          *testing.T
	cmd        *exec.Cmd
	accel      string
	token      string
	serialPath string
	qemuLog    string
	qmpSocket  string
	started    time.Time
	exited     chan struct{} // closed once QEMU has been reaped
	waitErr    error         // QEMU's exit status; read it only after exited is closed
}

// startVM starts QEMU as the VMM's user inside cfg.netns and registers a
// cleanup that kills it if it still runs when the test ends.
func startVM(t *testing.T, cfg vmConfig) (*vm, error) {
	t.Helper()
	v := &vm{
		t:          t,
		accel:      chooseAccel(t),
		token:      cfg.params.Token,
		serialPath: filepath.Join(cfg.dir, "serial.log"),
		qemuLog:    filepath.Join(cfg.dir, "qemu.log"),
		qmpSocket:  filepath.Join(cfg.dir, "qmp.sock"),
		exited:     make(chan struct{}),
	}

	kernel, initramfs, err := copyGuest(cfg)
	if err != nil {
		return nil, err
	}
	args, err := v.qemuArgs(cfg, kernel, initramfs)
	if err != nil {
		return nil, err
	}
	log, err := os.Create(v.qemuLog)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(cfg.qemu, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{cfg.tap}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(cfg.uid), Gid: uint32(cfg.gid), Groups: kvmGroups(v.accel)},
		// If the test binary dies (a panic, or go test's -timeout), the
		// kernel kills QEMU too, so no VM outlives the test.
		Pdeathsig: syscall.SIGKILL,
	}

	// A process started from a thread inside the namespace is born in it,
	// so QEMU runs in the sandbox's namespace, as a VMM would.
	if err := nsutil.Do(cfg.netns, cmd.Start); err != nil {
		return nil, fmt.Errorf("start qemu in netns %s: %w", cfg.netns, err)
	}
	v.cmd = cmd
	v.started = time.Now()
	go func() {
		v.waitErr = cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(v.kill)
	t.Logf("started qemu (pid %d, uid %d, accel %s): %s", cmd.Process.Pid, cfg.uid, v.accel, strings.Join(args, " "))
	return v, nil
}

// copyGuest copies the kernel and the initramfs into the VM's working
// directory, because QEMU runs as the VMM's user and the guest cache may
// sit in a directory only root can read, such as /root/.cache.
func copyGuest(cfg vmConfig) (kernel, initramfs string, err error) {
	kernel = filepath.Join(cfg.dir, "vmlinuz")
	initramfs = filepath.Join(cfg.dir, "initramfs.cpio.gz")
	for src, dst := range map[string]string{cfg.guest.Kernel: kernel, cfg.guest.Initramfs: initramfs} {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", "", fmt.Errorf("copy the guest for qemu: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o444); err != nil {
			return "", "", fmt.Errorf("copy the guest for qemu: %w", err)
		}
	}
	return kernel, initramfs, nil
}

// kvmGroups returns the group of /dev/kvm when QEMU uses KVM, so QEMU may
// open it as the VMM's user, and no groups otherwise.
func kvmGroups(accel string) []uint32 {
	if accel != "kvm" {
		return nil
	}
	info, err := os.Stat("/dev/kvm")
	if err != nil {
		return nil
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return []uint32{st.Gid}
	}
	return nil
}

// chooseAccel returns the accelerator to use: SMOLVM_E2E_ACCEL when set,
// otherwise KVM only where /dev/kvm exists and the CPU advertises vmx or
// svm. A KVM without them, such as a paravirtual one inside another VM,
// runs a stock guest kernel through its instruction emulator, far slower
// than TCG.
func chooseAccel(t *testing.T) string {
	switch accel := os.Getenv("SMOLVM_E2E_ACCEL"); accel {
	case "kvm", "tcg":
		return accel
	case "":
	default:
		t.Fatalf("SMOLVM_E2E_ACCEL is %q; want kvm, tcg or unset", accel)
	}
	if _, err := os.Stat("/dev/kvm"); err == nil && capabilities.HardwareVirtualization() {
		return "kvm"
	}
	return "tcg"
}

// qemuArgs returns QEMU's arguments: microvm with the guest's eth0 and
// the qcow2 disk on virtio-mmio, and one PCIe root port for a NIC that
// the test hot-plugs later. virtio-mmio devices cannot be hot-plugged
// (QEMU 7.2 rejects device_add with "Bus 'virtio-mmio-bus.N' does not
// support hotplugging"), but a PCIe root port on microvm's pcie=on host
// bridge can take a virtio-net-pci device at run time.
func (v *vm) qemuArgs(cfg vmConfig, kernel, initramfs string) ([]string, error) {
	// Linux 6.1 asks the firmware (ACPI _OSC) for control of PCIe hotplug
	// only when it can reach extended config space. On microvm, which has
	// no MCFG table in QEMU 7.2, it learns where that space is only after
	// asking, so pciehp stays off and a hot-plugged NIC goes unseen.
	// pcie_ports=native makes Linux use native PCIe hotplug anyway.
	cmdline, err := guest.Cmdline(v.accel, cfg.params, "pcie_ports=native")
	if err != nil {
		return nil, err
	}
	cpu := "host"
	if v.accel == "tcg" {
		cpu = "max"
	}
	return []string{
		"-machine", "microvm,pcie=on,accel=" + v.accel,
		"-cpu", cpu,
		"-m", "128M",
		"-smp", "1",
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-monitor", "none",
		"-no-reboot",
		"-kernel", kernel,
		"-initrd", initramfs,
		"-append", cmdline,
		"-serial", "file:" + v.serialPath,
		"-netdev", "tap,id=net0,fd=3",
		"-device", "virtio-net-device,netdev=net0,mac=" + guestMAC,
		// -blockdev rather than -drive, so the qcow2 node has a known
		// name for snapshot-save's vmstate and devices.
		"-blockdev", "driver=file,filename=" + cfg.disk + ",node-name=" + diskNode + "-file",
		"-blockdev", "driver=qcow2,file=" + diskNode + "-file,node-name=" + diskNode,
		"-device", "virtio-blk-device,drive=" + diskNode,
		"-device", "pcie-root-port,id=" + hotplugPort + ",chassis=1",
		"-qmp", "unix:" + v.qmpSocket + ",server=on,wait=off",
	}, nil
}

// waitReady waits until the guest prints its ready line and returns that
// line and the time since QEMU started.
func (v *vm) waitReady(ctx context.Context, timeout time.Duration) (string, time.Duration, error) {
	prefix := guest.ReadyMarker + " token=" + v.token + " "
	line, err := v.waitConsole(ctx, timeout, func(line string) bool { return strings.Contains(line, prefix) })
	if err != nil {
		return "", 0, fmt.Errorf("wait for %q on the guest console: %w", prefix, err)
	}
	return line[strings.Index(line, prefix):], time.Since(v.started), nil
}

// waitConsole waits up to timeout until a line of the guest console
// matches and returns it. It fails at once when the guest reports a failed
// setup or QEMU exits. The error includes the logs.
func (v *vm) waitConsole(ctx context.Context, timeout time.Duration, match func(line string) bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	line, err := guest.WaitConsole(ctx, v.serialPath, v.exited, match)
	switch {
	case errors.Is(err, guest.ErrVMExited):
		return "", fmt.Errorf("%w (%v)\n%s", err, v.waitErr, v.logs())
	case errors.Is(err, context.DeadlineExceeded):
		return "", fmt.Errorf("no matching line after %v: %w\n%s", timeout, err, v.logs())
	case err != nil:
		return "", fmt.Errorf("%w\n%s", err, v.logs())
	}
	return line, nil
}

// waitExit waits up to timeout for QEMU to exit and returns its exit
// status.
func (v *vm) waitExit(timeout time.Duration) error {
	select {
	case <-v.exited:
		if v.waitErr != nil {
			return fmt.Errorf("qemu exited with %w, want status 0\n%s", v.waitErr, v.logs())
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("qemu still runs %v later\n%s", timeout, v.logs())
	}
}

// serial returns the guest's console output so far.
func (v *vm) serial() string {
	b, _ := os.ReadFile(v.serialPath)
	return string(b)
}

// logs returns the end of the guest console and of QEMU's own output for
// failure messages, because both files go away with the VM's working
// directory.
func (v *vm) logs() string {
	return "--- guest console (end) ---\n" + tail(v.serialPath) + "\n--- qemu output (end) ---\n" + tail(v.qemuLog)
}

func tail(path string) string {
	const maxBytes = 3000
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	return string(b)
}

// kill ends QEMU if it still runs and reaps it.
func (v *vm) kill() {
	select {
	case <-v.exited:
		return
	default:
	}
	if err := v.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		v.t.Errorf("kill qemu pid %d: %v", v.cmd.Process.Pid, err)
	}
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		v.t.Errorf("qemu pid %d still runs 10 s after SIGKILL", v.cmd.Process.Pid)
	}
}
