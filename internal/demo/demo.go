// Package demo runs smolvm-core's main job end to end on real components.
// It prepares a TAP in a throwaway network namespace with the network
// package, attaches a real QEMU to it and drives QEMU with the qmp package.
// When the guest that scripts/build-guest builds is present, QEMU boots it,
// and the demo pings the guest and fetches its HTTP page from the host side
// of the namespace. Otherwise QEMU runs paused without a guest, and the
// output reports that. Then the demo cleans up and checks that nothing is left.
// It needs root, /dev/net/tun and qemu-system-x86_64.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/qmp"
)

// Addresses of the demo's point-to-point link inside its own namespace.
var (
	hostAddr  = netip.MustParsePrefix("172.16.0.1/30")
	guestAddr = netip.MustParsePrefix("172.16.0.2/32")
)

const tapName = "tap0"

// Options configures Run. The zero value picks defaults.
type Options struct {
	// QEMU is the emulator binary; empty means qemu-system-x86_64 from PATH.
	QEMU string
	// Accel is "kvm", "tcg" or "" to use KVM only where the CPU advertises
	// vmx or svm.
	Accel string
	// GuestDir is the directory of the guest built by scripts/build-guest.
	// Empty means the script's default, $SMOLVM_GUEST_DIR or
	// ~/.cache/smolvm-core/guest.
	GuestDir string
	// NoGuest runs QEMU paused without a guest even when one is built.
	NoGuest bool
}

// demo is the state of one run, kept so that cleanup can undo each step.
type demo struct {
	out     io.Writer
	opts    Options
	netns   string
	dir     string
	manager *network.Manager
	qemu    *exec.Cmd // nil once QEMU has been reaped
	pid     int
	exited  chan struct{} // closed once QEMU has been reaped
	waitErr error         // QEMU's exit status; read it only after exited is closed
	client  *qmp.Client
	// guest is the guest that QEMU boots, or nil when QEMU runs paused
	// without one. noGuestReason is why there is none.
	guest         *guest.Image
	noGuestReason string
	token         string
}

// Run carries out the demo, printing each step with its duration and
// outcome to out. It always cleans up, and returns the first failed step's
// error joined with any cleanup or leak-check error.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	d := &demo{out: out, opts: opts}
	err := d.run(ctx)
	cleanupErr := d.cleanup()
	if err != nil || cleanupErr != nil {
		return errors.Join(err, cleanupErr)
	}
	if d.guest != nil {
		fmt.Fprintln(out, "demo passed: a real guest booted on the tap and answered ping and HTTP; every step succeeded and nothing was left behind")
	} else {
		fmt.Fprintf(out, "demo passed without a guest (%s): QEMU ran paused on the tap; every step succeeded and nothing was left behind\n", d.noGuestReason)
	}
	return nil
}

// step runs fn and prints its name, duration and outcome.
func (d *demo) step(name string, fn func() (string, error)) error {
	start := time.Now()
	detail, err := fn()
	elapsed := time.Since(start)
	status := "ok"
	if err != nil {
		status = "FAILED"
	}
	line := fmt.Sprintf("%-44s %-6s %9s", name, status, elapsed.Round(10*time.Microsecond))
	if detail != "" {
		line += "  " + detail
	}
	fmt.Fprintln(d.out, line)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// namedStep is one step of the demo.
type namedStep struct {
	name string
	fn   func() (string, error)
}

func (d *demo) run(ctx context.Context) error {
	steps := []namedStep{
		{"find qemu-system-x86_64", d.findQEMU},
		{"look for the guest from scripts/build-guest", d.findGuest},
		{"create network namespace", d.createNetns},
		{"open network manager in the namespace", d.openManager},
		{"prepare tap (create, address, up, sysctl)", func() (string, error) {
			return hostAddr.String() + " on " + tapName, d.manager.PrepareTAP(ctx, tapName, network.NoOwner, hostAddr)
		}},
		{"add guest route", func() (string, error) {
			return guestAddr.String() + " dev " + tapName, d.manager.AddRoute(ctx, guestAddr, tapName)
		}},
		{"check tap has no carrier before qemu", func() (string, error) { return d.checkCarrier(ctx, false) }},
		{"start qemu on the tap", d.startQEMU},
		{"connect qmp", func() (string, error) { return d.connect(ctx) }},
	}
	if err := d.runSteps(steps); err != nil {
		return err
	}

	if d.guest != nil {
		steps = d.guestSteps(ctx)
	} else {
		steps = d.pausedSteps(ctx)
	}
	steps = append(steps,
		namedStep{"qmp quit and wait for qemu to exit", func() (string, error) { return d.quit(ctx) }},
		namedStep{"check tap lost its carrier", func() (string, error) { return d.checkCarrier(ctx, false) }},
		namedStep{"delete tap", func() (string, error) { return "", d.manager.DeleteTAP(ctx, tapName) }},
	)
	return d.runSteps(steps)
}

// pausedSteps drive a QEMU that was started paused without a guest.
func (d *demo) pausedSteps(ctx context.Context) []namedStep {
	return []namedStep{
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "prelaunch", "paused") }},
		{"check tap has carrier while qemu runs", func() (string, error) { return d.checkCarrier(ctx, true) }},
		{"qmp cont", func() (string, error) { return "", d.client.Cont(ctx) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "running") }},
		{"qmp stop", func() (string, error) { return "", d.client.Stop(ctx) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "paused") }},
		{"qmp cont", func() (string, error) { return "", d.client.Cont(ctx) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "running") }},
	}
}

func (d *demo) runSteps(steps []namedStep) error {
	for _, s := range steps {
		if err := d.step(s.name, s.fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) findQEMU() (string, error) {
	if d.opts.QEMU != "" {
		path, err := exec.LookPath(d.opts.QEMU)
		d.opts.QEMU = path
		return path, err
	}
	path, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", fmt.Errorf("%w (install it with apt-get install qemu-system-x86)", err)
	}
	d.opts.QEMU = path
	return path, nil
}

func (d *demo) createNetns() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	name := "smolvm-demo-" + hex.EncodeToString(b[:])
	if err := nsutil.Create(name); err != nil {
		return "", err
	}
	d.netns = name
	return name, nil
}

func (d *demo) openManager() (string, error) {
	m, err := network.New(network.Options{Netns: d.netns})
	if err != nil {
		return "", err
	}
	d.manager = m
	p := m.Path()
	return p.Backend.String() + " path: " + p.Reason, nil
}

func (d *demo) checkCarrier(ctx context.Context, want bool) (string, error) {
	// QEMU attaches to the TAP while it starts and the kernel drops the
	// carrier only when the last file is closed, so poll briefly.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := d.manager.TAPInfo(ctx, tapName)
		if err != nil {
			return "", err
		}
		if info.Carrier == want {
			return fmt.Sprintf("carrier=%v", info.Carrier), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("tap %s carrier is %v, want %v", tapName, info.Carrier, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accel picks the accelerator: KVM only where the CPU advertises vmx or svm,
// because a /dev/kvm without them emulates a stock guest kernel far slower
// than TCG.
func (d *demo) accel() string {
	if d.opts.Accel != "" {
		return d.opts.Accel
	}
	if _, err := os.Stat("/dev/kvm"); err == nil && capabilities.HardwareVirtualization() {
		return "kvm"
	}
	return "tcg"
}

func (d *demo) startQEMU() (string, error) {
	dir, err := os.MkdirTemp("", "smolvm-demo-")
	if err != nil {
		return "", err
	}
	d.dir = dir
	accel := d.accel()
	args := []string{
		"-machine", "microvm,accel=" + accel,
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-netdev", "tap,id=net0,ifname=" + tapName + ",script=no,downscript=no",
		"-device", "virtio-net-device,netdev=net0",
		"-qmp", "unix:" + filepath.Join(dir, "qmp.sock") + ",server=on,wait=off",
	}
	if d.guest != nil {
		guestArgs, err := d.guestArgs(accel)
		if err != nil {
			return "", err
		}
		args = append(args, guestArgs...)
	} else {
		// -S keeps the CPUs stopped: with no kernel there is nothing to run.
		args = append(args, "-S", "-serial", "none", "-m", "64M")
	}
	cmd := exec.Command(d.opts.QEMU, args...)
	log, err := os.Create(filepath.Join(dir, "qemu.log"))
	if err != nil {
		return "", err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = qemuProcAttr()

	// A process started from a thread in the namespace is born in it.
	if err := nsutil.Do(d.netns, cmd.Start); err != nil {
		return "", err
	}
	d.qemu = cmd
	d.pid = cmd.Process.Pid
	d.exited = make(chan struct{})
	go func() {
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	return fmt.Sprintf("pid %d, accel=%s", cmd.Process.Pid, accel), nil
}

func (d *demo) connect(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, filepath.Join(d.dir, "qmp.sock"), &qmp.Options{ProcessID: d.qemu.Process.Pid})
	if err != nil {
		return "", d.withQEMULog(err)
	}
	d.client = c
	return "QEMU " + c.Greeting().Version.String(), nil
}

func (d *demo) expectStatus(ctx context.Context, want ...string) (string, error) {
	st, err := d.client.QueryStatus(ctx)
	if err != nil {
		return "", err
	}
	for _, w := range want {
		if st.Status == w {
			return "status=" + st.Status, nil
		}
	}
	return "", fmt.Errorf("status is %q, want one of %q", st.Status, want)
}

func (d *demo) quit(ctx context.Context) (string, error) {
	if err := d.client.Quit(ctx); err != nil {
		return "", err
	}
	select {
	case <-d.exited:
		d.qemu = nil
		if d.waitErr != nil {
			return "", fmt.Errorf("qemu exited with %w", d.waitErr)
		}
		return "exit status 0", nil
	case <-time.After(10 * time.Second):
		return "", errors.New("qemu still runs 10 s after quit")
	}
}

// withQEMULog adds the end of QEMU's output to err, because that is where
// QEMU reports why it did not start.
func (d *demo) withQEMULog(err error) error {
	b, _ := os.ReadFile(filepath.Join(d.dir, "qemu.log"))
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	output := strings.Join(strings.Fields(string(b)), " ")
	if output == "" {
		return err
	}
	return fmt.Errorf("%w (qemu output: %s)", err, output)
}
