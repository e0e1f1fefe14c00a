package firecracker

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// InstanceInfo returns the instance's id, state and version (GET /).
func (c *Client) InstanceInfo(ctx context.Context) (InstanceInfo, error) {
	var info InstanceInfo
	err := c.get(ctx, "/", &info)
	return info, err
}

// Version returns the Firecracker version, such as "1.7.0" (GET
// /version).
func (c *Client) Version(ctx context.Context) (string, error) {
	var v struct {
		FirecrackerVersion string `json:"firecracker_version"`
	}
	err := c.get(ctx, "/version", &v)
	return v.FirecrackerVersion, err
}

// MachineConfig returns the vCPU and memory configuration (GET
// /machine-config). Before any PUT, Firecracker reports its defaults: one
// vCPU and 128 MiB.
func (c *Client) MachineConfig(ctx context.Context) (MachineConfig, error) {
	var mc MachineConfig
	err := c.get(ctx, "/machine-config", &mc)
	return mc, err
}

// PutMachineConfig sets the vCPU and memory configuration (PUT
// /machine-config). Firecracker accepts it before InstanceStart only.
func (c *Client) PutMachineConfig(ctx context.Context, mc MachineConfig) error {
	if mc.VCPUCount < 1 {
		return invalid("vcpu_count", strconv.Itoa(mc.VCPUCount), "must be at least 1")
	}
	if mc.MemSizeMiB < 1 {
		return invalid("mem_size_mib", strconv.Itoa(mc.MemSizeMiB), "must be at least 1")
	}
	return c.sendJSON(ctx, http.MethodPut, "/machine-config", mc)
}

// PutBootSource sets the guest kernel, command line and initrd (PUT
// /boot-source). Firecracker accepts it before InstanceStart only.
func (c *Client) PutBootSource(ctx context.Context, bs BootSource) error {
	if bs.KernelImagePath == "" {
		return invalid("kernel_image_path", "", "must not be empty")
	}
	return c.sendJSON(ctx, http.MethodPut, "/boot-source", bs)
}

// PutDrive adds or replaces the drive d.DriveID (PUT /drives/{drive_id}).
// Firecracker accepts it before InstanceStart only.
func (c *Client) PutDrive(ctx context.Context, d Drive) error {
	if err := ValidateID("drive_id", d.DriveID); err != nil {
		return err
	}
	if d.PathOnHost == "" {
		return invalid("path_on_host", "", "for drive %s must not be empty", d.DriveID)
	}
	return c.sendJSON(ctx, http.MethodPut, "/drives/"+d.DriveID, d)
}

// PutNetworkInterface adds the interface n.IfaceID on the host TAP
// n.HostDevName (PUT /network-interfaces/{iface_id}). Firecracker accepts
// it before InstanceStart only.
func (c *Client) PutNetworkInterface(ctx context.Context, n NetworkInterface) error {
	if err := ValidateID("iface_id", n.IfaceID); err != nil {
		return err
	}
	if err := validateHostDevName(n.HostDevName); err != nil {
		return err
	}
	if err := validateMAC(n.GuestMAC); err != nil {
		return err
	}
	return c.sendJSON(ctx, http.MethodPut, "/network-interfaces/"+n.IfaceID, n)
}

// Action runs a synchronous action (PUT /actions).
func (c *Client) Action(ctx context.Context, action ActionType) error {
	switch action {
	case ActionInstanceStart, ActionSendCtrlAltDel, ActionFlushMetrics:
	default:
		return invalid("action_type", string(action), "must be %s, %s or %s", ActionInstanceStart, ActionSendCtrlAltDel, ActionFlushMetrics)
	}
	return c.sendJSON(ctx, http.MethodPut, "/actions", map[string]ActionType{"action_type": action})
}

// StartInstance boots the configured VM (InstanceStart).
func (c *Client) StartInstance(ctx context.Context) error {
	return c.Action(ctx, ActionInstanceStart)
}

// SendCtrlAltDel presses Ctrl+Alt+Del in the guest (x86_64 only).
func (c *Client) SendCtrlAltDel(ctx context.Context) error {
	return c.Action(ctx, ActionSendCtrlAltDel)
}

// FlushMetrics makes Firecracker write its metrics now.
func (c *Client) FlushMetrics(ctx context.Context) error {
	return c.Action(ctx, ActionFlushMetrics)
}

// SetVMState pauses or resumes the VM (PATCH /vm).
func (c *Client) SetVMState(ctx context.Context, state VMState) error {
	if state != VMPaused && state != VMResumed {
		return invalid("vm state", string(state), "must be %s or %s", VMPaused, VMResumed)
	}
	return c.sendJSON(ctx, http.MethodPatch, "/vm", map[string]VMState{"state": state})
}

// Pause pauses the VM's vCPUs (PATCH /vm to Paused).
func (c *Client) Pause(ctx context.Context) error { return c.SetVMState(ctx, VMPaused) }

// Resume resumes a paused VM (PATCH /vm to Resumed).
func (c *Client) Resume(ctx context.Context) error { return c.SetVMState(ctx, VMResumed) }

// CreateSnapshot writes the VM state and guest memory to the files in p
// (PUT /snapshot/create). The VM must be paused. Options.SnapshotTimeout
// bounds the request.
func (c *Client) CreateSnapshot(ctx context.Context, p SnapshotCreateParams) error {
	if p.SnapshotPath == "" {
		return invalid("snapshot_path", "", "must not be empty")
	}
	if p.MemFilePath == "" {
		return invalid("mem_file_path", "", "must not be empty")
	}
	if p.SnapshotType != "" && p.SnapshotType != SnapshotFull && p.SnapshotType != SnapshotDiff {
		return invalid("snapshot_type", p.SnapshotType, "must be %s or %s", SnapshotFull, SnapshotDiff)
	}
	return c.sendJSON(ctx, http.MethodPut, "/snapshot/create", p)
}

// LoadSnapshot restores a VM from the files in p (PUT /snapshot/load) into
// a Firecracker process that has not been configured yet.
// Options.SnapshotTimeout bounds the request.
func (c *Client) LoadSnapshot(ctx context.Context, p SnapshotLoadParams) error {
	if p.SnapshotPath == "" {
		return invalid("snapshot_path", "", "must not be empty")
	}
	switch {
	case p.MemFilePath == "" && p.MemBackend == nil:
		return invalid("mem_backend", "", "or mem_file_path must be set")
	case p.MemFilePath != "" && p.MemBackend != nil:
		return invalid("mem_file_path", p.MemFilePath, "must be empty when mem_backend is set")
	case p.MemBackend != nil && p.MemBackend.BackendPath == "":
		return invalid("backend_path", "", "must not be empty")
	case p.MemBackend != nil && p.MemBackend.BackendType != "File" && p.MemBackend.BackendType != "Uffd":
		return invalid("backend_type", p.MemBackend.BackendType, "must be File or Uffd")
	}
	for _, o := range p.NetworkOverrides {
		if err := ValidateID("iface_id", o.IfaceID); err != nil {
			return err
		}
		if err := validateHostDevName(o.HostDevName); err != nil {
			return err
		}
	}
	return c.sendJSON(ctx, http.MethodPut, "/snapshot/load", p)
}

// get sends GET path and decodes the reply into out.
func (c *Client) get(ctx context.Context, path string, out any) error {
	_, payload, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return &OpError{Method: http.MethodGet, Path: path, Socket: c.socket, Err: fmt.Errorf("%w: %w", ErrInvalidReply, err)}
	}
	return nil
}

// sendJSON sends body as JSON with method, PUT or PATCH, and ignores any reply
// body.
func (c *Client) sendJSON(ctx context.Context, method, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return &OpError{Method: method, Path: path, Socket: c.socket, Err: err}
	}
	_, _, err = c.send(ctx, method, path, data)
	return err
}

// maxInterfaceName is IFNAMSIZ (16) less the terminating NUL.
const maxInterfaceName = 15

// validateHostDevName checks a host TAP name against the kernel's limits
// that matter for Firecracker, which opens it by name: 1 to 15 bytes,
// without "/", whitespace or control characters.
func validateHostDevName(name string) error {
	const field = "host_dev_name"
	if name == "" {
		return invalid(field, name, "must not be empty")
	}
	if len(name) > maxInterfaceName {
		return invalid(field, name, "is %d bytes long, the maximum is %d", len(name), maxInterfaceName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			return invalid(field, name, "must not contain \"/\"")
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return invalid(field, name, "must not contain whitespace")
		case c < 0x20 || c == 0x7f:
			return invalid(field, name, "must not contain control characters")
		}
	}
	return nil
}

// validateMAC checks a guest MAC address, if one is given: six bytes in
// the colon form.
func validateMAC(mac string) error {
	if mac == "" {
		return nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || len(mac) != 17 || mac[2] != ':' {
		return invalid("guest_mac", mac, "must be six hex bytes separated by colons, such as 06:00:ac:10:00:02")
	}
	return nil
}
