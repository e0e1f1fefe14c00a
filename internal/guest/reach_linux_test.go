package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/network"
)

// newNetnsWithLoopback returns a fresh namespace whose loopback is up.
func newNetnsWithLoopback(t *testing.T) string {
	t.Helper()
	ns := netnstest.New(t)
	m, err := network.New(network.Options{Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLinkUp(context.Background(), "lo"); err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestPingLoopback(t *testing.T) {
	ns := newNetnsWithLoopback(t)
	rtt, err := Ping(ns, netip.MustParseAddr("127.0.0.1"), 1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rtt <= 0 {
		t.Errorf("Ping() rtt = %v, want a positive duration", rtt)
	}
}

func TestPingNoRoute(t *testing.T) {
	ns := newNetnsWithLoopback(t)
	_, err := Ping(ns, netip.MustParseAddr("192.0.2.1"), 1, time.Second)
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("Ping() of an address without a route: %v, want an error matching ENETUNREACH", err)
	}
}

func TestPingRejects(t *testing.T) {
	for _, tt := range []struct {
		addr     string
		attempts int
		wait     time.Duration
	}{
		{addr: "::1", attempts: 1, wait: time.Second},
		{addr: "127.0.0.1", attempts: 0, wait: time.Second},
		{addr: "127.0.0.1", attempts: 1, wait: 0},
	} {
		_, err := Ping("unused", netip.MustParseAddr(tt.addr), tt.attempts, tt.wait)
		if err == nil || !strings.Contains(err.Error(), "invalid request") {
			t.Errorf("Ping(%s, %d, %v): %v, want an invalid request error", tt.addr, tt.attempts, tt.wait, err)
		}
	}
}

func TestFetchInNetns(t *testing.T) {
	ns := newNetnsWithLoopback(t)
	var ln net.Listener
	err := nsutil.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, "hello from the namespace")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	ctx := context.Background()
	client := HTTPClient(ns, 5*time.Second)
	base := "http://" + ln.Addr().String()
	got, err := Fetch(ctx, client, base+"/")
	if err != nil {
		t.Fatal(err)
	}
	if got != "hello from the namespace" {
		t.Errorf("Fetch(/) = %q, want the page without its newline", got)
	}
	if _, err := Fetch(ctx, client, base+"/missing"); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such page") {
		t.Errorf("Fetch(/missing): %v, want an error with the status and the body", err)
	}
}
