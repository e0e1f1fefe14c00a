package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/sandbox"
)

// withSandboxes opens a sandbox manager for the global --netns and
// --backend flags, runs fn and closes the manager.
func (g *globals) withSandboxes(cmd *cobra.Command, fn func(ctx context.Context, m *sandbox.Manager) error) error {
	backend, logger, err := g.pathOptions(cmd)
	if err != nil {
		return err
	}
	m, err := sandbox.New(sandbox.Options{Netns: g.netns, Backend: backend, Logger: logger})
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(cmd.Context(), m)
}

// specFlags are the flags of `sandbox up` that build a spec.
type specFlags struct {
	file, id, tap, owner, host, guest string
	nat, denyEgress                   bool
	forwards, egress                  []string
}

func (f *specFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.file, "spec", "", "read the spec as JSON from FILE ('-' for stdin) instead of the flags below")
	c.Flags().StringVar(&f.id, "id", "", "sandbox id (required): letters, digits, '.', '_', '-'")
	c.Flags().StringVar(&f.tap, "tap", "", "TAP name (default: smv and 12 characters of a hash of the id)")
	addOwnerFlag(c, &f.owner)
	c.Flags().StringVar(&f.host, "host-ip", "", "host address on the TAP with prefix length, such as 172.16.0.1/30 (required)")
	c.Flags().StringVar(&f.guest, "guest", "", "guest IPv4 address inside the host prefix, such as 172.16.0.2 (required)")
	c.Flags().BoolVar(&f.nat, "nat", false, "masquerade the guest's traffic to other networks")
	c.Flags().StringArrayVar(&f.forwards, "forward", nil, "TCP port forward HOST_PORT:GUEST_PORT, or HOST_PORT:GUEST_PORT:local to also forward connections from the host itself; repeatable")
	c.Flags().StringArrayVar(&f.egress, "egress", nil, "allow the guest's forwarded traffic only to this IPv4 or IPv6 prefix; repeatable")
	c.Flags().BoolVar(&f.denyEgress, "deny-egress", false, "drop all of the guest's forwarded traffic (an empty allowlist)")
}

// spec builds the spec from --spec or from the other flags.
func (f *specFlags) spec(cmd *cobra.Command) (sandbox.Spec, error) {
	if f.file != "" {
		for _, name := range []string{"id", "tap", "owner", "host-ip", "guest", "nat", "forward", "egress", "deny-egress"} {
			if cmd.Flags().Changed(name) {
				return sandbox.Spec{}, usagef("--spec and --%s cannot be combined", name)
			}
		}
		return readSpec(cmd.InOrStdin(), f.file)
	}
	if f.id == "" || f.host == "" || f.guest == "" {
		return sandbox.Spec{}, usagef("sandbox up needs --id, --host-ip and --guest, or --spec FILE")
	}
	owner, err := parseOwner(f.owner)
	if err != nil {
		return sandbox.Spec{}, err
	}
	host, err := network.ParseIPv4Prefix("host address", f.host)
	if err != nil {
		return sandbox.Spec{}, err
	}
	guest, err := netip.ParseAddr(f.guest)
	if err != nil {
		return sandbox.Spec{}, usagef("invalid --guest %q: must be an IPv4 address", f.guest)
	}
	s := sandbox.Spec{ID: f.id, TAP: f.tap, Owner: owner, Host: host, Guest: guest, NAT: f.nat}
	for _, fw := range f.forwards {
		pf, err := parsePortForward(fw)
		if err != nil {
			return sandbox.Spec{}, err
		}
		s.Forwards = append(s.Forwards, pf)
	}
	if f.denyEgress {
		s.Egress = []netip.Prefix{}
	}
	for _, e := range f.egress {
		p, err := firewall.ParsePrefix(e)
		if err != nil {
			return sandbox.Spec{}, err
		}
		s.Egress = append(s.Egress, p)
	}
	return s, nil
}

// parsePortForward parses HOST_PORT:GUEST_PORT[:local].
func parsePortForward(s string) (sandbox.PortForward, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "local") {
		return sandbox.PortForward{}, usagef("invalid --forward %q: must be HOST_PORT:GUEST_PORT or HOST_PORT:GUEST_PORT:local", s)
	}
	host, err := firewall.ParsePort("host port", parts[0])
	if err != nil {
		return sandbox.PortForward{}, err
	}
	guest, err := firewall.ParsePort("guest port", parts[1])
	if err != nil {
		return sandbox.PortForward{}, err
	}
	return sandbox.PortForward{HostPort: host, GuestPort: guest, Local: len(parts) == 3}, nil
}

// readSpec decodes a spec from the file name, or stdin for "-". Unknown
// fields are rejected, so a misspelt field is not silently ignored.
func readSpec(stdin io.Reader, name string) (sandbox.Spec, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return sandbox.Spec{}, err
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	// A spec without "owner" gets no owner, as --owner's default does,
	// rather than the zero uid, root.
	s := sandbox.Spec{Owner: network.NoOwner}
	if err := dec.Decode(&s); err != nil {
		return sandbox.Spec{}, usagef("invalid spec in %s: %v", name, err)
	}
	return s, nil
}

func newSandboxCommand(g *globals) *cobra.Command {
	var flags specFlags
	up := &cobra.Command{
		Use:   "up (--spec FILE | --id ID --host-ip A.B.C.D/P --guest A.B.C.D [flags])",
		Short: "Create a sandbox's network or converge it to the spec, and print its state as JSON",
		Long: "Create the sandbox's TAP (marked with the id), its address, route and sysctl, TAP isolation,\n" +
			"and as the spec says NAT, port forwards and an egress allowlist; or, when it exists, change\n" +
			"only what differs from the spec. Running it twice changes nothing the second time. If a step\n" +
			"fails, what this run changed is undone. The spec's JSON fields: id, tap, owner, host, guest,\n" +
			"nat, forwards [{host_port, guest_port, local}], egress [PREFIX...] (null: no limit); a spec\n" +
			"without owner gets no owner, as --owner's default does.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := flags.spec(cmd)
			if err != nil {
				return err
			}
			return g.withSandboxes(cmd, func(ctx context.Context, m *sandbox.Manager) error {
				st, err := m.Ensure(ctx, s)
				if err != nil {
					return err
				}
				if s.NAT || len(s.Forwards) > 0 {
					if err := warnForwardDrops(ctx, cmd, m.Firewall()); err != nil {
						return err
					}
				}
				return writeJSON(cmd, st)
			})
		},
	}
	flags.add(up)

	down := &cobra.Command{
		Use:   "down ID",
		Short: "Remove everything of the sandbox: its firewall entries and its TAP; safe to repeat",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withSandboxes(cmd, func(ctx context.Context, m *sandbox.Manager) error {
				return m.Remove(ctx, args[0])
			})
		},
	}

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the sandboxes: marked TAPs and the firewall entries stored with them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withSandboxes(cmd, func(ctx context.Context, m *sandbox.Manager) error {
				states, err := m.List(ctx)
				if err != nil || asJSON {
					if err == nil {
						err = writeJSON(cmd, states)
					}
					return err
				}
				for _, s := range states {
					fmt.Fprintln(cmd.OutOrStdout(), sandboxLine(s))
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return group("sandbox", "Bring a sandbox's whole host-side network up or down from one spec", up, down, list)
}

// sandboxLine is the plain-text form of one sandbox's state.
func sandboxLine(s sandbox.State) string {
	var b strings.Builder
	b.WriteString(s.ID)
	if s.TAP != nil {
		fmt.Fprintf(&b, " tap %s up %v carrier %v", s.TAP.Name, s.TAP.Up, s.TAP.Carrier)
	} else {
		b.WriteString(" tap missing")
	}
	if fw := s.Firewall; fw != nil {
		fmt.Fprintf(&b, " nat %d egress %v", len(fw.NAT), fw.EgressLimited)
	}
	for _, f := range s.Forwards {
		b.WriteString(" forward " + strconv.Itoa(int(f.HostPort)) + "->" + f.Guest.String())
	}
	return b.String()
}
