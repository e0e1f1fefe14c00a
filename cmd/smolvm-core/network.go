package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/user"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/network"
)

// withManager opens a network manager for the global --netns flag, runs fn
// and closes the manager.
func (g *globals) withManager(cmd *cobra.Command, fn func(ctx context.Context, m *network.Manager) error) error {
	backend, logger, err := g.pathOptions(cmd)
	if err != nil {
		return err
	}
	m, err := network.New(network.Options{Netns: g.netns, Backend: backend, Logger: logger})
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(cmd.Context(), m)
}

// pathOptions returns the --backend flag's path and the logger that prints
// the fallback warning on stderr, shared by every network command.
func (g *globals) pathOptions(cmd *cobra.Command) (network.Backend, *slog.Logger, error) {
	backend, err := network.ParseBackend(g.backend)
	if err != nil {
		return 0, nil, usageError{err}
	}
	return backend, slog.New(newWarningHandler(cmd.ErrOrStderr())), nil
}

// addOwnerFlag adds --owner: a uid or user name, as `ip tuntap ... user`
// takes.
func addOwnerFlag(cmd *cobra.Command, owner *string) {
	cmd.Flags().StringVar(owner, "owner", "",
		"uid or user name allowed to attach to the TAP without CAP_NET_ADMIN (the VMM's user); empty or -1 for no owner")
}

// parseOwner resolves the --owner value to a uid or network.NoOwner.
func parseOwner(s string) (int, error) {
	if s == "" {
		return network.NoOwner, nil
	}
	if uid, err := strconv.Atoi(s); err == nil {
		return uid, network.ValidateOwner(uid)
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, &network.ValidationError{Field: "owner", Value: s, Reason: "is neither a uid nor a known user name"}
	}
	return strconv.Atoi(u.Uid)
}

func newTAPCommand(g *globals) *cobra.Command {
	var owner, createSandbox string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a persistent TAP device (ip tuntap add dev NAME mode tap user UID)",
		Long: "Create a persistent TAP device without packet information headers. Creating a TAP\n" +
			"that exists with the same owner and is not in use succeeds and changes nothing.",
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			uid, err := parseOwner(owner)
			if err != nil {
				return err
			}
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.CreateTAP(ctx, args[0], uid, sandboxOption(createSandbox)...)
			})
		},
	}
	addOwnerFlag(create, &owner)
	addSandboxFlag(create, &createSandbox)

	var missingOK bool
	del := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete TAP devices (ip link del dev NAME); other kinds of device are rejected",
		Long: "Delete TAP devices. With one name, a missing device is an error unless --missing-ok is\n" +
			"given. With several, they are deleted as one batch (ip link delete group N), absent names\n" +
			"are skipped, and the others are deleted even when one fails.",
		Args: minArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				if len(args) > 1 {
					return m.DeleteTAPs(ctx, args)
				}
				if missingOK {
					return m.EnsureTAPDeleted(ctx, args[0])
				}
				return m.DeleteTAP(ctx, args[0])
			})
		},
	}
	del.Flags().BoolVar(&missingOK, "missing-ok", false, "succeed when the TAP does not exist")

	var hostIP string
	configure := &cobra.Command{
		Use:   "configure NAME --host-ip A.B.C.D/P",
		Short: "Make A.B.C.D/P the TAP's only IPv4 address and set it up; safe to repeat",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := parseHostIP(hostIP)
			if err != nil {
				return err
			}
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.ConfigureTAP(ctx, args[0], addr)
			})
		},
	}
	addHostIPFlag(configure, &hostIP)

	var prepareOwner, prepareHostIP, prepareSandbox string
	prepare := &cobra.Command{
		Use:   "prepare NAME --host-ip A.B.C.D/P [--owner UID]",
		Short: "Create and configure a TAP and set its route_localnet sysctl; rolls back on failure",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := parseHostIP(prepareHostIP)
			if err != nil {
				return err
			}
			uid, err := parseOwner(prepareOwner)
			if err != nil {
				return err
			}
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.PrepareTAP(ctx, args[0], uid, addr, sandboxOption(prepareSandbox)...)
			})
		},
	}
	addHostIPFlag(prepare, &prepareHostIP)
	addOwnerFlag(prepare, &prepareOwner)
	addSandboxFlag(prepare, &prepareSandbox)

	var asJSON bool
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a TAP's owner, persistence, state and carrier",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				info, err := m.TAPInfo(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd, info)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s index %d owner %s group %s persistent %v multi_queue %v up %v carrier %v mtu %d\n",
					info.Name, info.Index, idText(info.Owner), idText(info.Group), info.Persistent, info.MultiQueue, info.Up, info.Carrier, info.MTU)
				return nil
			})
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	return group("tap", "Create, configure, show, list and delete TAP devices", create, del, configure, prepare, show, newTAPListCommand(g))
}

// idText prints a uid or gid, where a negative value means none.
func idText(id int) string {
	if id < 0 {
		return "none"
	}
	return strconv.Itoa(id)
}

func addHostIPFlag(cmd *cobra.Command, hostIP *string) {
	cmd.Flags().StringVar(hostIP, "host-ip", "", "host address on the TAP, IPv4 with prefix length, such as 172.16.0.1/30 (required)")
}

// parseHostIP parses the required --host-ip flag.
func parseHostIP(hostIP string) (netip.Prefix, error) {
	if hostIP == "" {
		return netip.Prefix{}, usagef("--host-ip is required")
	}
	return network.ParseIPv4Prefix("host address", hostIP)
}

func newAddrCommand(g *globals) *cobra.Command {
	add := &cobra.Command{
		Use:   "add DEV A.B.C.D/P",
		Short: "Add an IPv4 address to a device (ip addr add A.B.C.D/P dev DEV); an existing one is success",
		Args:  exactArgs("DEV", "A.B.C.D/P"),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := network.ParseIPv4Prefix("address", args[1])
			if err != nil {
				return err
			}
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.AddAddr(ctx, args[0], addr)
			})
		},
	}
	flush := &cobra.Command{
		Use:   "flush DEV",
		Short: "Remove every address from a device (ip addr flush dev DEV)",
		Args:  exactArgs("DEV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.FlushAddrs(ctx, args[0])
			})
		},
	}
	return group("addr", "Add and flush IP addresses", add, flush)
}

func newLinkCommand(g *globals) *cobra.Command {
	up := &cobra.Command{
		Use:   "up DEV",
		Short: "Set a device up (ip link set dev DEV up)",
		Args:  exactArgs("DEV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.SetLinkUp(ctx, args[0])
			})
		},
	}
	return group("link", "Change link state", up)
}

func newRouteCommand(g *globals) *cobra.Command {
	var dev string
	add := &cobra.Command{
		Use:   "add A.B.C.D/P --dev DEV",
		Short: "Add a route through a device (ip route add A.B.C.D/P dev DEV); an identical one is success",
		Args:  exactArgs("A.B.C.D/P"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dev == "" {
				return usagef("--dev is required")
			}
			dst, err := network.ParseIPv4Prefix("route destination", args[0])
			if err != nil {
				return err
			}
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.AddRoute(ctx, dst, dev)
			})
		},
	}
	add.Flags().StringVar(&dev, "dev", "", "device the route goes through (required)")
	return group("route", "Add routes", add)
}

func newDefaultInterfaceCommand(g *globals) *cobra.Command {
	var family int
	c := &cobra.Command{
		Use:   "default-interface",
		Short: "Print the interface of the default route (ip route get 8.8.8.8; nothing is sent)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				name, err := m.DefaultInterface(ctx, network.Family(family))
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
				return nil
			})
		},
	}
	c.Flags().IntVar(&family, "family", 4, "address family: 4 or 6")
	return c
}

func newSysctlCommand(g *globals) *cobra.Command {
	write := &cobra.Command{
		Use:   "write KEY VALUE",
		Short: "Write a sysctl (sysctl -w KEY=VALUE); KEY in dotted or slashed form",
		Long: "Write VALUE to /proc/sys/KEY. KEY may use dots (net.ipv4.conf.tap/5.route_localnet,\n" +
			"where / stands for a dot in a name) or slashes (net/ipv4/conf/tap.5/route_localnet).",
		Args: exactArgs("KEY", "VALUE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withManager(cmd, func(ctx context.Context, m *network.Manager) error {
				return m.WriteSysctl(ctx, args[0], args[1])
			})
		},
	}
	return group("sysctl", "Write kernel parameters under /proc/sys", write)
}
