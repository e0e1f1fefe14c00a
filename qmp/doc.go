// Package qmp is a client for the QEMU Machine Protocol (QMP), the JSON
// protocol of QEMU's control socket, as started with
// "-qmp unix:PATH,server=on,wait=off".
//
// A Client holds one session on a Unix socket. Dial connects, retrying
// until QEMU has created the socket, checks the greeting and negotiates
// capabilities. One reader goroutine per session routes each line from
// QEMU: replies go to the waiting call by their string id, and events go
// to subscribers. Each command carries its own id, so any number of calls
// from any number of goroutines may be in flight at once, and events that
// arrive between a command and its reply are never taken for the reply.
//
// Typed helpers cover the commands a sandbox runtime uses. They query the
// run state, version, commands and KVM, and run stop, cont, quit and
// system_powerdown. Snapshots are job based, with a waiter that follows
// JOB_STATUS_CHANGE events. Block helpers cover internal qcow2 snapshots
// and blockdev add, backup and del. HMP commands and descriptor passing
// with getfd and add-fd complete the set. Execute runs any other command.
//
// Cancellation: every call that can block takes a context.Context. A call
// that ends because its context ended leaves the session usable. QEMU may
// still carry the command out, and its late reply is counted and dropped.
// Commands without an earlier deadline get a default timeout by kind from
// Options.
//
// Errors: QEMU's error replies are *Error values with the class, the
// description, the command and the socket path. Conditions that callers
// branch on have sentinels, such as ErrDisconnected or ErrJobFailed, for
// use with errors.Is.
//
// Privileges: the caller needs read and write permission on the socket
// and nothing else. Anyone with that permission controls the VM fully, so
// keep the socket in a directory only the runtime can reach. The package
// starts no processes and does no logging.
//
// Concurrency: a Client is safe for concurrent use. Close ends the
// session, fails pending calls with ErrClosed and returns once the reader
// goroutine has exited. The Client starts no other goroutines.
//
// Non-goals: out-of-band execution, which QEMU offers as the "oob"
// capability, is not enabled, so QEMU runs commands in the order it
// receives them. QMP over TCP is not supported.
package qmp
