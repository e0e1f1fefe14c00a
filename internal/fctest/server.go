// Package fctest provides a fake Firecracker API on a Unix socket for
// tests of Firecracker clients. By default it behaves like a fresh
// Firecracker process: it keeps the instance state, accepts configuration
// before InstanceStart only, and replies with 204 No Content, JSON bodies
// and {"fault_message": ...} errors as Firecracker does.
//
// Tests script replies per method and path to inject faults: any status
// code and fault message, 204 with no body, slow replies, connections
// closed before the reply or in the middle of the body, and bodies of any
// size.
//
// A Server is safe for concurrent use. Everything it starts is stopped by
// Close, which NewServer registers with t.Cleanup.
package fctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Default values of the instance info that GET / returns.
const (
	DefaultID         = "anonymous-instance"
	DefaultVMMVersion = "1.7.0"
)

// maxRequestBody bounds the request bodies the server reads, in bytes.
const maxRequestBody = 1 << 20

// Reply scripts the reply to one request.
type Reply struct {
	// Status is the status code. Zero means 400 when Fault is set, 200
	// when Body is set and 204 otherwise.
	Status int
	// Body is sent as it is, with Content-Type application/json.
	Body string
	// Fault, when set, sends {"fault_message": Fault} in place of Body.
	Fault string
	// Delay holds the reply back this long. The wait ends early when the
	// client disconnects or the server closes, and then nothing is sent.
	Delay time.Duration
	// CloseEarly closes the connection without sending anything.
	CloseEarly bool
	// Truncate announces the full Content-Length of Body but sends only
	// its first half, then closes the connection.
	Truncate bool
	// StreamBytes, when positive, sends a body of this many bytes in
	// chunks, without Content-Length, until done or the client goes away.
	StreamBytes int64
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Body is the request body, up to 1 MiB.
	Body []byte
}

// Config scripts a Server. The zero value behaves like a fresh
// Firecracker process.
type Config struct {
	// Replies overrides the default behaviour per "METHOD PATH", such as
	// "PUT /actions" or "GET /". Server.SetReply changes it later.
	Replies map[string]Reply
	// ID and VMMVersion are reported by GET /. Empty means DefaultID and
	// DefaultVMMVersion.
	ID         string
	VMMVersion string
}

// Server is a fake Firecracker API listening on a Unix socket.
type Server struct {
	path string
	http *http.Server
	ln   net.Listener

	done     chan struct{}
	handlers sync.WaitGroup
	serving  sync.WaitGroup

	mu        sync.Mutex
	replies   map[string]Reply
	requests  []Request
	conns     int
	vm        vmState
	closeOnce sync.Once
}

// NewServer starts a server on a socket in t.TempDir() and stops it in
// t.Cleanup.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	return NewServerAt(t, filepath.Join(t.TempDir(), "firecracker.sock"), cfg)
}

// NewServerAt starts a server on a socket at path and stops it in
// t.Cleanup.
func NewServerAt(t testing.TB, path string, cfg Config) *Server {
	t.Helper()
	s, err := Listen(path, cfg)
	if err != nil {
		t.Fatalf("start fake firecracker api: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a server on a socket at path. The caller must call Close.
// It is for code without a testing.TB, such as examples and goroutines.
func Listen(path string, cfg Config) (*Server, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	s := &Server{
		path:    path,
		ln:      ln,
		done:    make(chan struct{}),
		replies: make(map[string]Reply),
		vm:      newVMState(cfg),
	}
	for k, r := range cfg.Replies {
		s.replies[k] = r
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: s.countConn}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		s.http.Serve(ln)
	}()
	return s, nil
}

// SocketPath returns the path of the server's socket.
func (s *Server) SocketPath() string { return s.path }

// SetReply scripts the reply to method and path from now on, replacing
// the default behaviour.
func (s *Server) SetReply(method, path string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[method+" "+path] = r
}

// ClearReply removes a reply set by SetReply or Config.Replies, so the
// default behaviour applies again.
func (s *Server) ClearReply(method, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.replies, method+" "+path)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// State returns the instance state as GET / reports it, such as
// "Not started".
func (s *Server) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vm.state
}

// Connections returns the number of connections accepted so far, which
// shows whether a client reuses its connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *Server) countConn(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
	}
}

// Close stops the listener, closes every connection, waits for the
// handlers to return and removes the socket. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.http.Close()
		s.serving.Wait()
		s.handlers.Wait()
	})
}

// ServeHTTP records the request and sends the scripted or default reply.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()

	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	reply, scripted := s.replies[r.Method+" "+r.URL.Path]
	if !scripted {
		reply = s.vm.handle(req)
	}
	s.mu.Unlock()

	s.send(w, r.Context(), reply)
}

// send writes reply, after its delay.
func (s *Server) send(w http.ResponseWriter, ctx context.Context, reply Reply) {
	if reply.Delay > 0 {
		timer := time.NewTimer(reply.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}

	body, status := reply.Body, reply.Status
	if reply.Fault != "" {
		data, _ := json.Marshal(map[string]string{"fault_message": reply.Fault})
		body = string(data)
	}
	if status == 0 {
		switch {
		case reply.Fault != "":
			status = http.StatusBadRequest
		case body != "" || reply.StreamBytes > 0:
			status = http.StatusOK
		default:
			status = http.StatusNoContent
		}
	}

	switch {
	case reply.CloseEarly:
		closeConn(w, nil)
	case reply.Truncate:
		head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			status, http.StatusText(status), len(body))
		closeConn(w, []byte(head+body[:len(body)/2]))
	case reply.StreamBytes > 0:
		s.stream(w, status, reply.StreamBytes)
	default:
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// stream sends n bytes of JSON whitespace in chunks, stopping early when
// a write fails or the server closes.
func (s *Server) stream(w http.ResponseWriter, status int, n int64) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = ' '
	}
	flusher, _ := w.(http.Flusher)
	for n > 0 {
		select {
		case <-s.done:
			return
		default:
		}
		part := chunk[:min(n, int64(len(chunk)))]
		if _, err := w.Write(part); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		n -= int64(len(part))
	}
}

// closeConn takes the connection from net/http, writes raw and closes it.
func closeConn(w http.ResponseWriter, raw []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fctest: response writer cannot hijack the connection")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if len(raw) > 0 {
		buf.Write(raw)
		buf.Flush()
	}
}
