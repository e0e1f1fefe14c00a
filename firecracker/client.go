package firecracker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default values used for zero fields of Options. The timeouts only guard
// against a Firecracker that hangs, so they sit far above the time a
// configuration request takes. A snapshot writes or maps the whole guest
// memory, which can take minutes for a large VM on a slow disk.
const (
	// DefaultMaxResponseSize is in bytes. Firecracker's replies are small
	// JSON objects. The largest, GET /mmds, is bounded by the MMDS store,
	// which Firecracker limits with --http-api-max-payload-size (since
	// v0.25.1).
	DefaultMaxResponseSize = 1 << 20
	DefaultTimeout         = 30 * time.Second
	DefaultSnapshotTimeout = 10 * time.Minute

	// maxResponseHeaderBytes bounds the status line and headers.
	maxResponseHeaderBytes = 64 << 10
	// idleConnTimeout closes a kept-alive connection left idle for this
	// long, so an idle client does not hold a connection of Firecracker's
	// API server open for ever.
	idleConnTimeout = 90 * time.Second
)

// Options configures a Client. The zero value is usable, and zero fields
// take the defaults above. A negative duration disables that limit.
type Options struct {
	// MaxResponseSize is the maximum length of a reply body in bytes. A
	// longer reply fails with an error matching ErrResponseTooLarge, and
	// the client reads at most this many bytes of it plus one.
	MaxResponseSize int64

	// Timeout bounds each request except snapshot create and load, when
	// the context has no earlier deadline.
	Timeout time.Duration

	// SnapshotTimeout bounds PUT /snapshot/create and /snapshot/load, when
	// the context has no earlier deadline.
	SnapshotTimeout time.Duration
}

// withDefaults returns a copy of o with zero fields set to defaults.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxResponseSize <= 0 {
		out.MaxResponseSize = DefaultMaxResponseSize
	}
	if out.Timeout == 0 {
		out.Timeout = DefaultTimeout
	}
	if out.SnapshotTimeout == 0 {
		out.SnapshotTimeout = DefaultSnapshotTimeout
	}
	return out
}

// timeoutFor returns the default timeout of a request to path. A value
// <= 0 means none.
func (o *Options) timeoutFor(path string) time.Duration {
	if strings.HasPrefix(path, "/snapshot/") {
		return o.SnapshotTimeout
	}
	return o.Timeout
}

// Client sends requests to one Firecracker API socket. It keeps
// connections open between requests and reuses them.
type Client struct {
	socket    string
	opts      Options
	transport *http.Transport
	http      *http.Client

	// closed ends with cause ErrClosed when Close runs, which cancels
	// every request in flight.
	closed    context.Context
	closeNow  context.CancelCauseFunc
	closeOnce sync.Once
}

// New returns a client for the API socket at socketPath, as given to
// "firecracker --api-sock". It does not connect: the first request does,
// so New succeeds before Firecracker has created the socket.
func New(socketPath string, opts *Options) (*Client, error) {
	if socketPath == "" {
		return nil, invalid("socket path", socketPath, "must not be empty")
	}
	c := &Client{socket: socketPath, opts: opts.withDefaults()}
	c.closed, c.closeNow = context.WithCancelCause(context.Background())
	c.transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableCompression: true,
		// A runtime sends a few requests at a time at most, and each
		// in-flight request needs a connection of its own.
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	c.http = &http.Client{
		Transport: c.transport,
		// Firecracker does not redirect, so a 3xx is returned as an APIError.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Socket returns the path of the API socket.
func (c *Client) Socket() string { return c.socket }

// Close cancels the requests in flight, which then fail with ErrClosed,
// and closes the idle connections. Later requests fail with ErrClosed.
// Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeNow(ErrClosed)
		c.transport.CloseIdleConnections()
	})
	return nil
}

// Do sends one request and returns the reply's status code and JSON body.
// It is the call behind every typed helper, for requests they do not
// cover.
//
// method is upper case, such as "GET", "PUT" or "PATCH", and path is
// checked by ValidatePath. body may be nil for no body, a json.RawMessage
// or []byte holding JSON to send as it is, or any value that encodes to
// JSON.
//
// payload is nil when the reply has no body, as Firecracker's 204 No
// Content replies to PUT and PATCH. A status outside 2xx returns the
// status and an *APIError with Firecracker's fault message. A request
// that got no usable reply returns an *OpError, with status 0 when no
// reply arrived. Invalid input returns a *ValidationError and sends
// nothing.
//
// The request ends when the reply has been read, when ctx ends, when the
// default timeout from Options passes, or when Close runs. Firecracker may
// still carry out a request whose caller stopped waiting.
func (c *Client) Do(ctx context.Context, method, path string, body any) (status int, payload json.RawMessage, err error) {
	if err := validateMethod(method); err != nil {
		return 0, nil, err
	}
	if err := ValidatePath(path); err != nil {
		return 0, nil, err
	}
	data, err := encodeBody(body)
	if err != nil {
		return 0, nil, err
	}
	return c.send(ctx, method, path, data)
}

// encodeBody returns the JSON to send for body, or nil for no body.
func encodeBody(body any) ([]byte, error) {
	var data []byte
	switch b := body.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		data = b
	case []byte:
		data = b
	default:
		encoded, err := json.Marshal(body)
		if err != nil {
			return nil, invalid("body", fmt.Sprintf("%T", body), "cannot be encoded as JSON: %v", err)
		}
		return encoded, nil
	}
	if !json.Valid(data) {
		return nil, invalid("body", truncate(data, maxBodyInError), "is not valid JSON")
	}
	return data, nil
}

// send runs one request whose method and path are already valid. data
// nil sends no body.
func (c *Client) send(ctx context.Context, method, path string, data []byte) (int, json.RawMessage, error) {
	fail := func(err error) error {
		return &OpError{Method: method, Path: path, Socket: c.socket, Err: err}
	}
	if c.closed.Err() != nil {
		return 0, nil, fail(ErrClosed)
	}
	// A request that finishes while Close runs may return its connection
	// to the idle pool after Close emptied it, so empty it again. This
	// runs after the reply body is closed, because deferred calls run in
	// reverse order.
	defer func() {
		if c.closed.Err() != nil {
			c.transport.CloseIdleConnections()
		}
	}()

	ctx, cancel := c.requestContext(ctx, path)
	defer cancel()
	if ctx.Err() != nil {
		return 0, nil, fail(contextError(ctx))
	}

	var body io.Reader
	if data != nil {
		body = bytes.NewReader(data)
	}
	// The host part is required by net/http and ignored by Firecracker.
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, body)
	if err != nil {
		return 0, nil, fail(err)
	}
	req.Header.Set("Accept", "application/json")
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fail(transportError(ctx, err))
	}
	defer resp.Body.Close()
	raw, err := readBody(resp, c.opts.MaxResponseSize)
	if err != nil {
		return resp.StatusCode, nil, fail(transportError(ctx, err))
	}

	payload, err := decodeReply(resp.StatusCode, raw)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Method, apiErr.Path, apiErr.Socket = method, path, c.socket
		return resp.StatusCode, nil, apiErr
	}
	if err != nil {
		return resp.StatusCode, nil, fail(err)
	}
	return resp.StatusCode, payload, nil
}

// requestContext derives the context of one request: bounded by the
// default timeout for path and cancelled with cause ErrClosed by Close.
func (c *Client) requestContext(ctx context.Context, path string) (context.Context, context.CancelFunc) {
	var cancelTimeout context.CancelFunc = func() {}
	if d := c.opts.timeoutFor(path); d > 0 {
		ctx, cancelTimeout = context.WithTimeout(ctx, d)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.closed, func() { cancel(context.Cause(c.closed)) })
	return ctx, func() {
		stop()
		cancel(nil)
		cancelTimeout()
	}
}

// transportError returns the cause of a failed round trip or body read:
// why ctx ended when it has, else err without net/http's *url.Error,
// whose text repeats the method and a URL with a made-up host.
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// readBody reads the reply body, at most limit bytes of it.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, &ResponseTooLargeError{Limit: limit, ContentLength: resp.ContentLength}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, &ResponseTooLargeError{Limit: limit, ContentLength: -1}
	}
	return body, nil
}

// decodeReply returns the payload of a 2xx reply, nil when the body is
// empty or only whitespace, or an *APIError for any other status. Only
// StatusCode, FaultMessage and Body of the APIError are set.
func decodeReply(status int, body []byte) (json.RawMessage, error) {
	if status >= 200 && status < 300 {
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 {
			return nil, nil
		}
		if !json.Valid(trimmed) {
			return nil, fmt.Errorf("%w: status %d with a body that is not JSON: %q", ErrInvalidReply, status, truncate(trimmed, maxBodyInError))
		}
		return json.RawMessage(trimmed), nil
	}

	apiErr := &APIError{StatusCode: status}
	var fault struct {
		FaultMessage string `json:"fault_message"`
	}
	if err := json.Unmarshal(body, &fault); err == nil && fault.FaultMessage != "" {
		apiErr.FaultMessage = fault.FaultMessage
	} else if len(body) > 0 {
		apiErr.Body = body
	}
	return nil, apiErr
}

// truncate returns at most n bytes of b as a string, marked with "..."
// when cut.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
