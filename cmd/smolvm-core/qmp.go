package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/qmp"
)

// qmpFlags are the flags shared by the qmp subcommands.
type qmpFlags struct {
	socket  string
	timeout time.Duration
}

// withClient connects to the QMP socket, runs fn and closes the session.
// --timeout bounds the whole command.
func (f *qmpFlags) withClient(cmd *cobra.Command, fn func(ctx context.Context, c *qmp.Client) error) error {
	if f.timeout < 0 {
		return usagef("invalid --timeout %v: must not be negative", f.timeout)
	}
	ctx := cmd.Context()
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// dial connects to the QMP socket; --timeout bounds the connection.
func (f *qmpFlags) dial(ctx context.Context) (*qmp.Client, error) {
	if f.socket == "" {
		return nil, usagef("--socket is required")
	}
	if f.timeout < 0 {
		return nil, usagef("invalid --timeout %v: must not be negative", f.timeout)
	}
	var opts qmp.Options
	if f.timeout > 0 {
		opts.DialTimeout = f.timeout
	}
	return qmp.Dial(ctx, f.socket, &opts)
}

func newQMPCommand() *cobra.Command {
	f := &qmpFlags{}
	exec := &cobra.Command{
		Use:   "exec COMMAND [JSON-ARGUMENTS]",
		Short: "Run one QMP command and print its return value as JSON",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s takes COMMAND and optional JSON-ARGUMENTS, got %d arguments", commandName(cmd), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return usagef("invalid COMMAND \"\": must not be empty")
			}
			var arguments any
			if len(args) == 2 {
				raw, err := parseArguments(args[1])
				if err != nil {
					return err
				}
				arguments = raw
			}
			return f.withClient(cmd, func(ctx context.Context, c *qmp.Client) error {
				ret, err := c.Execute(ctx, args[0], arguments)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(ret))
				return nil
			})
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Print the VM's run state (query-status)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *qmp.Client) error {
				st, err := c.QueryStatus(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), st.Status)
				return nil
			})
		},
	}
	g := group("qmp", "Control QEMU over its QMP socket", exec, status, newEventsCommand(f), newSnapshotCommand(f))
	g.PersistentPreRunE = rejectNetns
	g.PersistentFlags().StringVar(&f.socket, "socket", "", "path of QEMU's QMP Unix socket (required)")
	g.PersistentFlags().DurationVar(&f.timeout, "timeout", 0,
		"limit for the whole command, such as 10s (for events: for connecting only); 0 uses the client's defaults: "+
			"30s to connect, 30s per query, 10m per block or snapshot job")
	return g
}

// parseArguments checks that s is one JSON object, as QMP requires for
// "arguments".
func parseArguments(s string) (json.RawMessage, error) {
	const example = `such as '{"device":"disk0"}'`
	trimmed := strings.TrimSpace(s)
	if !strings.HasPrefix(trimmed, "{") {
		return nil, usagef("invalid JSON-ARGUMENTS %q: must be a JSON object, %s", s, example)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &obj); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, usagef("invalid JSON-ARGUMENTS %q: %v at byte %d", s, syntax, syntax.Offset)
		}
		return nil, usagef("invalid JSON-ARGUMENTS %q: must be a JSON object, %s", s, example)
	}
	return json.RawMessage(trimmed), nil
}
