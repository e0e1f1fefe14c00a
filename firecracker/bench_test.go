package firecracker_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

// rawGetter sends GET / with a bare net/http client on the socket, with
// no validation, decoding or error mapping. It is the floor the client's
// round trip is compared with.
type rawGetter struct {
	tr *http.Transport
	hc *http.Client
}

func newRawGetter(b *testing.B, socket string) *rawGetter {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	b.Cleanup(tr.CloseIdleConnections)
	return &rawGetter{tr: tr, hc: &http.Client{Transport: tr}}
}

func (g *rawGetter) get(b *testing.B) {
	resp, err := g.hc.Get("http://localhost/")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

func newBenchClient(b *testing.B, socket string) *firecracker.Client {
	c, err := firecracker.New(socket, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkInstanceInfo measures one GET / round trip against the fake
// API, through the client and through the bare net/http client.
func BenchmarkInstanceInfo(b *testing.B) {
	srv := fctest.NewServer(b, fctest.Config{})
	ctx := context.Background()

	b.Run("client", func(b *testing.B) {
		c := newBenchClient(b, srv.SocketPath())
		for b.Loop() {
			if _, err := c.InstanceInfo(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		g := newRawGetter(b, srv.SocketPath())
		for b.Loop() {
			g.get(b)
		}
	})
}

// BenchmarkInstanceInfoRatio alternates the two round trips of
// BenchmarkInstanceInfo in one loop, so both see the same machine load,
// and reports client time divided by bare time as "ratio".
func BenchmarkInstanceInfoRatio(b *testing.B) {
	srv := fctest.NewServer(b, fctest.Config{})
	ctx := context.Background()
	c := newBenchClient(b, srv.SocketPath())
	g := newRawGetter(b, srv.SocketPath())

	var clientTime, rawTime time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := c.InstanceInfo(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		g.get(b)
		clientTime += mid.Sub(start)
		rawTime += time.Since(mid)
	}
	b.ReportMetric(float64(clientTime.Nanoseconds())/float64(b.N), "client-ns/call")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/call")
	b.ReportMetric(float64(clientTime)/float64(rawTime), "ratio")
}

// BenchmarkWaitReadyLate measures how long WaitReady takes to return
// after the fake API starts listening, when it starts a given time after
// the wait began. The "overshoot-ms" metric is that delay, which the poll
// interval bounds.
func BenchmarkWaitReadyLate(b *testing.B) {
	for _, after := range []time.Duration{5 * time.Millisecond, 40 * time.Millisecond} {
		b.Run("after-"+after.String(), func(b *testing.B) {
			benchmarkWaitReadyAfter(b, after)
		})
	}
}

func benchmarkWaitReadyAfter(b *testing.B, after time.Duration) {
	path := filepath.Join(b.TempDir(), "fc.sock")
	ctx := context.Background()
	var overshoot time.Duration
	for b.Loop() {
		started := make(chan *fctest.Server, 1)
		var listening time.Time
		time.AfterFunc(after, func() {
			srv, err := fctest.Listen(path, fctest.Config{})
			if err != nil {
				b.Error(err)
			}
			listening = time.Now()
			started <- srv
		})
		_, err := firecracker.WaitReady(ctx, path, nil)
		returned := time.Now()

		b.StopTimer()
		srv := <-started
		if err != nil || srv == nil {
			b.Fatalf("WaitReady: %v", err)
		}
		overshoot += returned.Sub(listening)
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(overshoot.Microseconds())/1000/float64(b.N), "overshoot-ms")
}
