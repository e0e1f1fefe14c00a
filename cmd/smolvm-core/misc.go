package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/internal/demo"
)

// writeJSON prints v as indented JSON on the command's output.
func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newCapsCommand() *cobra.Command {
	var (
		asJSON bool
		opts   capabilities.Options
	)
	c := &cobra.Command{
		Use:   "caps",
		Short: "Report which paths work on this host, and why not",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r := capabilities.ProbeWith(opts)
			if asJSON {
				return writeJSON(cmd, r)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "smolvm-core %s, %s, %s/%s, euid %d\n", r.Version, r.GoVersion, r.OS, r.Arch, r.EUID)
			for _, ch := range r.Checks {
				state := "no"
				if ch.Available {
					state = "yes"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", ch.Name, state, ch.Detail)
			}
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&opts.DiskDir, "dir", "", "directory whose filesystem the disk.reflink check asks about (default: the current directory)")
	c.PersistentPreRunE = rejectNetns
	return c
}

func newDemoCommand() *cobra.Command {
	var opts demo.Options
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job end to end on a real QEMU in a throwaway network namespace (needs root)",
		Long: "Create a network namespace, prepare a TAP in it, add the guest route and start QEMU (microvm)\n" +
			"on the TAP. When the guest that scripts/build-guest builds is present, QEMU boots it, and the\n" +
			"demo pings it and fetches its HTTP page from the namespace, then drives QEMU over QMP (status,\n" +
			"stop, cont, quit). Without the guest, QEMU runs paused and the demo drives it over QMP (status,\n" +
			"cont, stop, cont, quit), and the output says that no guest ran. Either way it checks that QEMU\n" +
			"attached to the TAP, then deletes everything and checks that nothing is left. Each step is\n" +
			"printed with its duration; the exit status is 1 if any step fails.",
		Args:              noArgs,
		PersistentPreRunE: rejectNetns,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Accel != "" && opts.Accel != "kvm" && opts.Accel != "tcg" {
				return usagef("invalid --accel %q: must be kvm or tcg", opts.Accel)
			}
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	c.Flags().StringVar(&opts.QEMU, "qemu", "", "QEMU binary (default qemu-system-x86_64 from PATH)")
	c.Flags().StringVar(&opts.Accel, "accel", "", "QEMU accelerator, kvm or tcg (default: kvm only where the CPU advertises vmx or svm)")
	c.Flags().StringVar(&opts.GuestDir, "guest-dir", "", "directory of the guest built by scripts/build-guest (default $SMOLVM_GUEST_DIR, else ~/.cache/smolvm-core/guest)")
	c.Flags().BoolVar(&opts.NoGuest, "no-guest", false, "run QEMU paused without a guest even when one is built")
	return c
}
