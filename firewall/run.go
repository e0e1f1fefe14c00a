package firewall

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// CommandError is the cause when a host command such as nft fails. It
// keeps the command line, the exit status and what the command wrote to
// stderr.
type CommandError struct {
	Argv []string
	// ExitCode is the exit status, or -1 when the command did not run or
	// was killed.
	ExitCode int
	Stderr   string
	// Err is the cause when the command could not be started or waited
	// for.
	Err error
}

func (e *CommandError) Error() string {
	msg := strings.Join(e.Argv, " ")
	switch {
	case e.Err != nil && e.ExitCode < 0:
		msg += ": " + e.Err.Error()
	default:
		msg += ": exit status " + strconv.Itoa(e.ExitCode)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + strings.ReplaceAll(s, "\n", "; ")
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// TODO: replace runHost with the shared host-command runner once it is on
// the main branch; it does the same (argv only, LC_ALL=C, sudo -n when not
// root).

// runHost runs argv without a shell, with LC_ALL=C so output does not
// depend on the locale, through `sudo -n` when the process is not root.
func runHost(ctx context.Context, argv []string, stdin []byte) ([]byte, error) {
	full := argv
	if os.Geteuid() != 0 {
		full = append([]string{"sudo", "-n", "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	cerr := &CommandError{Argv: full, ExitCode: -1, Stderr: stderr.String(), Err: err}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		cerr.ExitCode = exit.ExitCode()
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		cerr.Err = ctxErr
	}
	return nil, cerr
}
