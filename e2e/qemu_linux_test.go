package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// Console lines printed by the guest's /init (see e2e/guest/init).
const (
	readyMarker    = "SMOLVM-E2E-READY"
	failMarker     = "SMOLVM-E2E-FAIL"
	poweroffMarker = "SMOLVM-E2E-POWEROFF"
)

// vmConfig describes one guest to boot.
type vmConfig struct {
	qemu  string // path of qemu-system-x86_64
	guest guestImage
	netns string // the namespace QEMU runs in
	tap   string // a TAP in netns for the guest's eth0
	// address and gateway configure the guest's eth0, and port is where
	// its HTTP server listens.
	address netip.Prefix
	gateway netip.Addr
	port    int
	// token is served in the guest's page and printed in its ready line,
	// so the test can tell that a reply comes from the guest of this boot.
	token string
}

// vm is a QEMU process started by a test. Its serial console log, QEMU's
// own output and the QMP socket live in a temporary directory of the test.
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

// startVM starts QEMU inside cfg.netns and registers a cleanup that kills
// it if it still runs when the test ends.
func startVM(t *testing.T, cfg vmConfig) *vm {
	t.Helper()
	dir := t.TempDir()
	v := &vm{
		t:          t,
		accel:      chooseAccel(t),
		token:      cfg.token,
		serialPath: filepath.Join(dir, "serial.log"),
		qemuLog:    filepath.Join(dir, "qemu.log"),
		qmpSocket:  filepath.Join(dir, "qmp.sock"),
		exited:     make(chan struct{}),
	}

	args, err := v.qemuArgs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(v.qemuLog)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(cfg.qemu, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// If the test binary dies (a panic, or go test's -timeout), the kernel
	// kills QEMU too, so no VM outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	// A process started from a thread inside the namespace is born in it,
	// so QEMU opens the TAP of that namespace.
	if err := nsutil.Do(cfg.netns, cmd.Start); err != nil {
		t.Fatalf("start qemu in netns %s: %v", cfg.netns, err)
	}
	v.cmd = cmd
	v.started = time.Now()
	go func() {
		v.waitErr = cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(v.kill)
	t.Logf("started qemu (pid %d, accel %s): %s", cmd.Process.Pid, v.accel, strings.Join(args, " "))
	return v
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

func (v *vm) qemuArgs(cfg vmConfig) ([]string, error) {
	cmdline := []string{
		"console=ttyS0",
		"quiet",
		// Reboot at once on a panic. With -no-reboot QEMU then exits, so a
		// broken guest ends the test early instead of at the boot timeout.
		"panic=-1",
		"smolvm.ip=" + cfg.address.String(),
		"smolvm.gw=" + cfg.gateway.String(),
		"smolvm.port=" + strconv.Itoa(cfg.port),
		"smolvm.token=" + cfg.token,
	}
	cpu := "host"
	if v.accel == "tcg" {
		cpu = "max"
		// microvm has no HPET or ACPI PM timer, so the kernel measures
		// the TSC against the PIT alone. Under TCG that measurement can
		// fail when the emulation runs slowly, such as on a loaded host,
		// and the boot then stalls. Giving the rate skips the
		// measurement. Under TCG the guest's TSC ticks at the host's rate.
		khz, err := hostTSCKHz()
		if err != nil {
			return nil, err
		}
		cmdline = append(cmdline, "tsc_early_khz="+strconv.Itoa(khz))
	}
	return []string{
		"-machine", "microvm,accel=" + v.accel,
		"-cpu", cpu,
		"-m", "128M",
		"-smp", "1",
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-monitor", "none",
		"-no-reboot",
		"-kernel", cfg.guest.kernel,
		"-initrd", cfg.guest.initramfs,
		"-append", strings.Join(cmdline, " "),
		"-serial", "file:" + v.serialPath,
		"-netdev", "tap,id=net0,ifname=" + cfg.tap + ",script=no,downscript=no",
		"-device", "virtio-net-device,netdev=net0,mac=52:54:00:e2:e0:02",
		"-qmp", "unix:" + v.qmpSocket + ",server=on,wait=off",
	}, nil
}

// hostTSCKHz estimates the host's TSC rate in kHz from the "cpu MHz" line
// of /proc/cpuinfo.
//
// NOTE: "cpu MHz" is the current clock, which equals the TSC rate on
// virtual machines and on CPUs without frequency scaling but may differ
// elsewhere. A wrong rate skews the guest's clock; the boot still
// succeeds.
func hostTSCKHz() (int, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0, fmt.Errorf("read the host TSC rate for tsc_early_khz: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || mhz <= 0 {
			return 0, fmt.Errorf("read the host TSC rate for tsc_early_khz: invalid cpu MHz line %q in /proc/cpuinfo", line)
		}
		return int(mhz * 1000), nil
	}
	return 0, errors.New("read the host TSC rate for tsc_early_khz: /proc/cpuinfo has no cpu MHz line")
}

// waitReady waits until the guest prints its ready line and returns the
// time since QEMU started. It fails the test at once when the guest reports a
// failed setup or QEMU exits, and after timeout otherwise.
func (v *vm) waitReady(ctx context.Context, timeout time.Duration) time.Duration {
	v.t.Helper()
	deadline := time.Now().Add(timeout)
	want := readyMarker + " token=" + v.token
	for {
		serial, _ := os.ReadFile(v.serialPath)
		switch {
		case bytes.Contains(serial, []byte(want)):
			return time.Since(v.started)
		case bytes.Contains(serial, []byte(failMarker)):
			v.t.Fatalf("the guest reported a failed setup\n%s", v.logs())
		case time.Now().After(deadline):
			v.t.Fatalf("no %q on the guest console after %v\n%s", want, timeout, v.logs())
		}
		select {
		case <-v.exited:
			v.t.Fatalf("qemu exited (%v) before the guest was ready\n%s", v.waitErr, v.logs())
		case <-ctx.Done():
			v.t.Fatalf("wait for the guest: %v\n%s", ctx.Err(), v.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitExit waits up to timeout for QEMU to exit and returns its exit
// status.
func (v *vm) waitExit(timeout time.Duration) error {
	v.t.Helper()
	select {
	case <-v.exited:
		return v.waitErr
	case <-time.After(timeout):
		v.t.Fatalf("qemu still runs %v later\n%s", timeout, v.logs())
		return nil
	}
}

// serial returns the guest's console output so far.
func (v *vm) serial() string {
	b, _ := os.ReadFile(v.serialPath)
	return string(b)
}

// logs returns the end of the guest console and of QEMU's own output for
// failure messages, because both files go away with the test's temporary
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
