package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/network"
)

// addSandboxFlag adds --sandbox: the sandbox id that marks a new TAP.
func addSandboxFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "sandbox", "",
		"sandbox id to mark a new TAP with (alias smolvm:ID), so list and gc can name it; letters, digits, '.', '_', '-'")
}

// sandboxOption turns the --sandbox value into TAP options.
func sandboxOption(id string) []network.TAPOption {
	if id == "" {
		return nil
	}
	return []network.TAPOption{network.WithSandbox(id)}
}

func newTAPListCommand(g *globals) *cobra.Command {
	var asJSON, markedOnly bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the TAP devices (ip -details link show type tun), with their smolvm-core marks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				taps, err := m.ListTAPs(ctx)
				if err != nil {
					return err
				}
				rows := []map[string]any{}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				if !asJSON {
					fmt.Fprintln(w, "NAME\tOWNER\tUP\tCARRIER\tSANDBOX\tMARK")
				}
				for _, t := range taps {
					if markedOnly && !t.Marked {
						continue
					}
					rows = append(rows, tapJSON(t))
					if !asJSON {
						fmt.Fprintf(w, "%s\t%s\t%v\t%v\t%s\t%s\n", t.Name, idText(t.Owner), t.Up, t.Carrier, dash(t.SandboxID), dash(t.Alias))
					}
				}
				if asJSON {
					return writeJSON(cmd, rows)
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&markedOnly, "marked", false, "list only the TAPs smolvm-core created")
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newGCCommand(g *globals) *cobra.Command {
	var (
		asJSON bool
		opts   network.CollectOptions
	)
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove what a crashed runtime left behind: marked TAPs that no process holds",
		Long: "Find the TAP devices that smolvm-core marked (alias smolvm or smolvm:ID) and that no\n" +
			"process holds, and delete them. Unmarked devices and TAPs a running VMM holds are never\n" +
			"touched. --dry-run only reports what would be removed.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				c, err := m.CollectTAPs(ctx, opts)
				if asJSON {
					if jerr := writeJSON(cmd, gcJSON(c, opts.DryRun)); jerr != nil {
						return jerr
					}
					return err
				}
				out := cmd.OutOrStdout()
				for _, t := range c.Found {
					fmt.Fprintf(out, "found tap %s (sandbox %s)\n", t.Name, dash(t.SandboxID))
				}
				for _, name := range c.Held {
					fmt.Fprintf(out, "kept tap %s: a process holds it\n", name)
				}
				for _, name := range c.Removed {
					fmt.Fprintf(out, "removed tap %s\n", name)
				}
				if opts.DryRun {
					fmt.Fprintf(out, "dry run: %d taps would be removed\n", len(c.Found))
				}
				return err
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "report what would be removed and change nothing")
	c.Flags().StringVar(&opts.SandboxID, "sandbox", "", "only collect the TAPs of this sandbox id")
	return c
}

// gcJSON is the --json form of a collection; lists are never null.
func gcJSON(c network.Collection, dryRun bool) map[string]any {
	found := []map[string]any{}
	for _, t := range c.Found {
		found = append(found, tapJSON(t))
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"dry_run": dryRun,
		"taps":    map[string]any{"found": found, "removed": orEmpty(c.Removed), "held": orEmpty(c.Held)},
	}
}
