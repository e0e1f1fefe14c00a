package qmp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// rawMonitor is a bare QMP connection: one write of the command and one
// line read per call, with no id matching, routing or decoding. It is the
// floor the client's round trip is compared with.
type rawMonitor struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(b *testing.B, path string) *rawMonitor {
	b.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		b.Fatalf("dial raw monitor: %v", err)
	}
	b.Cleanup(func() { conn.Close() })
	m := &rawMonitor{conn: conn, r: bufio.NewReader(conn)}
	if _, err := m.r.ReadSlice('\n'); err != nil {
		b.Fatalf("read greeting: %v", err)
	}
	m.roundTrip(b, []byte(`{"execute": "qmp_capabilities"}`+"\n"))
	return m
}

func (m *rawMonitor) roundTrip(b *testing.B, cmd []byte) {
	if _, err := m.conn.Write(cmd); err != nil {
		b.Fatalf("raw write: %v", err)
	}
	if _, err := m.r.ReadSlice('\n'); err != nil {
		b.Fatalf("raw read: %v", err)
	}
}

var rawQueryStatus = []byte(`{"execute": "query-status", "id": "raw"}` + "\n")

// BenchmarkQueryStatus measures one query-status round trip on real QEMU
// through the client and through a bare socket loop on a second monitor
// of the same QEMU.
func BenchmarkQueryStatus(b *testing.B) {
	vm := startQEMU(b)
	ctx := context.Background()

	b.Run("client", func(b *testing.B) {
		c := vm.dial(b, nil)
		for b.Loop() {
			if _, err := c.QueryStatus(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		m := dialRaw(b, vm.extraSocket)
		for b.Loop() {
			m.roundTrip(b, rawQueryStatus)
		}
	})
}

// BenchmarkQueryStatusRatio alternates client and bare-socket round trips
// on the same QEMU, so both see the same machine load, and reports the
// ratio of their mean times.
func BenchmarkQueryStatusRatio(b *testing.B) {
	vm := startQEMU(b)
	c := vm.dial(b, nil)
	m := dialRaw(b, vm.extraSocket)
	ctx := context.Background()

	var clientTime, rawTime time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if _, err := c.QueryStatus(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		m.roundTrip(b, rawQueryStatus)
		clientTime += mid.Sub(start)
		rawTime += time.Since(mid)
		n++
	}
	b.ReportMetric(float64(clientTime.Nanoseconds())/float64(n), "client-ns/call")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(n), "raw-ns/call")
	b.ReportMetric(float64(clientTime)/float64(rawTime), "ratio")
}

// BenchmarkJobCompletion measures the time from the fake server writing a
// job's concluding JOB_STATUS_CHANGE event to SnapshotSave returning. It
// includes the waiter's query-jobs and job-dismiss round trips.
func BenchmarkJobCompletion(b *testing.B) {
	var concludedAt atomic.Int64
	var wg sync.WaitGroup
	conclude := func(c *qmptest.Conn, req qmptest.Request) {
		var args struct {
			JobID string `json:"job-id"`
		}
		json.Unmarshal(req.Arguments, &args)
		c.Reply(req, struct{}{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Conclude after the waiter has started waiting on events.
			time.Sleep(200 * time.Microsecond)
			concludedAt.Store(time.Now().UnixNano())
			c.Event("JOB_STATUS_CHANGE", map[string]string{"id": args.JobID, "status": qmp.JobConcluded})
		}()
	}
	srv := qmptest.NewServer(b, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"snapshot-save": conclude,
		"query-jobs": func(c *qmptest.Conn, req qmptest.Request) {
			status := "running"
			if concludedAt.Load() != 0 {
				status = qmp.JobConcluded
			}
			c.Reply(req, []map[string]string{{"id": "bench", "type": "snapshot-save", "status": status}})
		},
		"job-dismiss": func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, struct{}{}) },
	}})
	b.Cleanup(wg.Wait)
	c := dialBench(b, srv.SocketPath())
	ctx := context.Background()

	var total time.Duration
	n := 0
	for b.Loop() {
		concludedAt.Store(0)
		if _, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{JobID: "bench", Tag: "t"}); err != nil {
			b.Fatal(err)
		}
		total += time.Duration(time.Now().UnixNano() - concludedAt.Load())
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n), "conclude-to-return-µs")
}

// BenchmarkQEMUSnapshotJob runs snapshot-save on real QEMU and measures
// the time from QEMU's timestamp on the concluding event to SnapshotSave
// returning. QEMU stamps events with the host's wall clock in
// microseconds, so the metric has that resolution.
func BenchmarkQEMUSnapshotJob(b *testing.B) {
	vm := startQEMU(b)
	c := vm.dial(b, nil)
	ctx := context.Background()

	var total time.Duration
	n := 0
	for b.Loop() {
		sub, err := c.Subscribe(qmp.EventFilter{Names: []string{"JOB_STATUS_CHANGE"}, Data: map[string]any{"status": qmp.JobConcluded}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.SnapshotSave(ctx, qmp.SnapshotArgs{Tag: "bench", VMState: "disk0", Devices: []string{"disk0"}}); err != nil {
			b.Fatal(err)
		}
		returned := time.Now()
		ev := <-sub.Events()
		sub.Close()
		total += returned.Sub(ev.Time)
		n++

		b.StopTimer()
		if _, err := c.SnapshotDelete(ctx, qmp.SnapshotArgs{Tag: "bench", Devices: []string{"disk0"}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n), "conclude-to-return-µs")
}

func dialBench(b *testing.B, path string) *qmp.Client {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, path, &qmp.Options{JobPollInterval: time.Hour})
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
