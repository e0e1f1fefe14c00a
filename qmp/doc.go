// Package qmp is a client for the QEMU Machine Protocol (QMP), the JSON
// protocol of QEMU's control socket, as started with
// "-qmp unix:PATH,server=on,wait=off".
//
// A Client holds one session on a Unix socket: Dial connects, retrying
// until QEMU has created the socket, checks the greeting and negotiates
// capabilities. One reader goroutine per session routes each line from
// QEMU: replies go to the waiting call by their string id, events go to
// subscribers. Each command carries its own id, so any number of calls
// from any number of goroutines may be in flight at once, and events that
// arrive between a command and its reply are never taken for the reply.
//
// Every call that can block takes a context.Context. A call that ends
// because its context ended leaves the session usable; QEMU may still
// carry the command out, and its late reply is counted and dropped.
// Commands without an earlier deadline get a default timeout by kind from
// Options.
//
// Privileges: the caller needs read and write permission on the socket
// and nothing else. The package starts no processes and does no logging.
//
// Concurrency: a Client is safe for concurrent use. Close ends the
// session, fails pending calls with ErrClosed and returns once the reader
// goroutine has exited; the Client starts no other goroutines.
package qmp
