package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/firecracker"
)

// fcFlags are the flags shared by the fc subcommands.
type fcFlags struct {
	socket  string
	timeout time.Duration
	pid     int
}

// context returns the command's context, bounded by --timeout when set.
func (f *fcFlags) context(cmd *cobra.Command) (context.Context, context.CancelFunc, error) {
	if f.socket == "" {
		return nil, nil, usagef("--socket is required")
	}
	if f.timeout < 0 {
		return nil, nil, usagef("invalid --timeout %v: must not be negative", f.timeout)
	}
	if f.timeout == 0 {
		ctx, cancel := context.WithCancel(cmd.Context())
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	return ctx, cancel, nil
}

// client returns a client whose default timeouts are --timeout when set.
func (f *fcFlags) client() (*firecracker.Client, error) {
	var opts firecracker.Options
	if f.timeout > 0 {
		opts.Timeout, opts.SnapshotTimeout = f.timeout, f.timeout
	}
	return firecracker.New(f.socket, &opts)
}

// request sends one request and prints the reply's JSON body, or
// {"status": N} for a reply without a body.
func (f *fcFlags) request(cmd *cobra.Command, method, path string, body json.RawMessage) error {
	if err := firecracker.ValidatePath(path); err != nil {
		return usageError{err}
	}
	ctx, cancel, err := f.context(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	c, err := f.client()
	if err != nil {
		return fcError(err)
	}
	defer c.Close()

	var send any
	if body != nil {
		send = body
	}
	status, payload, err := c.Do(ctx, method, path, send)
	if err != nil {
		return fcError(err)
	}
	if payload == nil {
		return writeJSON(cmd, map[string]int{"status": status})
	}
	var out bytes.Buffer
	if err := json.Indent(&out, payload, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = cmd.OutOrStdout().Write(out.Bytes())
	return err
}

// wait polls the socket until the API replies and prints the instance
// info.
func (f *fcFlags) wait(cmd *cobra.Command) error {
	if f.pid < 0 {
		return usagef("invalid --pid %d: must be a process id, or 0 for none", f.pid)
	}
	ctx, cancel, err := f.context(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	opts := &firecracker.WaitOptions{PID: f.pid}
	if f.timeout > 0 {
		opts.Timeout = f.timeout
	}
	info, err := firecracker.WaitReady(ctx, f.socket, opts)
	if err != nil {
		return fcError(err)
	}
	return writeJSON(cmd, info)
}

// fcError makes a rejected input a usage error, so it exits with 2.
func fcError(err error) error {
	var verr *firecracker.ValidationError
	if errors.As(err, &verr) {
		return usageError{err}
	}
	return err
}

// parseJSONBody checks that s is one JSON object, the form of every
// Firecracker request body.
func parseJSONBody(s string) (json.RawMessage, error) {
	const example = `such as '{"action_type":"InstanceStart"}'`
	trimmed := strings.TrimSpace(s)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &obj); err != nil || !strings.HasPrefix(trimmed, "{") {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, usagef("invalid JSON %q: %v at byte %d", s, syntax, syntax.Offset)
		}
		return nil, usagef("invalid JSON %q: must be a JSON object, %s", s, example)
	}
	return json.RawMessage(trimmed), nil
}

func newFCCommand() *cobra.Command {
	f := &fcFlags{}
	get := &cobra.Command{
		Use:   "get PATH",
		Short: "Send GET PATH, such as / or /machine-config, and print the reply's JSON",
		Args:  exactArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.request(cmd, http.MethodGet, args[0], nil)
		},
	}
	withBody := func(method string) *cobra.Command {
		return &cobra.Command{
			Use:   strings.ToLower(method) + " PATH JSON",
			Short: "Send " + method + " PATH with a JSON object body and print the reply",
			Long: "Send " + method + " PATH with the JSON object as the body. The reply's JSON body is\n" +
				"printed, or {\"status\": N} when the reply has none, as Firecracker's 204 No Content.",
			Args: exactArgs("PATH", "JSON"),
			RunE: func(cmd *cobra.Command, args []string) error {
				body, err := parseJSONBody(args[1])
				if err != nil {
					return err
				}
				return f.request(cmd, method, args[0], body)
			},
		}
	}
	wait := &cobra.Command{
		Use:   "wait",
		Short: "Wait until GET / returns 200 and print the instance info",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.wait(cmd)
		},
	}
	wait.Flags().IntVar(&f.pid, "pid", 0, "Firecracker's process id: stop waiting with an error once it has exited (0: do not check)")

	g := group("fc", "Control Firecracker over its API socket", get, withBody(http.MethodPut), withBody(http.MethodPatch), wait)
	g.PersistentPreRunE = rejectNetns
	g.PersistentFlags().StringVar(&f.socket, "socket", "", "path of Firecracker's API Unix socket, as given to firecracker --api-sock (required)")
	g.PersistentFlags().DurationVar(&f.timeout, "timeout", 0,
		"limit for the whole command, such as 10s; 0 uses the client's defaults: "+
			"30s per request, 10m for snapshot create and load, 30s for wait")
	return g
}
