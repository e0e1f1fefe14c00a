package qmp

import (
	"strings"
	"time"
)

// Default values used for zero fields of Options. The timeouts only guard
// against a QEMU that hangs or a peer that is not QEMU, so they sit far
// above normal reply times. A query-status round trip on QEMU 7.2 under
// TCG takes about 0.2 ms (see BENCHMARKS.md). Block commands wait for disk
// I/O, which can take minutes on a loaded host.
const (
	// DefaultMaxLineSize is in bytes. The largest reply seen in practice,
	// query-qmp-schema, is about 200 KB on one line with QEMU 7.2.
	DefaultMaxLineSize     = 16 << 20
	DefaultDialTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultQueryTimeout    = 30 * time.Second
	DefaultLongTimeout     = 10 * time.Minute
	DefaultEventBuffer     = 64 // events per subscriber
	DefaultJobPollInterval = time.Second
	// Dial retries a missing or refusing socket with exponential backoff
	// between these bounds.
	defaultRetryMin = 5 * time.Millisecond
	defaultRetryMax = 250 * time.Millisecond
)

// Options configures a Client. The zero value is usable; zero fields take
// the defaults above. A negative duration disables that limit.
type Options struct {
	// MaxLineSize is the maximum length in bytes of one line from QEMU,
	// without the line ending. A longer line is skipped up to its newline
	// and fails the call it belongs to with ErrMessageTooLarge. That call
	// is found by the line's "id" when it is the first or the last key, as
	// QEMU 7.2 writes them. Otherwise the oldest outstanding call is
	// failed, because QEMU replies in the order it receives commands. An
	// over-long event is dropped.
	MaxLineSize int

	// DialTimeout bounds connecting, reading the greeting and negotiating
	// capabilities together, in addition to the context given to Dial.
	DialTimeout time.Duration

	// WriteTimeout bounds the write of one command to the socket.
	WriteTimeout time.Duration

	// QueryTimeout is the default timeout of commands not listed as long,
	// such as query-status or stop. It applies when the context has no
	// earlier deadline.
	QueryTimeout time.Duration

	// LongTimeout is the default timeout of block, hotplug, snapshot, job
	// and migration commands, which may wait for disk I/O.
	LongTimeout time.Duration

	// CommandTimeouts overrides the default timeout of single commands,
	// keyed by command name.
	CommandTimeouts map[string]time.Duration

	// EventBuffer is the default number of events buffered per
	// subscriber before further events are dropped and counted.
	EventBuffer int

	// JobPollInterval is how often job waiters poll query-jobs in case a
	// JOB_STATUS_CHANGE event was missed. A negative value turns polling
	// off, so waiters rely on events alone.
	JobPollInterval time.Duration

	// ProcessID, when not zero, is the pid of the QEMU process behind the
	// socket, such as exec.Cmd.Process.Pid. Dial checks it between
	// connection attempts, which are at most 250 ms apart, and stops with
	// ErrProcessExited once the process has exited or is a zombie.
	ProcessID int
}

// withDefaults returns a copy of o with zero fields set to defaults.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxLineSize <= 0 {
		out.MaxLineSize = DefaultMaxLineSize
	}
	out.DialTimeout = orDefault(out.DialTimeout, DefaultDialTimeout)
	out.WriteTimeout = orDefault(out.WriteTimeout, DefaultWriteTimeout)
	out.QueryTimeout = orDefault(out.QueryTimeout, DefaultQueryTimeout)
	out.LongTimeout = orDefault(out.LongTimeout, DefaultLongTimeout)
	out.JobPollInterval = orDefault(out.JobPollInterval, DefaultJobPollInterval)
	if out.EventBuffer <= 0 {
		out.EventBuffer = DefaultEventBuffer
	}
	return out
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// longPrefixes lists the command name prefixes that take LongTimeout.
var longPrefixes = []string{
	"blockdev-", "block-", "block_", "drive-", "snapshot-", "job-",
	"device_", "netdev_", "object-", "migrate", "human-monitor-command",
	"x-blockdev-", "transaction",
}

// timeoutFor returns the default timeout of a command; a value <= 0 means
// none.
func (o *Options) timeoutFor(command string) time.Duration {
	if d, ok := o.CommandTimeouts[command]; ok {
		return d
	}
	for _, p := range longPrefixes {
		if strings.HasPrefix(command, p) {
			return o.LongTimeout
		}
	}
	return o.QueryTimeout
}
