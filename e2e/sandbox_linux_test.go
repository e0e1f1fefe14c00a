package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/qmp"
)

// The guest's point-to-point links, inside the test's own namespace: eth0
// on tapName, and the hot-plugged NIC on hotplugTAP.
var (
	hostAddr         = netip.MustParsePrefix("172.16.0.1/30")
	guestAddr        = netip.MustParsePrefix("172.16.0.2/30")
	hotplugHostAddr  = netip.MustParsePrefix("172.16.1.1/30")
	hotplugGuestAddr = netip.MustParsePrefix("172.16.1.2/30")
)

const (
	tapName    = "tap0"
	hotplugTAP = "tap1"
	guestPort  = 8080

	// vmmUID and vmmGID are the user and group QEMU runs as: 65534, which
	// is nobody and nogroup on Debian. The TAPs are owned by vmmUID, as a
	// runtime prepares them for a VMM that opens them by name.
	vmmUID = 65534
	vmmGID = 65534

	// diskSize is the virtual size of the guest's qcow2 disk, which holds
	// the snapshots, VM state included. The guest has 128 MiB of RAM.
	diskSize = "256M"

	// bootTimeout bounds the wait for the guest's ready line. The line
	// came 2 to 5 s after QEMU started in runs under TCG on a 2-core VM,
	// and the limit leaves room for slow or loaded CI hosts.
	bootTimeout = 60 * time.Second
	// fetchTimeout bounds an HTTP request that is expected to succeed.
	fetchTimeout = 10 * time.Second
	// pausedFetchTimeout bounds the request sent while the guest is
	// paused. A paused guest never replies, so a short limit shows the
	// same as a long one.
	pausedFetchTimeout = time.Second
	// consoleTimeout bounds the wait for a line that the running guest
	// prints in reply to a change, such as a hot-plugged NIC. The guest
	// checks its devices every 0.2 s.
	consoleTimeout = 30 * time.Second
	// exitTimeout bounds the time from quit or system_powerdown until
	// QEMU has exited, which took about 50 ms in the same runs.
	exitTimeout = 30 * time.Second
)

// sandbox is one guest of a test with everything the host side made for
// it: a namespace, TAPs, a working directory, QEMU and a QMP session. Its
// steps return errors, and run turns a failed step into a test failure
// that names the step.
type sandbox struct {
	t *testing.T
	// id names the sandbox in the marks of its TAPs.
	id    string
	token string
	netns string
	// dir is QEMU's working directory, owned by vmmUID.
	dir     string
	manager *network.Manager
	fw      *firewall.Manager
	vm      *vm
	client  *qmp.Client
	http    *http.Client
}

// newSandbox creates the namespace, the working directory and a network
// manager bound to the namespace. Cleanups remove each of them if the test
// ends before its teardown did.
func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	token := randomToken(t)
	s := &sandbox{t: t, id: "e2e-" + token, token: token, netns: netnstest.New(t)}
	s.http = guest.HTTPClient(s.netns, fetchTimeout)

	dir, err := os.MkdirTemp("", "smolvm-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	if err := os.Chown(dir, vmmUID, vmmGID); err != nil {
		t.Fatal(err)
	}
	s.dir = dir

	m, err := network.New(network.Options{Netns: s.netns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s.manager = m
	return s
}

func randomToken(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// run runs one step and ends the test with the step's name and error when
// the step fails.
func (s *sandbox) run(name string, step func() error) {
	s.t.Helper()
	start := time.Now()
	if err := step(); err != nil {
		s.t.Fatalf("step %q: %v", name, err)
	}
	s.t.Logf("step %q passed in %v", name, time.Since(start).Round(time.Millisecond))
}

// prepareTAP makes the TAP name for the VMM's user, marked for this
// sandbox, with host as its address and a route to guest's address, and
// checks what the kernel reports for it.
func (s *sandbox) prepareTAP(ctx context.Context, name string, host, guest netip.Prefix) error {
	if err := s.manager.PrepareTAP(ctx, name, vmmUID, host, network.WithSandbox(s.id)); err != nil {
		return err
	}
	if err := s.manager.AddRoute(ctx, netip.PrefixFrom(guest.Addr(), 32), name); err != nil {
		return err
	}

	info, err := s.manager.TAPInfo(ctx, name)
	switch {
	case err != nil:
		return err
	case info.Owner != vmmUID:
		return fmt.Errorf("tap %s has owner %d, want %d", name, info.Owner, vmmUID)
	case !info.Up:
		return fmt.Errorf("tap %s is down, want up", name)
	case !info.Marked || info.SandboxID != s.id:
		return fmt.Errorf("tap %s has alias %q, want the mark of sandbox %s", name, info.Alias, s.id)
	case info.Carrier:
		return fmt.Errorf("tap %s has a carrier before qemu started", name)
	}
	return nil
}

// boot creates the qcow2 disk, attaches to tapName, starts QEMU as the
// VMM's user with that descriptor, connects to its QMP socket and waits
// for the guest's ready line, which it returns.
func (s *sandbox) boot(ctx context.Context, qemuPath string, img guest.Image) (string, error) {
	disk := filepath.Join(s.dir, "disk.qcow2")
	output, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", disk, diskSize).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("qemu-img create %s: %w: %s", disk, err, output)
	}
	if err := os.Chown(disk, vmmUID, vmmGID); err != nil {
		return "", err
	}

	tap, err := openTAP(s.netns, tapName)
	if err != nil {
		return "", err
	}
	// QEMU holds its own copy once started.
	defer tap.Close()
	v, err := startVM(s.t, vmConfig{
		qemu:  qemuPath,
		guest: img,
		dir:   s.dir,
		netns: s.netns,
		tap:   tap,
		uid:   vmmUID,
		gid:   vmmGID,
		disk:  disk,
		params: guest.Params{
			Address: guestAddr,
			Gateway: hostAddr.Addr(),
			Port:    guestPort,
			Token:   s.token,
		},
	})
	if err != nil {
		return "", err
	}
	s.vm = v

	client, err := qmp.Dial(ctx, v.qmpSocket, &qmp.Options{ProcessID: v.cmd.Process.Pid})
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, v.logs())
	}
	s.t.Cleanup(func() { client.Close() })
	s.client = client

	line, elapsed, err := v.waitReady(ctx, bootTimeout)
	if err != nil {
		return "", err
	}
	s.t.Logf("guest ready %.1f s after qemu started: %s", elapsed.Seconds(), line)
	return line, nil
}

// waitCarrier waits up to 5 s until the carrier of the TAP name is want:
// on while QEMU holds the TAP, off once QEMU has closed it. The kernel
// drops the carrier when the last file descriptor closes, slightly after
// QEMU is reaped.
func (s *sandbox) waitCarrier(ctx context.Context, name string, want bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := s.manager.TAPInfo(ctx, name)
		if err != nil {
			return err
		}
		if info.Carrier == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tap %s has carrier %v after 5 s, want %v", name, info.Carrier, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkQEMUGone checks that QEMU was reaped and no process has its pid.
func (s *sandbox) checkQEMUGone() error {
	select {
	case <-s.vm.exited:
	default:
		return fmt.Errorf("qemu pid %d was not reaped", s.vm.cmd.Process.Pid)
	}
	proc := "/proc/" + strconv.Itoa(s.vm.cmd.Process.Pid)
	if _, err := os.Stat(proc); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s after qemu exited: %v, want an error matching fs.ErrNotExist", proc, err)
	}
	return nil
}

// collectTAPs runs a dry-run collection of this sandbox's TAPs and checks
// which TAPs it finds unheld and which it finds held by a process.
func (s *sandbox) collectTAPs(ctx context.Context, wantFound, wantHeld []string) error {
	c, err := s.manager.CollectTAPs(ctx, network.CollectOptions{DryRun: true, SandboxID: s.id})
	if err != nil {
		return err
	}
	var found []string
	for _, info := range c.Found {
		found = append(found, info.Name)
	}
	slices.Sort(found)
	held := slices.Sorted(slices.Values(c.Held))
	switch {
	case !slices.Equal(found, wantFound):
		return fmt.Errorf("collect taps (dry run) found %q unheld, want %q", found, wantFound)
	case !slices.Equal(held, wantHeld):
		return fmt.Errorf("collect taps (dry run) found %q held, want %q", held, wantHeld)
	case len(c.Removed) != 0:
		return fmt.Errorf("collect taps (dry run) removed %q, want nothing", c.Removed)
	}
	return nil
}

// deleteTAPs deletes the TAPs in one batch and checks that the namespace
// has no TAP left and that a collection finds nothing more.
func (s *sandbox) deleteTAPs(ctx context.Context, names ...string) error {
	if err := s.manager.DeleteTAPs(ctx, names); err != nil {
		return err
	}
	left, err := s.manager.ListTAPs(ctx)
	if err != nil {
		return err
	}
	if len(left) != 0 {
		return fmt.Errorf("netns %s still has %d taps after delete, the first is %s", s.netns, len(left), left[0].Name)
	}
	c, err := s.manager.CollectTAPs(ctx, network.CollectOptions{SandboxID: s.id})
	if err != nil {
		return err
	}
	if len(c.Found)+len(c.Held) != 0 {
		return fmt.Errorf("collect taps after delete found %d unheld and %d held taps, want none", len(c.Found), len(c.Held))
	}
	return nil
}

// removeNetnsAndDir closes the manager, deletes the namespace and the
// working directory, and checks that both are gone.
func (s *sandbox) removeNetnsAndDir() error {
	if err := s.manager.Close(); err != nil {
		return err
	}
	if err := nsutil.Delete(s.netns); err != nil {
		return err
	}
	if nsutil.Exists(s.netns) {
		return fmt.Errorf("netns %s still exists after delete", s.netns)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return err
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s after remove: %v, want an error matching fs.ErrNotExist", s.dir, err)
	}
	return nil
}

// guestURL returns the URL of path on the guest's HTTP server at addr.
func guestURL(addr netip.Prefix, path string) string {
	return "http://" + netip.AddrPortFrom(addr.Addr(), guestPort).String() + path
}

// checkPage fetches the guest's page at addr and compares it with the one
// this boot serves.
func (s *sandbox) checkPage(ctx context.Context, addr netip.Prefix) error {
	url := guestURL(addr, "/")
	got, err := guest.Fetch(ctx, s.http, url)
	if err != nil {
		return err
	}
	if want := "smolvm-e2e " + s.token; got != want {
		return fmt.Errorf("get %s = %q, want %q", url, got, want)
	}
	return nil
}

// checkPing pings the guest's address addr from the host side of the
// namespace.
func (s *sandbox) checkPing(addr netip.Prefix) error {
	rtt, err := guest.Ping(s.netns, addr.Addr(), 3, 2*time.Second)
	if err != nil {
		return err
	}
	s.t.Logf("ping %s: reply in %v", addr.Addr(), rtt.Round(time.Microsecond))
	return nil
}
