package qmptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is one client connection to a Server.
type Conn struct {
	srv *Server
	uc  *net.UnixConn

	mu         sync.Mutex // serialises output and guards the fields below
	coalesced  []byte     // output held back in WriteCoalesced mode
	coalescing bool
	paused     bool
	closed     bool
}

func (c *Conn) serve() {
	defer c.srv.wg.Done()
	defer c.Close()

	cfg := &c.srv.cfg
	if cfg.BeforeGreeting != nil {
		cfg.BeforeGreeting(c)
	}
	if cfg.NoGreeting {
		// Hold the connection open without a word until the server closes.
		var b [1]byte
		for {
			if _, err := c.uc.Read(b[:]); err != nil {
				return
			}
		}
	}
	greeting := cfg.Greeting
	if greeting == "" {
		greeting = DefaultGreeting
	}
	c.WriteLine(greeting)

	var buf bytes.Buffer
	data := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(16*4))
	var files []*os.File
	for {
		n, oobn, _, _, err := c.uc.ReadMsgUnix(data, oob)
		if oobn > 0 {
			files = append(files, receivedFiles(oob[:oobn])...)
		}
		if n > 0 {
			buf.Write(data[:n])
		}
		for _, line := range splitLines(&buf) {
			c.handle(line, files)
			files = nil
		}
		if err != nil {
			return
		}
	}
}

// handle decodes one line and runs its handler. Lines that are not a command get
// the error QEMU sends for them, without an id.
func (c *Conn) handle(line []byte, files []*os.File) {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil || req.Execute == "" {
		c.WriteLine(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}`)
		return
	}
	req.Files = files
	req.Line = line
	c.srv.record(req)

	if c.srv.cfg.Write == WriteCoalesced {
		c.mu.Lock()
		c.coalescing = true
		c.mu.Unlock()
	}
	c.srv.handler(req.Execute)(c, req)
	c.Flush()
}

// Reply sends a successful reply to req with ret as "return". The keys
// are in the order QEMU 7.2 writes them: "return" first, "id" last.
func (c *Conn) Reply(req Request, ret any) {
	line := `{"return": ` + string(mustMarshal(ret))
	if req.ID != nil {
		line += `, "id": ` + string(req.ID)
	}
	c.WriteLine(line + "}")
}

// ReplyError sends an error reply to req, with "id" first as QEMU 7.2
// writes it. A request without an id gets an error without one.
func (c *Conn) ReplyError(req Request, class, desc string) {
	body := `"error": ` + string(mustMarshal(map[string]string{"class": class, "desc": desc}))
	if req.ID != nil {
		body = `"id": ` + string(req.ID) + ", " + body
	}
	c.WriteLine("{" + body + "}")
}

// Event sends an event with the given data; nil data omits the key.
func (c *Conn) Event(name string, data any) {
	now := time.Now()
	line := fmt.Sprintf(`{"timestamp": {"seconds": %d, "microseconds": %d}, "event": %s`,
		now.Unix(), now.Nanosecond()/1000, mustMarshal(name))
	if data != nil {
		line += `, "data": ` + string(mustMarshal(data))
	}
	c.WriteLine(line + "}")
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("qmptest: encode message: " + err.Error())
	}
	return b
}

// WriteLine sends line followed by the configured line ending.
func (c *Conn) WriteLine(line string) {
	ending := "\n"
	if c.srv.cfg.CRLF {
		ending = "\r\n"
	}
	c.WriteRaw([]byte(line + ending))
}

// WriteRaw sends b as it is, following the configured write mode. Write
// errors are ignored because the client may have gone away on purpose.
func (c *Conn) WriteRaw(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.coalescing {
		c.coalesced = append(c.coalesced, b...)
		return
	}
	c.writeLocked(b)
}

func (c *Conn) writeLocked(b []byte) {
	if c.srv.cfg.Write != WriteBytes {
		c.uc.Write(b)
		return
	}
	for i := range b {
		if _, err := c.uc.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

// Flush sends output coalesced in WriteCoalesced mode with one write call.
func (c *Conn) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.coalesced) > 0 {
		c.uc.Write(c.coalesced)
	}
	c.coalesced = nil
	c.coalescing = false
}

// Close sends coalesced output and closes the connection. It is idempotent.
func (c *Conn) Close() {
	c.Flush()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.uc.Close()
	c.mu.Unlock()

	c.srv.mu.Lock()
	delete(c.srv.conns, c)
	c.srv.mu.Unlock()
}

// Reset closes the connection so that the client's next read fails with
// ECONNRESET, as when QEMU 7.2 exits on quit. The kernel reports a reset
// only when the closing side leaves unread data behind, so Reset waits up
// to timeout for the client to send more before it closes. Call it from a
// handler while the client has another command on the way. It reports
// whether unread data was seen.
func (c *Conn) Reset(timeout time.Duration) bool {
	raw, err := c.uc.SyscallConn()
	if err != nil {
		c.Close()
		return false
	}
	c.uc.SetReadDeadline(time.Now().Add(timeout))
	var seen bool
	var peek [1]byte
	raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if errors.Is(err, syscall.EAGAIN) {
			return false
		}
		seen = n > 0
		return true
	})
	c.Close()
	return seen
}

// Paused reports whether stop was received without a later cont.
func (c *Conn) Paused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// SetPaused sets the state that query-status reports.
func (c *Conn) SetPaused(p bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = p
}
