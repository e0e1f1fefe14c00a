package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/qmp"
)

// The guest's point-to-point link, inside the test's own namespace.
var (
	hostAddr  = netip.MustParsePrefix("172.16.0.1/30")
	guestAddr = netip.MustParsePrefix("172.16.0.2/30")
)

const (
	tapName   = "tap0"
	guestPort = 8080

	// bootTimeout bounds the wait for the guest's ready line. The line
	// came about 2 s after QEMU started in runs under TCG on a 2-core VM,
	// and the limit leaves room for slow or loaded CI hosts.
	bootTimeout = 60 * time.Second
	// fetchTimeout bounds an HTTP request that is expected to succeed.
	fetchTimeout = 10 * time.Second
	// pausedFetchTimeout bounds the request sent while the guest is
	// paused. A paused guest never replies, so a short limit shows the
	// same as a long one.
	pausedFetchTimeout = time.Second
	// powerdownTimeout bounds the time from system_powerdown until QEMU
	// has exited, which took about 50 ms in the same runs.
	powerdownTimeout = 30 * time.Second
)

func TestGuestOverTAP(t *testing.T) {
	netnstest.RequireRoot(t)
	qemuPath := netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	guest := buildGuest(t)
	ns := netnstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	m := prepareTAP(ctx, t, ns)
	token := randomToken(t)
	v := startVM(t, vmConfig{
		qemu:    qemuPath,
		guest:   guest,
		netns:   ns,
		tap:     tapName,
		address: guestAddr,
		gateway: hostAddr.Addr(),
		port:    guestPort,
		token:   token,
	})
	client, err := qmp.Dial(ctx, v.qmpSocket, &qmp.Options{ProcessID: v.cmd.Process.Pid})
	if err != nil {
		t.Fatalf("%v\n%s", err, v.logs())
	}
	t.Cleanup(func() { client.Close() })
	t.Logf("guest ready %.1f s after qemu started", v.waitReady(ctx, bootTimeout).Seconds())

	url := "http://" + netip.AddrPortFrom(guestAddr.Addr(), guestPort).String() + "/"
	want := "smolvm-e2e " + token + "\n"
	checkFetch(ctx, t, ns, url, want)
	checkTAP(ctx, t, m, true)
	checkAccel(ctx, t, client, v.accel)

	if err := client.Stop(ctx); err != nil {
		t.Fatalf("qmp stop: %v", err)
	}
	checkStatus(ctx, t, client, "paused")
	checkUnreachable(ctx, t, ns, url)
	if err := client.Cont(ctx); err != nil {
		t.Fatalf("qmp cont: %v", err)
	}
	checkStatus(ctx, t, client, "running")
	checkFetch(ctx, t, ns, url, want)

	checkPowerdown(ctx, t, client, v)
	checkTAP(ctx, t, m, false)
	if err := m.DeleteTAP(ctx, tapName); err != nil {
		t.Fatal(err)
	}
	if _, err := m.TAPInfo(ctx, tapName); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("get tap %s after delete: %v, want an error matching fs.ErrNotExist", tapName, err)
	}
}

// prepareTAP creates the guest's TAP with its host address, and the route
// to the guest, in the namespace ns, and deletes the TAP when the test
// ends unless the test did.
func prepareTAP(ctx context.Context, t *testing.T, ns string) *network.Manager {
	t.Helper()
	m, err := network.New(network.Options{Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	if err := m.PrepareTAP(ctx, tapName, network.NoOwner, hostAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.EnsureTAPDeleted(context.Background(), tapName); err != nil {
			t.Error(err)
		}
	})
	if err := m.AddRoute(ctx, netip.PrefixFrom(guestAddr.Addr(), 32), tapName); err != nil {
		t.Fatal(err)
	}
	return m
}

func randomToken(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// netnsHTTPClient returns an HTTP client that opens its connections inside
// the namespace ns, the only place where the guest is reachable. A socket
// stays in the namespace it was created in, so only the dial runs there.
func netnsHTTPClient(ns string, timeout time.Duration) *http.Client {
	var dialer net.Dialer
	transport := &http.Transport{
		// Proxy stays nil: an http_proxy from the environment must not
		// take the request out of the namespace.
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			var conn net.Conn
			err := nsutil.Do(ns, func() error {
				var err error
				conn, err = dialer.DialContext(ctx, network, address)
				return err
			})
			return conn, err
		},
		// Each request opens a fresh connection, so a request after
		// stop or cont shows the guest's state rather than that of an
		// idle connection.
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: transport, Timeout: timeout}
}

// fetch returns the body of a GET of url through client.
func fetch(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("read the body of %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get %s: status %s, body %q", url, resp.Status, body)
	}
	return string(body), nil
}

// checkFetch fetches url from inside ns and compares the body with want.
func checkFetch(ctx context.Context, t *testing.T, ns, url, want string) {
	t.Helper()
	start := time.Now()
	got, err := fetch(ctx, netnsHTTPClient(ns, fetchTimeout), url)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("get %s = %q, want %q", url, got, want)
	}
	t.Logf("get %s from netns %s: %q in %v", url, ns, got, time.Since(start).Round(time.Millisecond))
}

// checkUnreachable checks that a request to the paused guest times out,
// rather than failing in another way that would show a fault in the test
// setup instead of a stopped guest.
func checkUnreachable(ctx context.Context, t *testing.T, ns, url string) {
	t.Helper()
	start := time.Now()
	got, err := fetch(ctx, netnsHTTPClient(ns, pausedFetchTimeout), url)
	if err == nil {
		t.Fatalf("get %s from the paused guest = %q, want a timeout", url, got)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("get %s from the paused guest: %v, want a timeout", url, err)
	}
	t.Logf("get %s from the paused guest timed out after %v, as expected", url, time.Since(start).Round(time.Millisecond))
}

// checkTAP checks that the TAP is up and that its carrier is as want: on
// while QEMU holds the TAP, off once QEMU has closed it. The kernel drops
// the carrier when the last file descriptor closes, slightly after QEMU
// is reaped, so it polls for up to 5 s.
func checkTAP(ctx context.Context, t *testing.T, m *network.Manager, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := m.TAPInfo(ctx, tapName)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Up {
			t.Fatalf("tap %s is down, want up", tapName)
		}
		if info.Carrier == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tap %s has carrier %v, want %v", tapName, info.Carrier, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAccel checks that QEMU uses KVM exactly when the test requested it.
func checkAccel(ctx context.Context, t *testing.T, client *qmp.Client, accel string) {
	t.Helper()
	kvm, err := client.QueryKVM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kvm.Enabled != (accel == "kvm") {
		t.Errorf("query-kvm reports enabled=%v with accel=%s", kvm.Enabled, accel)
	}
}

func checkStatus(ctx context.Context, t *testing.T, client *qmp.Client, want string) {
	t.Helper()
	status, err := client.QueryStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.Status != want {
		t.Fatalf("query-status = %q, want %q", status.Status, want)
	}
}

// checkPowerdown presses the ACPI power button and checks that the guest
// powers itself off: its button handler runs, QEMU reports a shutdown
// that the guest asked for, and QEMU exits with status 0.
func checkPowerdown(ctx context.Context, t *testing.T, client *qmp.Client, v *vm) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, powerdownTimeout)
	defer cancel()
	_, ev, err := client.ExecuteAndWait(ctx, "system_powerdown", nil, qmp.EventFilter{Names: []string{"SHUTDOWN"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, v.logs())
	}
	var shutdown struct {
		Guest  bool   `json:"guest"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(ev.Data, &shutdown); err != nil {
		t.Fatalf("decode SHUTDOWN event data %s: %v", ev.Data, err)
	}
	if !shutdown.Guest || shutdown.Reason != "guest-shutdown" {
		t.Errorf("SHUTDOWN event data is %s, want guest=true and reason guest-shutdown", ev.Data)
	}

	if err := v.waitExit(powerdownTimeout); err != nil {
		t.Fatalf("qemu exited with %v after system_powerdown, want status 0\n%s", err, v.logs())
	}
	if !strings.Contains(v.serial(), poweroffMarker) {
		t.Errorf("the guest console lacks %q, so the power button handler did not run\n%s", poweroffMarker, v.logs())
	}
	t.Logf("qemu exited %v after system_powerdown", time.Since(start).Round(time.Millisecond))
}
