// Package qmptest provides a scripted fake QMP server on a Unix socket for
// tests of QMP clients. It implements enough of the protocol for a client
// to connect, and each test decides the reply to every command.
//
// Tests can inject faults: events before the greeting or between a command
// and its reply, error replies without an id, wrong ids, invalid JSON, long
// lines, stalls, byte-by-byte or coalesced writes, and connections that
// close mid-line or are reset.
//
// A Server and its Conns are safe for concurrent use. Everything a Server
// starts is stopped by Close, which NewServer registers with t.Cleanup.
package qmptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// DefaultGreeting is the greeting of QEMU 7.2.22 as packaged by Debian.
const DefaultGreeting = `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}`

// WriteMode selects how a Conn hands its output to the socket.
type WriteMode int

const (
	// WriteLines writes each message with one write call.
	WriteLines WriteMode = iota
	// WriteBytes writes each byte with its own write call, so the client
	// sees lines arrive in pieces.
	WriteBytes
	// WriteCoalesced holds everything a handler writes and sends it with
	// one write call when the handler returns, so several messages arrive
	// together.
	WriteCoalesced
)

// Request is one command the server received.
type Request struct {
	// Execute is the command name.
	Execute string `json:"execute"`
	// Arguments is the undecoded "arguments" object, nil when absent.
	Arguments json.RawMessage `json:"arguments"`
	// ID is the undecoded "id", nil when absent.
	ID json.RawMessage `json:"id"`
	// Files are the descriptors received as SCM_RIGHTS with the command.
	// The server closes them when it closes.
	Files []*os.File `json:"-"`
	// Line is the command as received, without the line ending.
	Line []byte `json:"-"`
}

// Handler replies to one request. It runs on the connection's reader
// goroutine, so the server reads nothing else until it returns, as QEMU
// does without out-of-band execution.
type Handler func(c *Conn, req Request)

// Config scripts a Server. The zero value behaves like an idle QEMU that
// replies to qmp_capabilities, query-status, query-version, stop, cont and
// quit.
type Config struct {
	// Greeting is the line sent on connect; empty means DefaultGreeting.
	Greeting string
	// NoGreeting keeps the server silent after accepting, like a monitor
	// held by another client.
	NoGreeting bool
	// BeforeGreeting, when set, runs before the greeting is written.
	BeforeGreeting func(c *Conn)
	// Handlers replies to commands by name, replacing the defaults.
	Handlers map[string]Handler
	// Fallback replies to commands without a handler; nil replies with a
	// CommandNotFound error as QEMU does.
	Fallback Handler
	// Write selects how output is written.
	Write WriteMode
	// CRLF ends lines with "\r\n" as QEMU 7.2 does, instead of "\n".
	CRLF bool
}

// Server is a fake QMP server listening on a Unix socket in a temporary
// directory.
type Server struct {
	cfg  Config
	path string
	ln   *net.UnixListener

	mu       sync.Mutex
	requests []Request
	conns    map[*Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// NewServer starts a server on a socket in t.TempDir() and stops it in
// t.Cleanup.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	return NewServerAt(t, filepath.Join(t.TempDir(), "qmp.sock"), cfg)
}

// NewServerAt starts a server on a socket at path and stops it in
// t.Cleanup.
func NewServerAt(t testing.TB, path string, cfg Config) *Server {
	t.Helper()
	s, err := Listen(path, cfg)
	if err != nil {
		t.Fatalf("start fake qmp server: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a server on a socket at path. The caller must call Close.
// It is for code without a testing.TB, such as examples.
func Listen(path string, cfg Config) (*Server, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	s := &Server{cfg: cfg, path: path, ln: ln, conns: make(map[*Conn]struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// SocketPath returns the path of the server's socket.
func (s *Server) SocketPath() string { return s.path }

// Requests returns the commands received so far, in order, from all
// connections.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Commands returns the names of the commands received so far.
func (s *Server) Commands() []string {
	var names []string
	for _, r := range s.Requests() {
		names = append(names, r.Execute)
	}
	return names
}

// Close stops the listener, closes every connection and waits for the
// server's goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	s.ln.Close()
	var conns []*Conn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()

	for _, r := range s.Requests() {
		for _, f := range r.Files {
			f.Close()
		}
	}
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		uc, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		c := &Conn{srv: s, uc: uc}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			uc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) handler(name string) Handler {
	if h, ok := s.cfg.Handlers[name]; ok {
		return h
	}
	if h, ok := defaultHandlers[name]; ok {
		return h
	}
	if s.cfg.Fallback != nil {
		return s.cfg.Fallback
	}
	return func(c *Conn, req Request) {
		c.ReplyError(req, "CommandNotFound", "The command "+req.Execute+" has not been found")
	}
}

var defaultHandlers = map[string]Handler{
	"qmp_capabilities": func(c *Conn, req Request) { c.Reply(req, struct{}{}) },
	"query-status": func(c *Conn, req Request) {
		running := !c.Paused()
		status := "running"
		if !running {
			status = "paused"
		}
		c.Reply(req, map[string]any{"status": status, "singlestep": false, "running": running})
	},
	"query-version": func(c *Conn, req Request) {
		c.Reply(req, json.RawMessage(`{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}`))
	},
	"stop": func(c *Conn, req Request) {
		c.SetPaused(true)
		c.Event("STOP", nil)
		c.Reply(req, struct{}{})
	},
	"cont": func(c *Conn, req Request) {
		c.SetPaused(false)
		c.Event("RESUME", nil)
		c.Reply(req, struct{}{})
	},
	"quit": func(c *Conn, req Request) {
		c.Reply(req, struct{}{})
		c.Event("SHUTDOWN", map[string]any{"guest": false, "reason": "host-qmp-quit"})
		c.Close()
	},
}

// splitLines removes complete lines from buf and returns them without
// their line endings.
func splitLines(buf *bytes.Buffer) [][]byte {
	var lines [][]byte
	for {
		i := bytes.IndexByte(buf.Bytes(), '\n')
		if i < 0 {
			return lines
		}
		line := bytes.TrimSuffix(bytes.Clone(buf.Next(i + 1)[:i]), []byte("\r"))
		lines = append(lines, line)
	}
}

// receivedFiles turns SCM_RIGHTS ancillary data into files.
func receivedFiles(oob []byte) []*os.File {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received-fd"))
		}
	}
	return files
}
