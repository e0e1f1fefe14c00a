package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/firewall"
)

// withFirewall opens a firewall manager for the global --netns and
// --backend flags, runs fn and closes the manager.
func (g *globals) withFirewall(cmd *cobra.Command, fn func(ctx context.Context, m *firewall.Manager) error) error {
	backend, logger, err := g.pathOptions(cmd)
	if err != nil {
		return err
	}
	m, err := firewall.New(firewall.Options{Netns: g.netns, Backend: firewall.BackendFor(backend), Logger: logger})
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(cmd.Context(), m)
}

// warnForwardDrops prints one warning for each foreign forward chain with
// policy drop, which would drop the traffic just set up.
func warnForwardDrops(ctx context.Context, cmd *cobra.Command, m *firewall.Manager) error {
	drops, err := m.ForwardDrops(ctx)
	if err != nil {
		return err
	}
	for _, c := range drops {
		fmt.Fprintf(cmd.ErrOrStderr(), "smolvm-core: warning: %s\n", c.Advice())
	}
	return nil
}

func newNATCommand(g *globals) *cobra.Command {
	var guest, id string
	setup := &cobra.Command{
		Use:   "setup TAP --guest A.B.C.D [--id ID]",
		Short: "Masquerade the guest's traffic to other networks, isolate the TAP and set ip_forward; safe to repeat",
		Long: "Masquerade forwarded traffic from the guest address to the address of whichever interface\n" +
			"it leaves by, add TAP to the sandbox TAPs (which cannot reach each other) and set\n" +
			"net.ipv4.ip_forward to 1. Warns when another table's forward chain drops by policy.",
		Args: exactArgs("TAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if guest == "" {
				return usagef("--guest is required")
			}
			addr, err := netip.ParseAddr(guest)
			if err != nil {
				return &firewall.ValidationError{Field: "guest address", Value: guest, Reason: "must be an IPv4 address such as 172.16.0.2"}
			}
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				if err := m.SetupNAT(ctx, firewall.NAT{TAP: args[0], Guest: addr, ID: id}); err != nil {
					return err
				}
				return warnForwardDrops(ctx, cmd, m)
			})
		},
	}
	setup.Flags().StringVar(&guest, "guest", "", "the guest's IPv4 address, the source to masquerade (required)")
	setup.Flags().StringVar(&id, "id", "", "sandbox id stored with the entries, up to 64 letters, digits and _.:-")
	return group("nat", "Masquerade sandbox traffic to other networks", setup)
}

func newForwardCommand(g *globals) *cobra.Command {
	var local bool
	var tap, id string
	add := &cobra.Command{
		Use:   "add HOST_PORT GUEST_IP:GUEST_PORT [--local] [--tap TAP] [--id ID]",
		Short: "Forward TCP connections to a host port to the guest",
		Long: "Forward TCP connections to HOST_PORT on the host's addresses to GUEST_IP:GUEST_PORT. With\n" +
			"--local, connections from the host itself (127.0.0.1 included) are forwarded too. A forward\n" +
			"stored with --tap is replaced by a later add of the same port once that TAP is gone; any\n" +
			"other forward of the port to another guest is a conflict.",
		Args: exactArgs("HOST_PORT", "GUEST_IP:GUEST_PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := firewall.ParsePort("host port", args[0])
			if err != nil {
				return err
			}
			guest, err := firewall.ParseGuest(args[1])
			if err != nil {
				return err
			}
			f := firewall.Forward{HostPort: port, Guest: guest, Local: local, TAP: tap, ID: id}
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				if err := m.AddForward(ctx, f); err != nil {
					return err
				}
				return warnForwardDrops(ctx, cmd, m)
			})
		},
	}
	add.Flags().BoolVar(&local, "local", false, "also forward connections from the host itself, such as to 127.0.0.1:HOST_PORT")
	add.Flags().StringVar(&tap, "tap", "", "TAP of the guest's sandbox, stored with the forward (needed for --id and stale-forward replacement)")
	add.Flags().StringVar(&id, "id", "", "sandbox id stored with the forward; needs --tap")

	remove := &cobra.Command{
		Use:   "remove HOST_PORT",
		Short: "Remove the forward of a host port; succeeds when there is none",
		Args:  exactArgs("HOST_PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := firewall.ParsePort("host port", args[0])
			if err != nil {
				return err
			}
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				return m.RemoveForward(ctx, port)
			})
		},
	}
	return group("forward", "Forward host TCP ports to guests", add, remove)
}

func newEgressCommand(g *globals) *cobra.Command {
	set := &cobra.Command{
		Use:   "set TAP [PREFIX...]",
		Short: "Let forwarded traffic from TAP reach only the listed IPv4 and IPv6 networks; none drops all",
		Long: "Replace the egress allowlist of TAP. Each PREFIX is a network such as 10.0.0.0/8 or\n" +
			"2001:db8::/32, or a single address; host names are not accepted. Forwarded traffic from TAP\n" +
			"to any other destination, of any address family, is dropped. Replies to connections\n" +
			"opened towards the guest still pass.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usagef("%s takes the arguments TAP [PREFIX...], got 0 (see --help)", commandName(cmd))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var allow []netip.Prefix
			for _, s := range args[1:] {
				p, err := firewall.ParsePrefix(s)
				if err != nil {
					return err
				}
				allow = append(allow, p)
			}
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				return m.SetEgress(ctx, args[0], allow)
			})
		},
	}
	clear := &cobra.Command{
		Use:   "clear TAP",
		Short: "Remove the egress allowlist of TAP; succeeds when there is none",
		Args:  exactArgs("TAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				return m.ClearEgress(ctx, args[0])
			})
		},
	}
	return group("egress", "Limit where a sandbox's traffic may go", set, clear)
}

func newFirewallCommand(g *globals) *cobra.Command {
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the sandbox TAPs, forwards and foreign forward chains that drop by policy",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				st, err := m.List(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd, st)
				}
				printState(cmd, st)
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	remove := &cobra.Command{
		Use:   "remove TAP",
		Short: "Remove everything stored for TAP: isolation, NAT, egress limit and its forwards",
		Args:  exactArgs("TAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withFirewall(cmd, func(ctx context.Context, m *firewall.Manager) error {
				return m.RemoveSandbox(ctx, args[0])
			})
		},
	}
	return group("firewall", "List and remove sandbox firewall state (nftables table inet "+firewall.TableName+")", list, remove)
}

// printState writes State for people: one line per TAP and per forward.
func printState(cmd *cobra.Command, st firewall.State) {
	out := cmd.OutOrStdout()
	for _, t := range st.TAPs {
		line := "tap " + t.TAP
		if t.ID != "" {
			line += " id " + t.ID
		}
		if t.Isolated {
			line += " isolated"
		}
		for _, a := range t.NAT {
			line += " nat " + a.String()
		}
		if t.EgressLimited {
			var ps []string
			for _, p := range t.Egress {
				ps = append(ps, p.String())
			}
			line += " egress [" + strings.Join(ps, " ") + "]"
		}
		fmt.Fprintln(out, line)
	}
	for _, f := range st.Forwards {
		line := "forward " + strconv.Itoa(int(f.HostPort)) + " -> " + f.Guest.String()
		if f.Local {
			line += " local"
		}
		if f.TAP != "" {
			line += " tap " + f.TAP
		}
		if f.ID != "" {
			line += " id " + f.ID
		}
		fmt.Fprintln(out, line)
	}
	for _, c := range st.ForwardDrops {
		fmt.Fprintln(out, "warning: "+c.Advice())
	}
}
