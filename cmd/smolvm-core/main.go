// Command smolvm-core does the host-side work of a microVM sandbox from the
// shell: TAP devices, addresses, routes and sysctls with direct kernel
// calls, sandbox NAT, port forwards and egress limits in nftables, QEMU
// control over QMP, a capability report and an end-to-end demo.
//
// Exit status: 0 on success, 1 when an operation fails, 2 on a usage error
// (unknown command or flag, wrong number of arguments, invalid value).
// Errors go to stderr on one line that names the operation and the value.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/network"
)

// usageError marks an error caused by the command line rather than by the
// operation.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// globals holds the flags that every subcommand shares.
type globals struct {
	netns   string
	backend string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A signal ended the run, which reads better as "interrupted" than as
		// "context canceled".
		fmt.Fprintf(stderr, "smolvm-core: interrupted: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "smolvm-core: %v\n", err)
	var uerr usageError
	var verr *network.ValidationError
	var fverr *firewall.ValidationError
	if errors.As(err, &uerr) || errors.As(err, &verr) || errors.As(err, &fverr) {
		return 2
	}
	return 1
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "smolvm-core",
		Short: "Host-side networking and VMM control for microVM sandboxes",
		Long: "smolvm-core prepares the host side of a microVM sandbox (TAP devices, addresses,\n" +
			"routes, sysctls) with direct kernel calls and controls QEMU over QMP.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("a command is required")
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&g.netns, "netns", "",
		"run network operations inside the named network namespace in /run/netns, as 'ip -n NAME' does")
	root.PersistentFlags().StringVar(&g.backend, "backend", "auto",
		"network path: native (direct kernel calls), command (ip and sysctl subprocesses, through sudo -n when not root), "+
			"or auto (native when permitted; SMOLVM_DISABLE_NATIVE_NETWORKING=1 forces command)")
	root.CompletionOptions.DisableDefaultCmd = true

	root.AddCommand(
		newCapsCommand(),
		newTAPCommand(g),
		newAddrCommand(g),
		newLinkCommand(g),
		newRouteCommand(g),
		newDefaultInterfaceCommand(g),
		newSysctlCommand(g),
		newNATCommand(g),
		newForwardCommand(g),
		newEgressCommand(g),
		newFirewallCommand(g),
		newQMPCommand(),
		newFCCommand(),
		newDiskCommand(),
		newDemoCommand(),
		newGCCommand(g),
		newSandboxCommand(g),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error and the argument names.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s takes the arguments %s, got %d (see --help)", commandName(cmd), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// minArgs requires at least one argument, named name in the message.
func minArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s takes one or more %s arguments, got none (see --help)", commandName(cmd), name)
		}
		return nil
	}
}

// noArgs rejects positional arguments, which for a command with
// subcommands means an unknown subcommand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for %s", args[0], cmd.CommandPath())
		}
		return usagef("%s takes no arguments", commandName(cmd))
	}
	return nil
}

// commandName is the command path without the program name, because every
// error line already starts with it.
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// rejectNetns is a PersistentPreRunE for commands that do no network
// operations, where --netns would otherwise be ignored without a word.
func rejectNetns(cmd *cobra.Command, _ []string) error {
	if f := cmd.Flags().Lookup("netns"); f != nil && f.Changed {
		return usagef("--netns applies to network commands only, not to %s", commandName(cmd))
	}
	if f := cmd.Flags().Lookup("backend"); f != nil && f.Changed {
		b, err := network.ParseBackend(f.Value.String())
		if err != nil {
			return usageError{err}
		}
		if b != network.BackendAuto {
			return usagef("--backend applies to network commands only, not to %s", commandName(cmd))
		}
	}
	return nil
}

// group returns a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("%s needs a subcommand (see --help)", commandName(cmd))
		},
	}
	c.AddCommand(subs...)
	return c
}
