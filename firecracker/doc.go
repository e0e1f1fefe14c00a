// Package firecracker is a client for the HTTP API that Firecracker
// serves on the Unix socket given with "firecracker --api-sock PATH".
//
// A Client sends JSON requests with net/http over a transport that dials
// the socket, and keeps connections open between requests. Typed helpers
// cover what a sandbox runtime sends: machine-config, boot-source, drives,
// network interfaces on a host TAP, the actions InstanceStart,
// SendCtrlAltDel and FlushMetrics, pause and resume, snapshot create and
// load, and instance info. Do sends any other request. WaitReady polls a
// new Firecracker's socket until the API replies, and stops early when
// the Firecracker process exits.
//
// Cancellation: every request takes a context.Context. When the context
// ends, the request's connection is closed and the call returns an error
// matching the context's error. Firecracker may still carry out a request
// whose caller stopped waiting. Requests without an earlier deadline get
// the default timeout from Options.
//
// Errors: a reply with a status outside 2xx is an *APIError with the
// status code, Firecracker's fault_message, the method, the path and the
// socket. A request without a usable reply is an *OpError that keeps the
// cause: a missing socket matches syscall.ENOENT, a timeout
// context.DeadlineExceeded, and an oversized reply ErrResponseTooLarge.
// Invalid input, such as a drive id with a "/", is a *ValidationError
// matching fs.ErrInvalid, and nothing is sent.
//
// Privileges: the caller needs read and write permission on the socket
// and nothing else. Anyone with that permission controls the VM fully, so
// keep the socket in a directory only the runtime can reach. The package
// starts no processes and does no logging.
//
// Concurrency: a Client is safe for concurrent use, and concurrent
// requests use separate connections. Close is idempotent: it cancels requests in flight and closes
// idle connections. The Client starts no goroutines of its own beyond
// those of net/http's transport, which Close ends.
//
// Testing: no Firecracker binary is available on the machine this package
// is developed on, so its tests run against an in-process fake of the API
// (internal/fctest) on a Unix socket. The field names follow Firecracker's
// API description, src/firecracker/swagger/firecracker.yaml in the
// Firecracker repository, but no test has exchanged a request with a real
// Firecracker.
package firecracker
