package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/sandbox"
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
				rows := []network.TAPInfo{}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				if !asJSON {
					fmt.Fprintln(w, "NAME\tOWNER\tUP\tCARRIER\tSANDBOX\tMARK")
				}
				for _, t := range taps {
					if markedOnly && !t.Marked {
						continue
					}
					rows = append(rows, t)
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
		opts   sandbox.GCOptions
	)
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove what a crashed runtime left behind: unheld marked TAPs, orphaned firewall entries, stale disk temp files",
		Long: "Find the TAP devices that smolvm-core marked (alias smolvm or smolvm:ID) and that no\n" +
			"process holds, and delete them; then remove the firewall entries of every TAP that no\n" +
			"longer exists. Unmarked devices, TAPs a running VMM holds and other nftables tables are\n" +
			"never touched. A sandbox that is up but whose VMM has not started has an unheld TAP, so\n" +
			"pass its id with --keep while sandboxes are starting. --dry-run only reports.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withSandboxes(cmd, func(ctx context.Context, m *sandbox.Manager) error {
				r, err := m.GC(ctx, opts)
				if asJSON {
					if jerr := writeJSON(cmd, r); jerr != nil {
						return jerr
					}
					return err
				}
				out := cmd.OutOrStdout()
				for _, t := range r.TAPs.Found {
					fmt.Fprintf(out, "found tap %s (sandbox %s)\n", t.Name, dash(t.SandboxID))
				}
				for _, name := range r.TAPs.Held {
					fmt.Fprintf(out, "kept tap %s: a process holds it\n", name)
				}
				for _, name := range r.TAPs.Removed {
					fmt.Fprintf(out, "removed tap %s\n", name)
				}
				verb := "removed"
				if opts.DryRun {
					verb = "would remove"
				}
				for _, tap := range r.Firewall {
					fmt.Fprintf(out, "%s the firewall entries of tap %s, which is gone or collected above\n", verb, tap)
				}
				for _, path := range r.TempFiles {
					fmt.Fprintf(out, "%s stale temporary file %s\n", verb, path)
				}
				if opts.DryRun {
					fmt.Fprintf(out, "dry run: %d taps would be removed\n", len(r.TAPs.Found))
				}
				return err
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "report what would be removed and change nothing")
	c.Flags().StringVar(&opts.SandboxID, "sandbox", "", "only collect what belongs to this sandbox id")
	c.Flags().StringArrayVar(&opts.Keep, "keep", nil, "leave this sandbox id alone, such as one whose VMM has not started yet; repeatable")
	c.Flags().StringArrayVar(&opts.TempDirs, "temp-dir", nil, "also remove stale temporary files of disk copies (.smolvm-tmp-*) in this directory; repeatable")
	c.Flags().DurationVar(&opts.TempAge, "temp-age", sandbox.DefaultTempAge, "age after which such a temporary file counts as stale")
	return c
}
