package firewall

import (
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// topology is a "host" namespace (where the firewall runs) with an
// "internet" namespace on its uplink and guest namespaces behind veth pairs
// whose host ends are named like TAPs. The internet namespace has no route
// to the guests' IPv4 network, so guest traffic only comes back when the
// host masquerades it. It does route the guests' IPv6 network back through
// the host, because IPv6 is not masqueraded.
//
//	internet  eth0 10.99.0.2/24, 10.99.0.3/24, fd00:99::2/64, fd00:99::3/64
//	host      uplink 10.99.0.1/24, fd00:99::1/64
//	host      tapN 172.16.0.(4N+1)/30, fd00:16:N::1/64  <->  guestN eth0 .(4N+2), fd00:16:N::2
type topology struct {
	host, internet string
	guests         []string
}

// guestAddr returns guest n's IPv4 address.
func guestAddr(n int) string { return "172.16.0." + strconv.Itoa(4*n+2) }

func newTopology(t *testing.T, host string, guests int) *topology {
	t.Helper()
	topo := &topology{host: host, internet: netnstest.New(t)}
	// Without duplicate address detection the link-local addresses are
	// usable at once, not tentative for a second or two.
	for _, ns := range []string{host, topo.internet} {
		sysctl(t, ns, "net/ipv6/conf/default/accept_dad", "0")
	}
	sysctl(t, host, "net/ipv4/ip_forward", "1")
	ip(t, host, "link", "set", "lo", "up")
	ip(t, topo.internet, "link", "set", "lo", "up")
	ip(t, host, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", topo.internet)
	ip(t, host, "addr", "add", "10.99.0.1/24", "dev", "uplink")
	ip(t, host, "addr", "add", "fd00:99::1/64", "dev", "uplink", "nodad")
	ip(t, host, "link", "set", "uplink", "up")
	for _, a := range []string{"10.99.0.2/24", "10.99.0.3/24"} {
		ip(t, topo.internet, "addr", "add", a, "dev", "eth0")
	}
	for _, a := range []string{"fd00:99::2/64", "fd00:99::3/64"} {
		ip(t, topo.internet, "addr", "add", a, "dev", "eth0", "nodad")
	}
	ip(t, topo.internet, "link", "set", "eth0", "up")
	ip(t, topo.internet, "-6", "route", "add", "fd00:16::/48", "via", "fd00:99::1")
	sysctl(t, host, "net/ipv6/conf/all/forwarding", "1")

	for n := 0; n < guests; n++ {
		g := netnstest.New(t)
		sysctl(t, g, "net/ipv6/conf/default/accept_dad", "0")
		tap := "tap" + strconv.Itoa(n)
		ip(t, g, "link", "set", "lo", "up")
		ip(t, host, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", g)
		ip(t, host, "addr", "add", "172.16.0."+strconv.Itoa(4*n+1)+"/30", "dev", tap)
		ip(t, host, "addr", "add", "fd00:16:"+strconv.Itoa(n)+"::1/64", "dev", tap, "nodad")
		ip(t, host, "link", "set", tap, "up")
		ip(t, g, "addr", "add", guestAddr(n)+"/30", "dev", "eth0")
		ip(t, g, "addr", "add", "fd00:16:"+strconv.Itoa(n)+"::2/64", "dev", "eth0", "nodad")
		ip(t, g, "link", "set", "eth0", "up")
		ip(t, g, "route", "add", "default", "via", "172.16.0."+strconv.Itoa(4*n+1))
		ip(t, g, "-6", "route", "add", "default", "via", "fd00:16:"+strconv.Itoa(n)+"::1")
		topo.guests = append(topo.guests, g)
	}
	return topo
}

func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// sysctl writes /proc/sys/PATH inside ns.
func sysctl(t *testing.T, ns, path, value string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", "echo "+value+" > /proc/sys/"+path).CombinedOutput()
	if err != nil {
		t.Fatalf("write %s in %s: %v: %s", path, ns, err, out)
	}
}

// serve accepts TCP connections on addr inside ns and writes banner to
// each, followed by the peer's address as the server saw it.
func serve(t *testing.T, ns, addr, banner string) {
	t.Helper()
	var l net.Listener
	err := nsutil.Do(ns, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			io.WriteString(c, banner+" "+host)
			c.Close()
		}
	}()
}

// Connection attempts that should succeed get reachTimeout, because the
// first IPv6 connection through a fresh namespace can take about a second
// to resolve neighbours. Attempts that a firewall should drop get
// blockTimeout; a refused connection fails at once. A test reaches an
// address before it checks that the address is blocked, so the short
// timeout never mistakes a slow path for a blocked one.
const (
	reachTimeout = 5 * time.Second
	blockTimeout = 700 * time.Millisecond
)

// dial connects to addr from inside ns and returns what the server wrote.
func dial(ns, addr string, timeout time.Duration) (string, error) {
	var c net.Conn
	err := nsutil.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// wantReach fails t unless ns reaches addr and gets want.
func wantReach(t *testing.T, ns, addr, want string) {
	t.Helper()
	got, err := dial(ns, addr, reachTimeout)
	if err != nil {
		t.Errorf("connect to %s: %v, want %q", addr, err, want)
		return
	}
	if got != want {
		t.Errorf("connect to %s: got %q, want %q", addr, got, want)
	}
}

// wantBlocked fails t if ns can connect to addr.
func wantBlocked(t *testing.T, ns, addr string) {
	t.Helper()
	if got, err := dial(ns, addr, blockTimeout); err == nil {
		t.Errorf("connect to %s succeeded with %q, want it blocked", addr, got)
	}
}
