package qmptest_test

import (
	"bufio"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/qmptest"
)

// rawClient talks to a server without the qmp package, so these tests
// check the bytes the server writes.
type rawClient struct {
	conn *net.UnixConn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, srv *qmptest.Server) *rawClient {
	t.Helper()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: srv.SocketPath(), Net: "unix"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawClient) readLine(t *testing.T) string {
	t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read line: %v (got %q)", err, line)
	}
	return line
}

func (c *rawClient) send(t *testing.T, line string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestServerOutput(t *testing.T) {
	tests := []struct {
		name string
		cfg  qmptest.Config
		want []string
	}{
		{
			name: "lf lines",
			cfg:  qmptest.Config{},
			want: []string{qmptest.DefaultGreeting + "\n", `{"return": {}, "id": "a"}` + "\n", `{"id": "b", "error": {"class":"CommandNotFound","desc":"The command nope has not been found"}}` + "\n"},
		},
		{
			name: "crlf byte by byte",
			cfg:  qmptest.Config{CRLF: true, Write: qmptest.WriteBytes},
			want: []string{qmptest.DefaultGreeting + "\r\n", `{"return": {}, "id": "a"}` + "\r\n", `{"id": "b", "error": {"class":"CommandNotFound","desc":"The command nope has not been found"}}` + "\r\n"},
		},
		{
			name: "custom greeting coalesced",
			cfg:  qmptest.Config{Greeting: `{"QMP": {}}`, Write: qmptest.WriteCoalesced},
			want: []string{`{"QMP": {}}` + "\n", `{"return": {}, "id": "a"}` + "\n", `{"id": "b", "error": {"class":"CommandNotFound","desc":"The command nope has not been found"}}` + "\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmptest.NewServer(t, tt.cfg)
			c := dialRaw(t, srv)

			got := []string{c.readLine(t)}
			c.send(t, `{"execute": "qmp_capabilities", "id": "a"}`)
			got = append(got, c.readLine(t))
			c.send(t, `{"execute": "nope", "id": "b"}`)
			got = append(got, c.readLine(t))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("server output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"qmp_capabilities", "nope"}, srv.Commands()); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerRejectsInvalidJSON(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{})
	c := dialRaw(t, srv)
	c.readLine(t)

	c.send(t, `garbage`)
	if got := c.readLine(t); !strings.Contains(got, `"GenericError"`) || strings.Contains(got, `"id"`) {
		t.Errorf("reply to invalid JSON = %q, want a GenericError without an id", got)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server recorded %d requests, want none", n)
	}
}

func TestServerReceivesFiles(t *testing.T) {
	srv := qmptest.NewServer(t, qmptest.Config{Handlers: map[string]qmptest.Handler{
		"getfd": func(c *qmptest.Conn, req qmptest.Request) { c.Reply(req, len(req.Files)) },
	}})
	c := dialRaw(t, srv)
	c.readLine(t)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	defer r.Close()
	defer w.Close()
	rights := unixRights(t, w)
	if _, _, err := c.conn.WriteMsgUnix([]byte(`{"execute": "getfd", "id": "f"}`+"\n"), rights, nil); err != nil {
		t.Fatalf("sendmsg: %v", err)
	}
	if got, want := c.readLine(t), `{"return": 1, "id": "f"}`+"\n"; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
}

// unixRights returns SCM_RIGHTS ancillary data carrying f's descriptor.
func unixRights(t *testing.T, f *os.File) []byte {
	t.Helper()
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatalf("syscall conn: %v", err)
	}
	var rights []byte
	if err := raw.Control(func(fd uintptr) { rights = syscall.UnixRights(int(fd)) }); err != nil {
		t.Fatalf("control: %v", err)
	}
	return rights
}
