package qmp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// dial connects to srv and closes the client in t.Cleanup.
func dial(t *testing.T, srv *qmptest.Server, opts *qmp.Options) *qmp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, srv.SocketPath(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientBasicCommands(t *testing.T) {
	tests := []struct {
		name string
		cfg  qmptest.Config
	}{
		{name: "lf lines", cfg: qmptest.Config{}},
		{name: "crlf lines", cfg: qmptest.Config{CRLF: true}},
		{name: "byte by byte", cfg: qmptest.Config{Write: qmptest.WriteBytes, CRLF: true}},
		{name: "coalesced", cfg: qmptest.Config{Write: qmptest.WriteCoalesced}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmptest.NewServer(t, tt.cfg)
			c := dial(t, srv, nil)
			ctx := testContext(t)

			if got, want := c.Greeting().Version.String(), "7.2.22"; got != want {
				t.Errorf("greeting version = %q, want %q", got, want)
			}
			if diff := cmp.Diff([]string{"oob"}, c.Greeting().Capabilities); diff != "" {
				t.Errorf("greeting capabilities (-want +got):\n%s", diff)
			}

			v, err := c.QueryVersion(ctx)
			if err != nil {
				t.Fatalf("QueryVersion: %v", err)
			}
			wantVersion := qmp.Version{Major: 7, Minor: 2, Micro: 22, Package: "Debian 1:7.2+dfsg-7+deb12u18+b3"}
			if diff := cmp.Diff(wantVersion, v, cmpopts.IgnoreFields(qmp.Version{}, "Raw")); diff != "" {
				t.Errorf("QueryVersion (-want +got):\n%s", diff)
			}

			if err := c.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			st, err := c.QueryStatus(ctx)
			if err != nil {
				t.Fatalf("QueryStatus: %v", err)
			}
			if diff := cmp.Diff(qmp.Status{Status: "paused"}, st, cmpopts.IgnoreFields(qmp.Status{}, "Raw")); diff != "" {
				t.Errorf("QueryStatus after stop (-want +got):\n%s", diff)
			}

			if err := c.Cont(ctx); err != nil {
				t.Fatalf("Cont: %v", err)
			}
			st, err = c.QueryStatus(ctx)
			if err != nil {
				t.Fatalf("QueryStatus: %v", err)
			}
			if diff := cmp.Diff(qmp.Status{Status: "running", Running: true}, st, cmpopts.IgnoreFields(qmp.Status{}, "Raw")); diff != "" {
				t.Errorf("QueryStatus after cont (-want +got):\n%s", diff)
			}

			want := []string{"qmp_capabilities", "query-version", "stop", "query-status", "cont", "query-status"}
			if diff := cmp.Diff(want, srv.Commands()); diff != "" {
				t.Errorf("commands received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecuteSendsStringIDsAndArguments(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Fallback: func(c *qmptest.Conn, req qmptest.Request) {
		c.Reply(req, req.Arguments)
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	tests := []struct {
		name string
		args any
		want string
	}{
		{name: "nil", args: nil, want: "null"},
		{name: "json null", args: json.RawMessage(`null`), want: "null"},
		{name: "nil map", args: map[string]any(nil), want: "null"},
		{name: "raw message", args: json.RawMessage(`{"a": 1}`), want: `{"a":1}`},
		{name: "map", args: map[string]any{"b": "x"}, want: `{"b":"x"}`},
		{name: "struct", args: struct {
			Device string `json:"device"`
		}{"d0"}, want: `{"device":"d0"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Execute(ctx, "echo", tt.args)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Execute returned %s, want %s", got, tt.want)
			}
		})
	}

	for _, r := range srv.Requests() {
		if len(r.ID) == 0 || r.ID[0] != '"' {
			t.Errorf("command %s carries id %s, want a JSON string", r.Execute, r.ID)
		}
	}
}

func TestExecuteRejectsBadArguments(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	for _, args := range []any{json.RawMessage(`[1]`), json.RawMessage(`{`), 42, "text"} {
		if _, err := c.Execute(ctx, "echo", args); err == nil {
			t.Errorf("Execute with arguments %v succeeded, want an error", args)
		}
	}
	if _, err := c.Execute(ctx, "", nil); err == nil {
		t.Error("Execute with an empty command succeeded, want an error")
	}
	if diff := cmp.Diff([]string{"qmp_capabilities"}, srv.Commands()); diff != "" {
		t.Errorf("commands received (-want +got):\n%s", diff)
	}
}

func TestEventsBeforeReplyAreNotReplies(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{
		BeforeGreeting: func(c *qmptest.Conn) { c.Event("EARLY", nil) },
		Handlers: map[string]qmptest.Handler{
			"query-status": func(c *qmptest.Conn, req qmptest.Request) {
				c.Event("STOP", nil)
				c.Event("JOB_STATUS_CHANGE", map[string]string{"id": "j1", "status": "running"})
				c.Reply(req, map[string]any{"status": "paused", "running": false})
			},
		},
	})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	sub, err := c.Subscribe(qmp.EventFilter{})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	st, err := c.QueryStatus(ctx)
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if st.Status != "paused" {
		t.Errorf("status = %q, want paused", st.Status)
	}

	var names []string
	for range 2 {
		names = append(names, (<-sub.Events()).Name)
	}
	if diff := cmp.Diff([]string{"STOP", "JOB_STATUS_CHANGE"}, names); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestErrorReply(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"stop": func(c *qmptest.Conn, req qmptest.Request) {
			c.ReplyError(req, "GenericError", "the VM is busy")
		},
		"cont": func(c *qmptest.Conn, req qmptest.Request) {
			c.ReplyError(req, "DeviceNotActive", "")
		},
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)

	tests := []struct {
		name    string
		call    func() error
		want    qmp.Error
		wantMsg string
	}{
		{
			name:    "generic error",
			call:    func() error { return c.Stop(ctx) },
			want:    qmp.Error{Class: "GenericError", Desc: "the VM is busy", Command: "stop", Socket: srv.SocketPath()},
			wantMsg: "qmp stop on " + srv.SocketPath() + ": GenericError: the VM is busy",
		},
		{
			name:    "class without description",
			call:    func() error { return c.Cont(ctx) },
			want:    qmp.Error{Class: "DeviceNotActive", Command: "cont", Socket: srv.SocketPath()},
			wantMsg: "qmp cont on " + srv.SocketPath() + ": DeviceNotActive",
		},
		{
			name: "command not found",
			call: func() error { _, err := c.Execute(ctx, "no-such-command", nil); return err },
			want: qmp.Error{Class: "CommandNotFound", Desc: "The command no-such-command has not been found",
				Command: "no-such-command", Socket: srv.SocketPath()},
			wantMsg: "qmp no-such-command on " + srv.SocketPath() + ": CommandNotFound: The command no-such-command has not been found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var qerr *qmp.Error
			if !errors.As(err, &qerr) {
				t.Fatalf("error %v is not a *qmp.Error", err)
			}
			if diff := cmp.Diff(tt.want, *qerr, cmpopts.IgnoreFields(qmp.Error{}, "ID")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if qerr.ID == "" {
				t.Error("error has no command id")
			}
			if got := err.Error(); got != tt.wantMsg {
				t.Errorf("message = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestConnectionClosedMidLine(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"query-status": func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteRaw([]byte(`{"return": {"status": "runn`))
			c.Close()
		},
	}})
	c := dial(t, srv, nil)

	_, err := c.QueryStatus(testContext(t))
	if !errors.Is(err, qmp.ErrDisconnected) {
		t.Fatalf("QueryStatus error = %v, want ErrDisconnected", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("QueryStatus error = %v, want io.ErrUnexpectedEOF as the cause", err)
	}

	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end after the connection closed")
	}
	if _, err := c.QueryStatus(testContext(t)); !errors.Is(err, qmp.ErrDisconnected) {
		t.Errorf("QueryStatus after disconnect error = %v, want ErrDisconnected", err)
	}
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name    string
		handler qmptest.Handler
	}{
		{name: "reply then close", handler: nil},
		{name: "close without reply", handler: func(c *qmptest.Conn, req qmptest.Request) { c.Close() }},
		{name: "close mid-reply", handler: func(c *qmptest.Conn, req qmptest.Request) {
			c.WriteRaw([]byte(`{"ret`))
			c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := qmptest.Config{}
			if tt.handler != nil {
				cfg.Handlers = map[string]qmptest.Handler{"quit": tt.handler}
			}
			srv := qmptest.NewServer(t, cfg)
			c := dial(t, srv, nil)
			if err := c.Quit(testContext(t)); err != nil {
				t.Errorf("Quit: %v", err)
			}
		})
	}
}

func TestQuitAfterDisconnectFails(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"stop": func(c *qmptest.Conn, req qmptest.Request) { c.Close() },
	}})
	c := dial(t, srv, nil)
	ctx := testContext(t)
	if err := c.Stop(ctx); !errors.Is(err, qmp.ErrDisconnected) {
		t.Fatalf("Stop error = %v, want ErrDisconnected", err)
	}
	<-c.Done()
	if err := c.Quit(ctx); !errors.Is(err, qmp.ErrDisconnected) {
		t.Errorf("Quit on a lost session error = %v, want ErrDisconnected", err)
	}
}

func TestCloseFailsPendingCalls(t *testing.T) {
	received := make(chan struct{})
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"stop": func(c *qmptest.Conn, req qmptest.Request) { close(received) },
	}})
	c := dial(t, srv, nil)

	errc := make(chan error, 1)
	go func() { errc <- c.Stop(context.Background()) }()
	<-received

	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()

	if err := <-errc; !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("pending Stop error = %v, want ErrClosed", err)
	}
	if _, err := c.QueryStatus(testContext(t)); !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("QueryStatus after Close error = %v, want ErrClosed", err)
	}
	if !strings.Contains(c.Err().Error(), "closed") {
		t.Errorf("Err() = %v, want a closed error", c.Err())
	}
}
