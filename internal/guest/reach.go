package guest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// HTTPClient returns an HTTP client that opens its connections inside the
// network namespace ns, where the guest is reachable. A socket stays in the
// namespace it was created in, so only the dial runs there.
func HTTPClient(ns string, timeout time.Duration) *http.Client {
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
		// Each request opens a fresh connection, so a request after a
		// change of the guest, such as a pause, shows the guest's state
		// rather than that of an idle connection.
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: transport, Timeout: timeout}
}

// Fetch returns the body of a GET of url through client, without its
// trailing newline. A status other than 200 is an error that includes the
// body, which is where the guest's CGI scripts explain a rejection.
func Fetch(ctx context.Context, client *http.Client, url string) (string, error) {
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
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body = body[:n-1]
	}
	return string(body), nil
}

// ICMP message types used by Ping.
const (
	icmpEchoReply   = 0
	icmpEchoRequest = 8
)

// echoPayload is the data carried by Ping's echo requests.
const echoPayload = "smolvm-e2e"

// Ping sends ICMP echo requests to addr from inside the network namespace
// ns, as `ping` does, and returns the round-trip time of the first reply.
// It sends up to attempts requests one after another, each waiting up to
// wait for its reply, because a request sent while the kernel still
// resolves the guest's MAC address may be dropped. It needs CAP_NET_RAW
// for its raw socket.
func Ping(ns string, addr netip.Addr, attempts int, wait time.Duration) (time.Duration, error) {
	if !addr.Is4() || attempts < 1 || wait <= 0 {
		return 0, fmt.Errorf("ping %s: invalid request: need an IPv4 address, 1 or more attempts and a positive wait", addr)
	}
	var conn net.PacketConn
	err := nsutil.Do(ns, func() error {
		var err error
		conn, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("open an icmp socket in netns %s: %w", ns, err)
	}
	defer conn.Close()

	var idBytes [2]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return 0, err
	}
	id := binary.BigEndian.Uint16(idBytes[:])
	dst := &net.IPAddr{IP: addr.AsSlice()}
	var lastErr error
	for seq := uint16(1); int(seq) <= attempts; seq++ {
		start := time.Now()
		if _, err := conn.WriteTo(echoRequest(id, seq), dst); err != nil {
			return 0, fmt.Errorf("send icmp echo request to %s: %w", addr, err)
		}
		if err := awaitEchoReply(conn, addr, id, seq, start.Add(wait)); err != nil {
			lastErr = err
			continue
		}
		return time.Since(start), nil
	}
	return 0, fmt.Errorf("ping %s from netns %s: no reply to %d requests: %w", addr, ns, attempts, lastErr)
}

// echoRequest returns an ICMP echo request with its checksum set.
func echoRequest(id, seq uint16) []byte {
	msg := make([]byte, 8, 8+len(echoPayload))
	msg[0] = icmpEchoRequest
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	msg = append(msg, echoPayload...)
	binary.BigEndian.PutUint16(msg[2:], internetChecksum(msg))
	return msg
}

// internetChecksum is the one's complement checksum of RFC 1071.
func internetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// parseEchoReply returns the identifier and sequence number of an ICMP echo
// reply, and false for any other message.
func parseEchoReply(msg []byte) (id, seq uint16, ok bool) {
	if len(msg) < 8 || msg[0] != icmpEchoReply || msg[1] != 0 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:]), true
}

// awaitEchoReply reads from conn until the echo reply from addr with id and
// seq arrives or the deadline passes. A raw ICMP socket receives every
// ICMP message of the namespace, so others are skipped. Go's raw IPv4
// socket strips the IP header, so each message starts with the ICMP type.
func awaitEchoReply(conn net.PacketConn, addr netip.Addr, id, seq uint16, deadline time.Time) error {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		ip, ok := from.(*net.IPAddr)
		if !ok || !ip.IP.Equal(addr.AsSlice()) {
			continue
		}
		if gotID, gotSeq, ok := parseEchoReply(buf[:n]); ok && gotID == id && gotSeq == seq {
			return nil
		}
	}
}
