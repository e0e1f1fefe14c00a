package qmp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// bigString returns a JSON string literal of n bytes of payload.
func bigString(n int) string { return `"` + strings.Repeat("x", n) + `"` }

func TestOversizeLineFailsOnlyItsCall(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name    string
		handler qmptest.Handler
	}{
		{name: "id last", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteLine(`{"return": ` + bigString(4*limit) + `, "id": ` + string(req.ID) + `}`)
		}},
		{name: "id first", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteLine(`{"id": ` + string(req.ID) + `, "error": {"class": "GenericError", "desc": ` + bigString(4*limit) + `}}`)
		}},
		{name: "id in the middle", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteLine(`{"return": ` + bigString(2*limit) + `, "id": ` + string(req.ID) + `, "x": ` + bigString(2*limit) + `}`)
		}},
		{name: "longer than the read buffer", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteLine(`{"return": ` + bigString(200<<10) + `, "id": ` + string(req.ID) + `}`)
		}},
	}
	for _, tt := range tests {
		for _, crlf := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s crlf=%v", tt.name, crlf), func(t *testing.T) {
				srv := qmptest.NewServer(t, qmptest.Config{CRLF: crlf, Handlers: map[string]qmptest.Handler{"big": tt.handler}})
				c := dial(t, srv, &qmp.Options{MaxLineSize: limit})
				ctx := testContext(t)

				_, err := c.Execute(ctx, "big", nil)
				if !errors.Is(err, qmp.ErrMessageTooLarge) {
					t.Fatalf("Execute(big) error = %v, want ErrMessageTooLarge", err)
				}
				var tooLarge *qmp.MessageTooLargeError
				if !errors.As(err, &tooLarge) || tooLarge.Limit != limit || tooLarge.Size <= limit {
					t.Errorf("Execute(big) error %v, want a *qmp.MessageTooLargeError over the limit %d", err, limit)
				}
				if !strings.Contains(err.Error(), "qmp big on ") {
					t.Errorf("error %q does not name the command", err)
				}
				if _, err := c.QueryStatus(ctx); err != nil {
					t.Errorf("QueryStatus after the long line: %v", err)
				}
				if got := c.Stats().OversizeLines; got != 1 {
					t.Errorf("Stats().OversizeLines = %d, want 1", got)
				}
			})
		}
	}
}

func TestOversizeEventIsDropped(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"query-status": func(c *qmptest.Conn, req qmptest.Request) {
			c.Event("BIG", map[string]string{"blob": strings.Repeat("y", 4096)})
			c.Reply(req, map[string]any{"status": "running", "running": true})
		},
	}})
	c := dial(t, srv, &qmp.Options{MaxLineSize: 1024})

	if _, err := c.QueryStatus(testContext(t)); err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	st := c.Stats()
	if st.OversizeLines != 1 || st.DroppedEvents != 1 {
		t.Errorf("Stats() = %+v, want one over-long line counted as a dropped event", st)
	}
}

func TestBadLinesAreCountedAndSkipped(t *testing.T) {
	tests := []struct {
		name    string
		inject  func(c *qmptest.Conn, req qmptest.Request)
		want    func(qmp.Stats) uint64
		counter string
	}{
		{
			name:    "invalid json",
			inject:  func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine(`{"return": {}, "id": `) },
			want:    func(s qmp.Stats) uint64 { return s.InvalidLines },
			counter: "InvalidLines",
		},
		{
			name:    "json that is not an object",
			inject:  func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine(`[1, 2]`) },
			want:    func(s qmp.Stats) uint64 { return s.InvalidLines },
			counter: "InvalidLines",
		},
		{
			name:    "reply and event at once",
			inject:  func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine(`{"event": "X", "return": {}}`) },
			want:    func(s qmp.Stats) uint64 { return s.InvalidLines },
			counter: "InvalidLines",
		},
		{
			name: "error without id",
			inject: func(c *qmptest.Conn, req qmptest.Request) {
				c.ReplyError(qmptest.Request{}, "GenericError", "JSON parse error")
			},
			want:    func(s qmp.Stats) uint64 { return s.IDLessErrors },
			counter: "IDLessErrors",
		},
		{
			name: "wrong id",
			inject: func(c *qmptest.Conn, req qmptest.Request) {
				c.Reply(qmptest.Request{ID: json.RawMessage(`"nope"`)}, struct{}{})
			},
			want:    func(s qmp.Stats) uint64 { return s.UnknownReplies },
			counter: "UnknownReplies",
		},
		{
			name: "numeric id",
			inject: func(c *qmptest.Conn, req qmptest.Request) {
				c.Reply(qmptest.Request{ID: json.RawMessage(`7`)}, struct{}{})
			},
			want:    func(s qmp.Stats) uint64 { return s.UnknownReplies },
			counter: "UnknownReplies",
		},
		{
			name:    "blank line",
			inject:  func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine("  ") },
			want:    func(s qmp.Stats) uint64 { return 1 },
			counter: "nothing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
				"query-status": func(c *qmptest.Conn, req qmptest.Request) {
					tt.inject(c, req)
					c.Reply(req, map[string]any{"status": "running", "running": true})
				},
			}})
			c := dial(t, srv, nil)

			st, err := c.QueryStatus(testContext(t))
			if err != nil {
				t.Fatalf("QueryStatus: %v", err)
			}
			if st.Status != "running" {
				t.Errorf("status = %q, want running", st.Status)
			}
			if got := tt.want(c.Stats()); got != 1 {
				t.Errorf("Stats().%s = %d, want 1 (stats %+v)", tt.counter, got, c.Stats())
			}
		})
	}
}

func TestReplyWithoutReturnOrError(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"stop": func(c *qmptest.Conn, req qmptest.Request) { c.WriteLine(`{"id": ` + string(req.ID) + `}`) },
	}})
	c := dial(t, srv, nil)

	if err := c.Stop(testContext(t)); !errors.Is(err, qmp.ErrProtocol) {
		t.Errorf("Stop error = %v, want ErrProtocol", err)
	}
}

func TestUnansweredCallTimesOut(t *testing.T) {
	tests := []struct {
		name    string
		handler qmptest.Handler
		opts    *qmp.Options
		ctx     time.Duration
	}{
		{name: "stall", handler: func(c *qmptest.Conn, req qmptest.Request) {}, ctx: 50 * time.Millisecond},
		{name: "error without id", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.ReplyError(qmptest.Request{}, "GenericError", "JSON parse error")
		}, ctx: 50 * time.Millisecond},
		{name: "query timeout", handler: func(c *qmptest.Conn, req qmptest.Request) {},
			opts: &qmp.Options{QueryTimeout: 50 * time.Millisecond}, ctx: time.Minute},
		{name: "command timeout", handler: func(c *qmptest.Conn, req qmptest.Request) {},
			opts: &qmp.Options{CommandTimeouts: map[string]time.Duration{"hang": 50 * time.Millisecond}}, ctx: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{"hang": tt.handler}})
			c := dial(t, srv, tt.opts)
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctx)
			defer cancel()

			_, err := c.Execute(ctx, "hang", nil)
			for _, target := range []error{qmp.ErrTimeout, context.DeadlineExceeded} {
				if !errors.Is(err, target) {
					t.Errorf("Execute(hang) error = %v, want it to match %v", err, target)
				}
			}
			if _, err := c.QueryStatus(testContext(t)); err != nil {
				t.Errorf("QueryStatus after the timeout: %v", err)
			}
		})
	}
}

func TestLateReplyIsDropped(t *testing.T) {
	var mu sync.Mutex
	var stalled *qmptest.Request
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"hang": func(c *qmptest.Conn, req qmptest.Request) {
			mu.Lock()
			stalled = &req
			mu.Unlock()
		},
		"query-status": func(c *qmptest.Conn, req qmptest.Request) {
			mu.Lock()
			late := stalled
			mu.Unlock()
			c.Reply(*late, "late")
			c.Reply(req, map[string]any{"status": "running", "running": true})
		},
	}})
	c := dial(t, srv, nil)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Execute(ctx, "hang", nil)
		errc <- err
	}()
	waitForCommand(t, srv, "hang")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, qmp.ErrTimeout) {
		t.Fatalf("cancelled Execute error = %v, want context.Canceled and not ErrTimeout", err)
	}

	st, err := c.QueryStatus(testContext(t))
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if st.Status != "running" {
		t.Errorf("status = %q, want running", st.Status)
	}
	if got := c.Stats().LateReplies; got != 1 {
		t.Errorf("Stats().LateReplies = %d, want 1", got)
	}
}

// waitForCommand waits until srv has received the named command.
func waitForCommand(t *testing.T, srv *qmptest.Server, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, got := range srv.Commands() {
			if got == name {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("server did not receive %s", name)
}

func TestConcurrentCallsGetTheirOwnReplies(t *testing.T) {
	for _, mode := range []qmptest.WriteMode{qmptest.WriteLines, qmptest.WriteBytes, qmptest.WriteCoalesced} {
		t.Run(fmt.Sprintf("write mode %d", mode), func(t *testing.T) {
			srv := qmptest.NewServer(t, qmptest.Config{Write: mode, CRLF: true, Handlers: map[string]qmptest.Handler{
				"echo": func(c *qmptest.Conn, req qmptest.Request) {
					c.Event("NOISE", map[string]any{"id": "c1"})
					c.Reply(req, req.Arguments)
				},
			}})
			c := dial(t, srv, nil)
			ctx := testContext(t)

			const callers, calls = 8, 25
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range calls {
						want := fmt.Sprintf(`{"n":"%d-%d"}`, i, j)
						got, err := c.Execute(ctx, "echo", json.RawMessage(want))
						if err != nil {
							t.Errorf("Execute: %v", err)
							return
						}
						if string(got) != want {
							t.Errorf("Execute returned %s, want %s", got, want)
						}
					}
				}()
			}
			wg.Wait()
			if got := c.Stats().Replies; got != callers*calls+1 {
				t.Errorf("Stats().Replies = %d, want %d", got, callers*calls+1)
			}
		})
	}
}

func TestSlowSubscriberDoesNotDelayReplies(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"burst": func(c *qmptest.Conn, req qmptest.Request) {
			for i := range 10 {
				c.Event("TICK", map[string]int{"n": i})
			}
			c.Reply(req, struct{}{})
		},
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	slow, err := c.Subscribe(qmp.EventFilter{Names: []string{"TICK"}, Buffer: 1})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	filtered, err := c.Subscribe(qmp.EventFilter{Data: map[string]any{"n": 3}})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}

	if _, err := c.Execute(ctx, "burst", nil); err != nil {
		t.Fatalf("Execute(burst): %v", err)
	}
	if got := slow.Dropped(); got != 9 {
		t.Errorf("slow subscriber Dropped() = %d, want 9", got)
	}
	if got := c.Stats().DroppedEvents; got != 9 {
		t.Errorf("Stats().DroppedEvents = %d, want 9", got)
	}
	if ev := <-slow.Events(); string(ev.Data) != `{"n":0}` {
		t.Errorf("slow subscriber got %s, want the first event", ev.Data)
	}
	if ev := <-filtered.Events(); string(ev.Data) != `{"n":3}` {
		t.Errorf("filtered subscriber got %s, want n=3", ev.Data)
	}

	slow.Close()
	slow.Close()
	if _, ok := <-slow.Events(); ok {
		t.Error("channel of a closed subscription is still open")
	}
	c.Close()
	if _, ok := <-filtered.Events(); ok {
		t.Error("channel of a subscription is still open after Close")
	}
}

func TestResetConnection(t *testing.T) {
	reset := make(chan bool, 1)
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"quit": func(c *qmptest.Conn, req qmptest.Request) { reset <- c.Reset(5 * time.Second) },
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	quitErr := make(chan error, 1)
	go func() { quitErr <- c.Quit(ctx) }()
	waitForCommand(t, srv, "quit")

	statusErr := make(chan error, 1)
	go func() { _, err := c.QueryStatus(ctx); statusErr <- err }()

	sawUnread := <-reset
	if err := <-quitErr; err != nil {
		t.Errorf("Quit on a reset connection: %v", err)
	}
	err := <-statusErr
	if !errors.Is(err, qmp.ErrDisconnected) {
		t.Errorf("QueryStatus on a reset connection: error %v, want ErrDisconnected", err)
	}
	if sawUnread && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("QueryStatus on a reset connection: error %v, want ECONNRESET as the cause", err)
	}
	if diff := cmp.Diff([]string{"qmp_capabilities", "quit"}, srv.Commands()); diff != "" {
		t.Errorf("commands received (-want +got):\n%s", diff)
	}
}
