// Package hostcmd runs the host's networking tools (ip, sysctl, nft) as
// subprocesses for the command path of the network and firewall packages.
//
// Commands get an argument list, never a shell string, and run with
// LC_ALL=C so that their messages can be mapped to errno values. A Runner
// for a process that is not root runs them through `sudo -n`, which fails at
// once instead of asking for a password. A Runner bound to a network
// namespace passes `-n NAME` to ip and runs other tools under
// `ip netns exec NAME`.
package hostcmd

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Runner runs host tools. The zero value runs them directly in the
// caller's namespace. A Runner is safe for concurrent use.
type Runner struct {
	// Netns names a network namespace in /run/netns to run the tools in.
	Netns string
	// Sudo runs every tool through `sudo -n`.
	Sudo bool
}

// New returns a Runner for the namespace netns (empty for the caller's)
// that uses sudo when the process is not root.
func New(netns string) *Runner {
	return &Runner{Netns: netns, Sudo: os.Geteuid() != 0}
}

// IP runs `ip [-n NETNS] ARGS...` and returns its standard output.
func (r *Runner) IP(ctx context.Context, args ...string) ([]byte, error) {
	argv := []string{"ip"}
	if r.Netns != "" {
		argv = append(argv, "-n", r.Netns)
	}
	return r.run(ctx, nil, append(argv, args...))
}

// Tool runs name with args inside the Runner's namespace, feeding it stdin
// (which may be nil), and returns its standard output.
func (r *Runner) Tool(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	var argv []string
	if r.Netns != "" {
		argv = append(argv, "ip", "netns", "exec", r.Netns)
	}
	argv = append(argv, name)
	return r.run(ctx, stdin, append(argv, args...))
}

func (r *Runner) run(ctx context.Context, stdin []byte, argv []string) ([]byte, error) {
	if r.Sudo {
		argv = append([]string{"sudo", "-n"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = environ()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, &Error{Argv: argv, ExitCode: -1, Err: ctxErr}
	}
	e := &Error{Argv: argv, ExitCode: -1, Stderr: strings.TrimSpace(stderr.String())}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		e.ExitCode = exitErr.ExitCode()
		e.Err = Errno(e.Stderr)
	} else {
		e.Err = err
	}
	return nil, e
}

// environ returns the process environment with the locale forced to C, so
// the tools print the English messages that Errno matches.
func environ() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "LC_ALL=") && !strings.HasPrefix(kv, "LANGUAGE=") {
			out = append(out, kv)
		}
	}
	return append(out, "LC_ALL=C")
}

// Error is a tool that could not be started or exited with a failure.
type Error struct {
	// Argv is the command line as run, sudo included.
	Argv []string
	// ExitCode is the exit status, or -1 when the tool did not run to an
	// exit (not found, killed, or cancelled).
	ExitCode int
	// Stderr is the tool's standard error output, trimmed.
	Stderr string
	// Err is the cause: the errno that Stderr names, ErrUnknown when it
	// names none, the context's error after a cancellation, or the error
	// of starting the tool.
	Err error
}

func (e *Error) Error() string {
	msg := strings.Join(e.Argv, " ")
	if e.Err == ErrSudo {
		return msg + ": " + lastLine(e.Stderr) + " (" + ErrSudo.Error() + ")"
	}
	if e.Stderr != "" {
		return msg + ": " + lastLine(e.Stderr)
	}
	return msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknown is the cause of a failed tool whose message names no errno.
var ErrUnknown = errors.New("the tool failed with a message that names no known error")

// ErrSudo is the cause when sudo refused to run the tool without a
// password. It matches fs.ErrPermission.
var ErrSudo error = sudoError{}

type sudoError struct{}

func (sudoError) Error() string {
	return "sudo -n refused: allow this user to run ip, sysctl and nft without a password, or run as root"
}

func (sudoError) Is(target error) bool {
	return target == fs.ErrPermission || target == syscall.EPERM
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
