package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm-core/qmp"
)

// eventLine is one event as `qmp events` prints it.
type eventLine struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data,omitempty"`
	Time  string          `json:"time,omitempty"`
}

func newEventsCommand(f *qmpFlags) *cobra.Command {
	var names []string
	var buffer int
	c := &cobra.Command{
		Use:   "events [--name NAME]...",
		Short: "Print QEMU's events as JSON lines until interrupted or QEMU closes the monitor",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if buffer < 1 {
				return usagef("invalid --buffer %d: must be at least 1", buffer)
			}
			for _, n := range names {
				if n == "" {
					return usagef("invalid --name \"\": must not be empty")
				}
			}
			c, err := f.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			sub, err := c.Subscribe(qmp.EventFilter{Names: names, Buffer: buffer})
			if err != nil {
				return err
			}
			defer sub.Close()
			return streamEvents(cmd.Context(), cmd, c, sub)
		},
	}
	c.Flags().StringArrayVar(&names, "name", nil, "event name to print, such as STOP; repeat for more; default all")
	c.Flags().IntVar(&buffer, "buffer", 1024, "events held while the output is slow; further events are dropped and counted")
	return c
}

// streamEvents prints events until ctx ends (success) or QEMU closes the
// monitor (success after a SHUTDOWN, as when the VM exits).
func streamEvents(ctx context.Context, cmd *cobra.Command, c *qmp.Client, sub *qmp.Subscription) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	for {
		select {
		case <-ctx.Done():
			return reportDropped(cmd, sub)
		case ev, ok := <-sub.Events():
			if !ok {
				return reportDropped(cmd, sub)
			}
			if err := enc.Encode(toEventLine(ev)); err != nil {
				return err
			}
		case <-c.Done():
			if err := drainEvents(enc, sub); err != nil {
				return err
			}
			if err := c.Err(); err != nil && !errors.Is(err, qmp.ErrDisconnected) && !errors.Is(err, qmp.ErrClosed) {
				return err
			}
			return reportDropped(cmd, sub)
		}
	}
}

// drainEvents prints the events that arrived before the connection ended.
func drainEvents(enc *json.Encoder, sub *qmp.Subscription) error {
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return nil
			}
			if err := enc.Encode(toEventLine(ev)); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func toEventLine(ev qmp.Event) eventLine {
	line := eventLine{Event: ev.Name, Data: ev.Data}
	if !ev.Time.IsZero() {
		line.Time = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	return line
}

func reportDropped(cmd *cobra.Command, sub *qmp.Subscription) error {
	if n := sub.Dropped(); n > 0 {
		return fmt.Errorf("qmp events: %d events were dropped because the output was slower than QEMU", n)
	}
	return nil
}

// snapshotRunner is one of Client.SnapshotSave, SnapshotLoad or
// SnapshotDelete.
type snapshotRunner func(c *qmp.Client, ctx context.Context, a qmp.SnapshotArgs) (qmp.JobInfo, error)

func newSnapshotCommand(f *qmpFlags) *cobra.Command {
	sub := func(use, short, long, deviceHelp string, withVMState bool, fn snapshotRunner) *cobra.Command {
		var vmstate string
		var devices []string
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Long:  long,
			Args:  exactArgs("TAG"),
			RunE: func(cmd *cobra.Command, args []string) error {
				if args[0] == "" {
					return usagef("invalid TAG \"\": must not be empty")
				}
				return f.withClient(cmd, func(ctx context.Context, c *qmp.Client) error {
					a := qmp.SnapshotArgs{Tag: args[0], VMState: vmstate, Devices: devices}
					if err := defaultSnapshotNodes(ctx, c, &a, withVMState); err != nil {
						return err
					}
					job, err := fn(c, ctx, a)
					if err != nil {
						return err
					}
					line := fmt.Sprintf("%s %s: job %s %s (devices %v", cmd.Name(), a.Tag, job.ID, job.Status, a.Devices)
					if withVMState {
						line += ", vmstate " + a.VMState
					}
					fmt.Fprintln(cmd.OutOrStdout(), line+")")
					return nil
				})
			},
		}
		c.Flags().StringSliceVar(&devices, "device", nil, deviceHelp+"; repeat for more (default: every writable qcow2 node)")
		if withVMState {
			c.Flags().StringVar(&vmstate, "vmstate", "", "node name of the block device that holds the VM state (default: the first device)")
		}
		return c
	}
	return group("snapshot", "Save, load and delete internal VM snapshots (job based, qcow2 disks)",
		sub("save TAG", "Save the VM state and disks as snapshot TAG (snapshot-save)",
			"Save the VM state and an internal snapshot of each device as TAG. QEMU pauses the VM while it saves.",
			"node name of a block device to snapshot", true,
			(*qmp.Client).SnapshotSave),
		sub("load TAG", "Restore the VM state and disks from snapshot TAG (snapshot-load)",
			"Restore the VM state and each device from snapshot TAG.",
			"node name of a block device to restore", true,
			(*qmp.Client).SnapshotLoad),
		sub("delete TAG", "Delete snapshot TAG from the disks (snapshot-delete)",
			"Delete snapshot TAG from each device. QEMU 7.2 reports success when no device has the snapshot.",
			"node name of a block device to delete the snapshot from", false,
			(*qmp.Client).SnapshotDelete),
	)
}

// defaultSnapshotNodes fills in the devices from the writable qcow2 nodes
// when --device is not given, because only qcow2 holds internal snapshots,
// and the VM state node from the first device when --vmstate is not given.
func defaultSnapshotNodes(ctx context.Context, c *qmp.Client, a *qmp.SnapshotArgs, withVMState bool) error {
	if len(a.Devices) == 0 {
		nodes, err := c.QueryNamedBlockNodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Driver == "qcow2" && !n.ReadOnly && n.NodeName != "" {
				a.Devices = append(a.Devices, n.NodeName)
			}
		}
	}
	if len(a.Devices) == 0 {
		return errors.New("qmp snapshot: the VM has no writable qcow2 block node; pass --device")
	}
	if withVMState && a.VMState == "" {
		a.VMState = a.Devices[0]
	}
	return nil
}
