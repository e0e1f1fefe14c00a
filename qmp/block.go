package qmp

import (
	"context"
	"encoding/json"
	"fmt"
)

// SnapshotInfo is an internal snapshot of a qcow2 image.
type SnapshotInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	VMStateSize int64  `json:"vm-state-size"` // bytes
	DateSec     int64  `json:"date-sec"`
	DateNsec    int64  `json:"date-nsec"`
	VMClockSec  int64  `json:"vm-clock-sec"`
	VMClockNsec int64  `json:"vm-clock-nsec"`
	// Raw is the undecoded snapshot object.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the snapshot leniently and keeps the raw object.
func (s *SnapshotInfo) UnmarshalJSON(b []byte) error {
	type plain SnapshotInfo
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = SnapshotInfo(p)
	s.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// BlockdevSnapshotInternalSync creates an internal snapshot called name in
// the qcow2 image of device, a node name or drive id
// (blockdev-snapshot-internal-sync). Unlike SnapshotSave it saves no VM
// state.
func (c *Client) BlockdevSnapshotInternalSync(ctx context.Context, device, name string) error {
	_, err := c.Execute(ctx, "blockdev-snapshot-internal-sync", map[string]string{"device": device, "name": name})
	return err
}

// BlockdevSnapshotDeleteInternalSync deletes the internal snapshot called
// name from device and returns what it was
// (blockdev-snapshot-delete-internal-sync).
func (c *Client) BlockdevSnapshotDeleteInternalSync(ctx context.Context, device, name string) (SnapshotInfo, error) {
	var info SnapshotInfo
	err := c.executeInto(ctx, "blockdev-snapshot-delete-internal-sync", map[string]string{"device": device, "name": name}, &info)
	return info, err
}

// BlockdevAdd adds a block node from options, the arguments of
// blockdev-add as a JSON object or a value that encodes to one.
func (c *Client) BlockdevAdd(ctx context.Context, options any) error {
	_, err := c.Execute(ctx, "blockdev-add", options)
	return err
}

// Qcow2Node describes a qcow2 image in a file for BlockdevAddQcow2.
type Qcow2Node struct {
	// NodeName names the qcow2 node; the file node below it is named
	// NodeName + "-file".
	NodeName string
	// Filename is the image path. QEMU opens it, so a relative path is
	// resolved against QEMU's working directory.
	Filename string
	// ReadOnly opens both nodes read-only.
	ReadOnly bool
}

// BlockdevAddQcow2 adds a qcow2 node over a file node, like
// "-blockdev driver=qcow2,node-name=N,file.driver=file,file.filename=F".
func (c *Client) BlockdevAddQcow2(ctx context.Context, n Qcow2Node) error {
	if n.NodeName == "" || n.Filename == "" {
		return fmt.Errorf("qmp blockdev-add on %s: invalid qcow2 node: node name %q and file name %q must not be empty",
			c.socket, n.NodeName, n.Filename)
	}
	return c.BlockdevAdd(ctx, map[string]any{
		"driver":    "qcow2",
		"node-name": n.NodeName,
		"read-only": n.ReadOnly,
		"file": map[string]any{
			"driver":    "file",
			"node-name": n.NodeName + "-file",
			"filename":  n.Filename,
			"read-only": n.ReadOnly,
		},
	})
}

// BlockdevDel removes a block node added by blockdev-add (blockdev-del).
// Child nodes added with it, such as the file node of BlockdevAddQcow2,
// go with it.
func (c *Client) BlockdevDel(ctx context.Context, nodeName string) error {
	_, err := c.Execute(ctx, "blockdev-del", map[string]string{"node-name": nodeName})
	return err
}

// BackupArgs are the arguments of BlockdevBackup.
type BackupArgs struct {
	// JobID is the id of the job; empty means a generated unique id.
	JobID string
	// Device is the node name of the source.
	Device string
	// Target is the node name of the destination, which must exist and be
	// at least as large as the source.
	Target string
	// Speed limits the copy in bytes per second; zero means no limit.
	Speed int64
}

// BlockdevBackup copies all of Device to Target (blockdev-backup with
// sync=full) and waits for the job. The job is started with auto-dismiss
// off so the waiter can read its result, and is dismissed afterwards.
func (c *Client) BlockdevBackup(ctx context.Context, a BackupArgs) (JobInfo, error) {
	args := map[string]any{
		"device":       a.Device,
		"target":       a.Target,
		"sync":         "full",
		"auto-dismiss": false,
	}
	if a.Speed > 0 {
		args["speed"] = a.Speed
	}
	return c.runJob(ctx, "blockdev-backup", a.JobID, args)
}

// BlockJobInfo is one block job from query-block-jobs.
type BlockJobInfo struct {
	// Type is the job type, such as "backup" or "mirror".
	Type string `json:"type"`
	// Device is the job id for jobs started with one.
	Device string `json:"device"`
	// Len and Offset are the job's size and progress in bytes.
	Len    int64 `json:"len"`
	Offset int64 `json:"offset"`
	// Speed is the rate limit in bytes per second, zero for none.
	Speed  int64  `json:"speed"`
	Busy   bool   `json:"busy"`
	Paused bool   `json:"paused"`
	Ready  bool   `json:"ready"`
	Status string `json:"status"`
	// Raw is the undecoded job object.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the job leniently and keeps the raw object.
func (j *BlockJobInfo) UnmarshalJSON(b []byte) error {
	type plain BlockJobInfo
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*j = BlockJobInfo(p)
	j.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// QueryBlockJobs returns the running block jobs (query-block-jobs).
func (c *Client) QueryBlockJobs(ctx context.Context) ([]BlockJobInfo, error) {
	var jobs []BlockJobInfo
	err := c.executeInto(ctx, "query-block-jobs", nil, &jobs)
	return jobs, err
}

// BlockNode is one node from query-named-block-nodes.
type BlockNode struct {
	NodeName string `json:"node-name"`
	// Driver is the block driver, such as "qcow2" or "file".
	Driver string `json:"drv"`
	// File is the file name or JSON description of the node's data.
	File     string    `json:"file"`
	ReadOnly bool      `json:"ro"`
	Image    ImageInfo `json:"image"`
	// Raw is the undecoded node object.
	Raw json.RawMessage `json:"-"`
}

// ImageInfo describes the image of a block node.
type ImageInfo struct {
	Filename    string         `json:"filename"`
	Format      string         `json:"format"`
	VirtualSize int64          `json:"virtual-size"` // bytes
	Snapshots   []SnapshotInfo `json:"snapshots"`
}

// UnmarshalJSON decodes the node leniently and keeps the raw object.
func (n *BlockNode) UnmarshalJSON(b []byte) error {
	type plain BlockNode
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*n = BlockNode(p)
	n.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// QueryNamedBlockNodes returns every named block node
// (query-named-block-nodes), with the internal snapshots of each image.
func (c *Client) QueryNamedBlockNodes(ctx context.Context) ([]BlockNode, error) {
	var nodes []BlockNode
	err := c.executeInto(ctx, "query-named-block-nodes", nil, &nodes)
	return nodes, err
}
