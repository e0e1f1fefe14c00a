package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"golang.org/x/sys/unix"
)

// testUID is a uid that the tests give TAPs; it needs no passwd entry.
const testUID = 424242

// newTestManager returns a Manager bound to a fresh namespace and the
// namespace's name.
func newTestManager(t *testing.T, opts Options) (*Manager, string) {
	t.Helper()
	ns := netnstest.New(t)
	opts.Netns = ns
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, ns
}

// ipCmd runs `ip -n NS ARGS...` and fails t if it fails.
func ipCmd(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ipJSON runs `ip -n NS -json ARGS...` and decodes the list it prints.
func ipJSON(t *testing.T, ns string, args ...string) []map[string]any {
	t.Helper()
	out := ipCmd(t, ns, append([]string{"-json"}, args...)...)
	var v []map[string]any
	if strings.TrimSpace(out) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("decode ip -json %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return v
}

// linkInfo returns `ip -d link show dev DEV` for one device, or nil when it
// does not exist.
func linkInfo(t *testing.T, ns, dev string) map[string]any {
	t.Helper()
	for _, l := range ipJSON(t, ns, "-d", "link", "show") {
		if l["ifname"] == dev {
			return l
		}
	}
	return nil
}

// tunData returns linkinfo.info_data of a tun/tap device.
func tunData(t *testing.T, l map[string]any) map[string]any {
	t.Helper()
	info, _ := l["linkinfo"].(map[string]any)
	if info["info_kind"] != "tun" {
		t.Fatalf("device %v is of kind %v, want tun", l["ifname"], info["info_kind"])
	}
	data, _ := info["info_data"].(map[string]any)
	return data
}

// userName is how `ip` prints a uid: the user name when one exists.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func hasFlag(l map[string]any, flag string) bool {
	flags, _ := l["flags"].([]any)
	for _, f := range flags {
		if f == flag {
			return true
		}
	}
	return false
}

// ipv4Addrs lists dev's IPv4 addresses as "A.B.C.D/P" in kernel order.
func ipv4Addrs(t *testing.T, ns, dev string) []string {
	t.Helper()
	var out []string
	for _, l := range ipJSON(t, ns, "-4", "addr", "show", "dev", dev) {
		infos, _ := l["addr_info"].([]any)
		for _, i := range infos {
			a := i.(map[string]any)
			out = append(out, a["local"].(string)+"/"+strconv.Itoa(int(a["prefixlen"].(float64))))
		}
	}
	return out
}

// routeTo returns the main-table route whose dst is dst, or nil.
func routeTo(t *testing.T, ns, dst string) map[string]any {
	t.Helper()
	for _, r := range ipJSON(t, ns, "-d", "route", "show", "table", "main") {
		if r["dst"] == dst {
			return r
		}
	}
	return nil
}

// readSysctl reads /proc/sys/path inside the namespace ns, or in the
// test's own namespace when ns is empty.
func readSysctl(t *testing.T, ns, path string) string {
	t.Helper()
	var v []byte
	read := func() error {
		var err error
		v, err = os.ReadFile("/proc/sys/" + path)
		return err
	}
	var err error
	if ns == "" {
		err = read()
	} else {
		err = nsutil.Do(ns, read)
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// attachTAP opens the TAP name inside ns as a VMM would, and returns the
// file that holds it.
func attachTAP(t *testing.T, ns, name string) *os.File {
	t.Helper()
	var f *os.File
	err := nsutil.Do(ns, func() error {
		var err error
		f, err = os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
		if err != nil {
			return err
		}
		var req ifreq
		copy(req.name[:], name)
		req.flags = unix.IFF_TAP | unix.IFF_NO_PI
		return ioctlPtr(int(f.Fd()), unix.TUNSETIFF, unsafe.Pointer(&req))
	})
	if err != nil {
		t.Fatalf("attach to %s: %v", name, err)
	}
	return f
}

func TestCreateTAPKernelState(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})

	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateTAP(ctx, "tap1", NoOwner); err != nil {
		t.Fatal(err)
	}

	data := tunData(t, linkInfo(t, ns, "tap0"))
	if data["type"] != "tap" || data["pi"] != false || data["persist"] != true || data["multi_queue"] != false {
		t.Errorf("tap0 info_data = %v, want a persistent single-queue tap without pi", data)
	}
	if got, want := fmt.Sprint(data["user"]), userName(testUID); got != want {
		t.Errorf("tap0 user = %v, want %v", got, want)
	}
	if data := tunData(t, linkInfo(t, ns, "tap1")); data["user"] != nil {
		t.Errorf("tap1 user = %v, want none", data["user"])
	}

	info, err := m.TAPInfo(ctx, "tap0")
	if err != nil {
		t.Fatal(err)
	}
	if info.Owner != testUID || info.Group != -1 || !info.Persistent || info.MultiQueue || info.Up || info.Carrier {
		t.Errorf("TAPInfo(tap0) = %+v, want owner %d, no group, persistent, single-queue, down, no carrier", info, testUID)
	}
}

func TestCreateTAPStaysInNamespace(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	if err := m.CreateTAP(context.Background(), "smolvmnsprobe", NoOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/class/net/smolvmnsprobe"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the TAP is visible in the host namespace (stat: %v)", err)
	}
}

func TestCreateTAPRepeat(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	for i := range 3 {
		if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if n := len(ipJSON(t, ns, "link", "show", "type", "tun")); n != 1 {
		t.Fatalf("%d tun devices after three creates, want 1", n)
	}
}

func TestCreateTAPConflicts(t *testing.T) {
	tests := []struct {
		name   string
		setup  []string // ip arguments that make the conflicting device
		owner  int
		target error
	}{
		{"other owner", []string{"tuntap", "add", "dev", "tap0", "mode", "tap", "user", "1000"}, testUID, fs.ErrExist},
		{"owner where none requested", []string{"tuntap", "add", "dev", "tap0", "mode", "tap", "user", "1000"}, NoOwner, fs.ErrExist},
		{"no owner where one requested", []string{"tuntap", "add", "dev", "tap0", "mode", "tap"}, testUID, fs.ErrExist},
		{"tun device", []string{"tuntap", "add", "dev", "tap0", "mode", "tun"}, NoOwner, fs.ErrExist},
		{"multi-queue tap", []string{"tuntap", "add", "dev", "tap0", "mode", "tap", "multi_queue"}, NoOwner, fs.ErrExist},
		{"tap with a group", []string{"tuntap", "add", "dev", "tap0", "mode", "tap", "user", "424242", "group", "100"}, testUID, fs.ErrExist},
		{"veth device", []string{"link", "add", "tap0", "type", "veth", "peer", "name", "tap0-peer"}, NoOwner, fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ns := newTestManager(t, Options{})
			ipCmd(t, ns, tt.setup...)
			before := linkInfo(t, ns, "tap0")

			err := m.CreateTAP(context.Background(), "tap0", tt.owner)
			if !errors.Is(err, tt.target) {
				t.Fatalf("CreateTAP = %v, want an error matching %v", err, tt.target)
			}
			if !strings.HasPrefix(err.Error(), "create tap tap0: ") {
				t.Errorf("error %q does not name the operation and device", err)
			}
			after := linkInfo(t, ns, "tap0")
			if before["ifindex"] != after["ifindex"] || !jsonEqual(before["linkinfo"], after["linkinfo"]) {
				t.Errorf("device changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestCreateTAPInUse(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{BusyTimeout: 50 * time.Millisecond})
	if err := m.CreateTAP(ctx, "tap0", NoOwner); err != nil {
		t.Fatal(err)
	}
	f := attachTAP(t, ns, "tap0")
	defer f.Close()
	if info, err := m.TAPInfo(ctx, "tap0"); err != nil || !info.Carrier {
		t.Fatalf("TAPInfo of an attached TAP = %+v, %v, want carrier", info, err)
	}

	err := m.CreateTAP(ctx, "tap0", NoOwner)
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("CreateTAP on an attached TAP = %v, want an error matching EBUSY", err)
	}
	if errors.Is(err, fs.ErrExist) {
		t.Errorf("busy error %v also matches fs.ErrExist", err)
	}
}

func TestCreateTAPWaitsForRelease(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{BusyTimeout: 5 * time.Second})
	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	f := attachTAP(t, ns, "tap0")
	go func() {
		time.Sleep(100 * time.Millisecond)
		f.Close()
	}()
	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatalf("CreateTAP after the holder closes = %v, want nil", err)
	}
}

func TestCreateTAPCancelledWhileBusy(t *testing.T) {
	m, ns := newTestManager(t, Options{BusyTimeout: time.Minute})
	if err := m.CreateTAP(context.Background(), "tap0", NoOwner); err != nil {
		t.Fatal(err)
	}
	f := attachTAP(t, ns, "tap0")
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := m.CreateTAP(ctx, "tap0", NoOwner)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("CreateTAP = %v, want an error matching EBUSY and DeadlineExceeded", err)
	}
}

func TestDeleteTAP(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteTAP(ctx, "tap0"); err != nil {
		t.Fatal(err)
	}
	if l := linkInfo(t, ns, "tap0"); l != nil {
		t.Fatalf("tap0 still exists: %v", l)
	}

	err := m.DeleteTAP(ctx, "tap0")
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "delete tap tap0: no such device" {
		t.Fatalf("DeleteTAP of an absent TAP = %v, want delete tap tap0: no such device", err)
	}
	if err := m.EnsureTAPDeleted(ctx, "tap0"); err != nil {
		t.Fatalf("EnsureTAPDeleted of an absent TAP = %v, want nil", err)
	}
}

func TestDeleteTAPRejectsOtherDevices(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	ipCmd(t, ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	ipCmd(t, ns, "tuntap", "add", "dev", "tun0", "mode", "tun")

	for _, dev := range []string{"veth0", "tun0", "lo"} {
		if err := m.DeleteTAP(ctx, dev); !errors.Is(err, ErrNotTAP) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("DeleteTAP(%s) = %v, want ErrNotTAP", dev, err)
		}
		if err := m.EnsureTAPDeleted(ctx, dev); !errors.Is(err, ErrNotTAP) {
			t.Errorf("EnsureTAPDeleted(%s) = %v, want ErrNotTAP", dev, err)
		}
		if linkInfo(t, ns, dev) == nil {
			t.Errorf("%s was deleted", dev)
		}
	}
}

func TestAddrAndLink(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	if err := m.CreateTAP(ctx, "tap0", NoOwner); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParsePrefix("172.16.0.1/30")
	for range 2 {
		if err := m.AddAddr(ctx, "tap0", addr); err != nil {
			t.Fatal(err)
		}
	}
	if got := ipv4Addrs(t, ns, "tap0"); len(got) != 1 || got[0] != "172.16.0.1/30" {
		t.Fatalf("addresses = %v, want [172.16.0.1/30]", got)
	}
	// `ip addr add` without `brd` sets no broadcast address; neither do we.
	for _, l := range ipJSON(t, ns, "-4", "addr", "show", "dev", "tap0") {
		for _, a := range l["addr_info"].([]any) {
			if b, ok := a.(map[string]any)["broadcast"]; ok {
				t.Errorf("address has broadcast %v, want none", b)
			}
		}
	}

	if err := m.SetLinkUp(ctx, "tap0"); err != nil {
		t.Fatal(err)
	}
	if l := linkInfo(t, ns, "tap0"); !hasFlag(l, "UP") {
		t.Errorf("flags = %v, want UP", l["flags"])
	}

	if err := m.AddAddr(ctx, "tap0", netip.MustParsePrefix("10.9.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := m.FlushAddrs(ctx, "tap0"); err != nil {
		t.Fatal(err)
	}
	if got := ipJSON(t, ns, "addr", "show", "dev", "tap0")[0]["addr_info"]; len(got.([]any)) != 0 {
		t.Errorf("addresses after flush = %v, want none", got)
	}
}

func TestOperationsOnMissingDevice(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t, Options{})
	errs := map[string]error{
		"AddAddr":      m.AddAddr(ctx, "nope0", netip.MustParsePrefix("10.0.0.1/24")),
		"FlushAddrs":   m.FlushAddrs(ctx, "nope0"),
		"SetLinkUp":    m.SetLinkUp(ctx, "nope0"),
		"AddRoute":     m.AddRoute(ctx, netip.MustParsePrefix("10.0.0.0/24"), "nope0"),
		"ConfigureTAP": m.ConfigureTAP(ctx, "nope0", netip.MustParsePrefix("10.0.0.1/24")),
	}
	for op, err := range errs {
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope0") {
			t.Errorf("%s on a missing device = %v, want a not-exist error naming nope0", op, err)
		}
	}
}

func TestConfigureTAPKeepsRoutes(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	host := netip.MustParsePrefix("172.16.0.1/30")
	if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
		t.Fatal(err)
	}
	ipCmd(t, ns, "addr", "add", "192.168.77.1/24", "dev", "tap0")
	ipCmd(t, ns, "addr", "add", "172.16.0.2/30", "dev", "tap0")

	if err := m.ConfigureTAP(ctx, "tap0", host); err != nil {
		t.Fatal(err)
	}
	if got := ipv4Addrs(t, ns, "tap0"); len(got) != 1 || got[0] != "172.16.0.1/30" {
		t.Fatalf("addresses = %v, want only 172.16.0.1/30", got)
	}
	if !hasFlag(linkInfo(t, ns, "tap0"), "UP") {
		t.Fatal("tap0 is not up")
	}

	if err := m.AddRoute(ctx, netip.MustParsePrefix("10.200.0.2/32"), "tap0"); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureTAP(ctx, "tap0", host); err != nil {
		t.Fatal(err)
	}
	if routeTo(t, ns, "10.200.0.2") == nil {
		t.Fatal("a second ConfigureTAP removed the route through tap0")
	}
	if got := ipv4Addrs(t, ns, "tap0"); len(got) != 1 || got[0] != "172.16.0.1/30" {
		t.Fatalf("addresses after the second call = %v, want only 172.16.0.1/30", got)
	}
}

func TestPrepareTAP(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	host := netip.MustParsePrefix("172.16.0.1/30")
	for range 2 {
		if err := m.PrepareTAP(ctx, "tap.5", testUID, host); err != nil {
			t.Fatal(err)
		}
	}
	l := linkInfo(t, ns, "tap.5")
	if data := tunData(t, l); fmt.Sprint(data["user"]) != userName(testUID) || data["persist"] != true {
		t.Errorf("info_data = %v", data)
	}
	if !hasFlag(l, "UP") {
		t.Errorf("flags = %v, want UP", l["flags"])
	}
	if got := ipv4Addrs(t, ns, "tap.5"); len(got) != 1 || got[0] != "172.16.0.1/30" {
		t.Errorf("addresses = %v", got)
	}
	if got := readSysctl(t, ns, "net/ipv4/conf/tap.5/route_localnet"); got != "1" {
		t.Errorf("route_localnet = %q, want 1", got)
	}
}

func TestAddRoute(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	for _, dev := range []string{"tap0", "tap1"} {
		if err := m.PrepareTAP(ctx, dev, NoOwner, netip.MustParsePrefix("172.16.0.1/30")); err != nil {
			t.Fatal(err)
		}
	}
	dst := netip.MustParsePrefix("10.200.0.0/24")
	for range 2 {
		if err := m.AddRoute(ctx, dst, "tap0"); err != nil {
			t.Fatal(err)
		}
	}
	r := routeTo(t, ns, "10.200.0.0/24")
	if r == nil || r["dev"] != "tap0" || r["scope"] != "link" || r["protocol"] != "boot" {
		t.Fatalf("route = %v, want 10.200.0.0/24 dev tap0 proto boot scope link", r)
	}

	err := m.AddRoute(ctx, dst, "tap1")
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "add route 10.200.0.0/24 dev tap1") {
		t.Fatalf("AddRoute through another device = %v, want an exists error naming the route", err)
	}
	if r := routeTo(t, ns, "10.200.0.0/24"); r["dev"] != "tap0" {
		t.Fatalf("route changed to %v", r)
	}
}

func TestDefaultInterface(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	for _, family := range []Family{IPv4, IPv6} {
		_, err := m.DefaultInterface(ctx, family)
		if !errors.Is(err, ErrNoDefaultRoute) || !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("DefaultInterface(%d) without a route = %v, want ErrNoDefaultRoute", family, err)
		}
	}

	ipCmd(t, ns, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1")
	ipCmd(t, ns, "link", "set", "uplink0", "up")
	ipCmd(t, ns, "link", "set", "uplink1", "up")
	ipCmd(t, ns, "addr", "add", "10.77.0.1/24", "dev", "uplink0")
	ipCmd(t, ns, "route", "add", "default", "via", "10.77.0.254")
	got, err := m.DefaultInterface(ctx, IPv4)
	if err != nil || got != "uplink0" {
		t.Fatalf("DefaultInterface(IPv4) = %q, %v, want uplink0", got, err)
	}
}

func TestWriteSysctl(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	hostForward := readSysctl(t, "", "net/ipv4/ip_forward")

	for _, v := range []string{"1", "0", "1"} {
		if err := m.WriteSysctl(ctx, "net.ipv4.ip_forward", v); err != nil {
			t.Fatal(err)
		}
		if got := readSysctl(t, ns, "net/ipv4/ip_forward"); got != v {
			t.Fatalf("ip_forward in the namespace = %q, want %q", got, v)
		}
	}
	if got := readSysctl(t, "", "net/ipv4/ip_forward"); got != hostForward {
		t.Fatalf("the host's ip_forward changed from %q to %q", hostForward, got)
	}

	ipCmd(t, ns, "link", "add", "dum.5", "type", "veth", "peer", "name", "dum.6")
	if err := m.WriteSysctl(ctx, "net.ipv4.conf.dum/5.route_localnet", "1"); err != nil {
		t.Fatal(err)
	}
	if got := readSysctl(t, ns, "net/ipv4/conf/dum.5/route_localnet"); got != "1" {
		t.Fatalf("route_localnet = %q, want 1", got)
	}

	err := m.WriteSysctl(ctx, "net.ipv4.no_such_key", "1")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "net.ipv4.no_such_key") {
		t.Fatalf("unknown key = %v, want a not-exist error naming the key", err)
	}
}

func TestCreateTAPConcurrentSameName(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- m.CreateTAP(ctx, "tap0", testUID) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("concurrent CreateTAP = %v, want nil", err)
		}
	}
	if n := len(ipJSON(t, ns, "link", "show", "type", "tun")); n != 1 {
		t.Fatalf("%d tun devices, want 1", n)
	}
	info, err := m.TAPInfo(ctx, "tap0")
	if err != nil || info.Owner != testUID || !info.Persistent || info.Carrier {
		t.Fatalf("TAPInfo = %+v, %v, want a persistent, free TAP owned by %d", info, err, testUID)
	}
}

func TestConfigureTAPRejectsOtherDevices(t *testing.T) {
	ctx := context.Background()
	m, ns := newTestManager(t, Options{})
	ipCmd(t, ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	ipCmd(t, ns, "addr", "add", "192.168.50.1/24", "dev", "veth0")

	err := m.ConfigureTAP(ctx, "veth0", netip.MustParsePrefix("10.9.1.1/30"))
	if !errors.Is(err, ErrNotTAP) {
		t.Fatalf("ConfigureTAP on a veth = %v, want ErrNotTAP", err)
	}
	if got := ipv4Addrs(t, ns, "veth0"); len(got) != 1 || got[0] != "192.168.50.1/24" {
		t.Fatalf("veth0 addresses = %v, want them unchanged", got)
	}
	if hasFlag(linkInfo(t, ns, "veth0"), "UP") {
		t.Fatal("ConfigureTAP set the veth up")
	}
}
