package fctest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Instance states as GET / reports them.
const (
	StateNotStarted = "Not started"
	StateRunning    = "Running"
	StatePaused     = "Paused"
)

// vmState is the default behaviour: a Firecracker process that keeps its
// configuration and state. The bodies it accepts follow Firecracker's API
// description, and like Firecracker it rejects fields it does not know.
type vmState struct {
	id, version string
	state       string
	machine     machineConfig
	configured  bool // a configuration request succeeded, so a snapshot load is rejected
	bootSource  bool
}

type machineConfig struct {
	VCPUCount       int    `json:"vcpu_count"`
	MemSizeMiB      int    `json:"mem_size_mib"`
	SMT             bool   `json:"smt"`
	TrackDirtyPages bool   `json:"track_dirty_pages"`
	CPUTemplate     string `json:"cpu_template,omitempty"`
	HugePages       string `json:"huge_pages,omitempty"`
}

type tokenBucket struct {
	Size         int64 `json:"size"`
	OneTimeBurst int64 `json:"one_time_burst"`
	RefillTime   int64 `json:"refill_time"`
}

type rateLimiter struct {
	Bandwidth *tokenBucket `json:"bandwidth"`
	Ops       *tokenBucket `json:"ops"`
}

type drive struct {
	DriveID      *string      `json:"drive_id"`
	PathOnHost   string       `json:"path_on_host"`
	IsRootDevice *bool        `json:"is_root_device"`
	IsReadOnly   bool         `json:"is_read_only"`
	PartUUID     string       `json:"partuuid"`
	CacheType    string       `json:"cache_type"`
	IOEngine     string       `json:"io_engine"`
	RateLimiter  *rateLimiter `json:"rate_limiter"`
	Socket       string       `json:"socket"`
}

type networkInterface struct {
	IfaceID       *string      `json:"iface_id"`
	HostDevName   string       `json:"host_dev_name"`
	GuestMAC      string       `json:"guest_mac"`
	RxRateLimiter *rateLimiter `json:"rx_rate_limiter"`
	TxRateLimiter *rateLimiter `json:"tx_rate_limiter"`
}

type snapshotCreate struct {
	SnapshotPath string `json:"snapshot_path"`
	MemFilePath  string `json:"mem_file_path"`
	SnapshotType string `json:"snapshot_type"`
}

type snapshotLoad struct {
	SnapshotPath string `json:"snapshot_path"`
	MemFilePath  string `json:"mem_file_path"`
	MemBackend   *struct {
		BackendType string `json:"backend_type"`
		BackendPath string `json:"backend_path"`
	} `json:"mem_backend"`
	TrackDirtyPages  bool `json:"track_dirty_pages"`
	ResumeVM         bool `json:"resume_vm"`
	NetworkOverrides []struct {
		IfaceID     string `json:"iface_id"`
		HostDevName string `json:"host_dev_name"`
	} `json:"network_overrides"`
}

func newVMState(cfg Config) vmState {
	v := vmState{id: cfg.ID, version: cfg.VMMVersion, state: StateNotStarted}
	if v.id == "" {
		v.id = DefaultID
	}
	if v.version == "" {
		v.version = DefaultVMMVersion
	}
	// Firecracker's defaults before any PUT /machine-config.
	v.machine = machineConfig{VCPUCount: 1, MemSizeMiB: 128}
	return v
}

// handle returns the reply of a Firecracker in state v to req and
// updates v. The caller must hold the server's lock.
func (v *vmState) handle(req Request) Reply {
	route := req.Method + " " + req.Path
	switch {
	case route == "GET /":
		return jsonReply(map[string]string{"id": v.id, "state": v.state, "vmm_version": v.version, "app_name": "Firecracker"})
	case route == "GET /version":
		return jsonReply(map[string]string{"firecracker_version": v.version})
	case route == "GET /machine-config":
		return jsonReply(v.machine)
	case route == "PUT /machine-config":
		return v.putMachineConfig(req.Body)
	case route == "PUT /boot-source":
		return v.putBootSource(req.Body)
	case req.Method == http.MethodPut && strings.HasPrefix(req.Path, "/drives/"):
		return v.putDrive(strings.TrimPrefix(req.Path, "/drives/"), req.Body)
	case req.Method == http.MethodPut && strings.HasPrefix(req.Path, "/network-interfaces/"):
		return v.putNetworkInterface(strings.TrimPrefix(req.Path, "/network-interfaces/"), req.Body)
	case route == "PUT /actions":
		return v.action(req.Body)
	case route == "PATCH /vm":
		return v.patchVM(req.Body)
	case route == "PUT /snapshot/create":
		return v.createSnapshot(req.Body)
	case route == "PUT /snapshot/load":
		return v.loadSnapshot(req.Body)
	}
	return Reply{Fault: fmt.Sprintf("unknown request: %s %s", req.Method, req.Path)}
}

// preBoot returns a fault reply once the VM has started, and marks the
// VM as configured otherwise.
func (v *vmState) preBoot(resource string) (Reply, bool) {
	if v.state != StateNotStarted {
		return Reply{Fault: resource + " is not allowed after the microVM started"}, false
	}
	v.configured = true
	return Reply{}, true
}

func (v *vmState) putMachineConfig(body []byte) Reply {
	var mc machineConfig
	if err := decodeStrict(body, &mc); err != nil {
		return badBody(err)
	}
	if mc.VCPUCount < 1 || mc.VCPUCount > 32 {
		return Reply{Fault: fmt.Sprintf("vcpu_count %d is out of the range 1 to 32", mc.VCPUCount)}
	}
	if mc.MemSizeMiB < 1 {
		return Reply{Fault: "mem_size_mib must be positive"}
	}
	if r, ok := v.preBoot("machine-config"); !ok {
		return r
	}
	v.machine = mc
	return Reply{}
}

func (v *vmState) putBootSource(body []byte) Reply {
	var bs struct {
		KernelImagePath string `json:"kernel_image_path"`
		BootArgs        string `json:"boot_args"`
		InitrdPath      string `json:"initrd_path"`
	}
	if err := decodeStrict(body, &bs); err != nil {
		return badBody(err)
	}
	if bs.KernelImagePath == "" {
		return Reply{Fault: "kernel_image_path is missing"}
	}
	if r, ok := v.preBoot("boot-source"); !ok {
		return r
	}
	v.bootSource = true
	return Reply{}
}

func (v *vmState) putDrive(id string, body []byte) Reply {
	var d drive
	if err := decodeStrict(body, &d); err != nil {
		return badBody(err)
	}
	switch {
	case d.DriveID == nil || d.IsRootDevice == nil:
		return Reply{Fault: "drive_id and is_root_device are required"}
	case *d.DriveID != id:
		return Reply{Fault: fmt.Sprintf("drive_id %q in the body differs from %q in the path", *d.DriveID, id)}
	}
	if r, ok := v.preBoot("drives"); !ok {
		return r
	}
	return Reply{}
}

func (v *vmState) putNetworkInterface(id string, body []byte) Reply {
	var n networkInterface
	if err := decodeStrict(body, &n); err != nil {
		return badBody(err)
	}
	switch {
	case n.IfaceID == nil || n.HostDevName == "":
		return Reply{Fault: "iface_id and host_dev_name are required"}
	case *n.IfaceID != id:
		return Reply{Fault: fmt.Sprintf("iface_id %q in the body differs from %q in the path", *n.IfaceID, id)}
	}
	if r, ok := v.preBoot("network-interfaces"); !ok {
		return r
	}
	return Reply{}
}

func (v *vmState) action(body []byte) Reply {
	var a struct {
		ActionType string `json:"action_type"`
	}
	if err := decodeStrict(body, &a); err != nil {
		return badBody(err)
	}
	switch a.ActionType {
	case "InstanceStart":
		if v.state != StateNotStarted {
			return Reply{Fault: "the microVM is already started"}
		}
		if !v.bootSource {
			return Reply{Fault: "cannot start the microVM without a boot source"}
		}
		v.state = StateRunning
	case "SendCtrlAltDel":
		if v.state == StateNotStarted {
			return Reply{Fault: "SendCtrlAltDel needs a started microVM"}
		}
	case "FlushMetrics":
	default:
		return Reply{Fault: fmt.Sprintf("unknown action_type %q", a.ActionType)}
	}
	return Reply{}
}

func (v *vmState) patchVM(body []byte) Reply {
	var s struct {
		State string `json:"state"`
	}
	if err := decodeStrict(body, &s); err != nil {
		return badBody(err)
	}
	if v.state == StateNotStarted {
		return Reply{Fault: "the microVM is not started"}
	}
	switch s.State {
	case "Paused":
		v.state = StatePaused
	case "Resumed":
		v.state = StateRunning
	default:
		return Reply{Fault: fmt.Sprintf("unknown state %q", s.State)}
	}
	return Reply{}
}

func (v *vmState) createSnapshot(body []byte) Reply {
	var p snapshotCreate
	if err := decodeStrict(body, &p); err != nil {
		return badBody(err)
	}
	if p.SnapshotPath == "" || p.MemFilePath == "" {
		return Reply{Fault: "snapshot_path and mem_file_path are required"}
	}
	if v.state != StatePaused {
		return Reply{Fault: "the microVM must be paused to create a snapshot"}
	}
	return Reply{}
}

func (v *vmState) loadSnapshot(body []byte) Reply {
	var p snapshotLoad
	if err := decodeStrict(body, &p); err != nil {
		return badBody(err)
	}
	if p.SnapshotPath == "" || (p.MemFilePath == "") == (p.MemBackend == nil) {
		return Reply{Fault: "snapshot_path and exactly one of mem_file_path and mem_backend are required"}
	}
	if v.configured || v.state != StateNotStarted {
		return Reply{Fault: "loading a snapshot is allowed only before any configuration"}
	}
	v.state = StatePaused
	if p.ResumeVM {
		v.state = StateRunning
	}
	return Reply{}
}

// decodeStrict decodes one JSON value into v and rejects unknown fields,
// as Firecracker's bodies declared with serde's deny_unknown_fields do,
// and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func badBody(err error) Reply {
	return Reply{Fault: "invalid request body: " + err.Error()}
}

func jsonReply(v any) Reply {
	data, err := json.Marshal(v)
	if err != nil {
		return Reply{Status: http.StatusInternalServerError, Fault: err.Error()}
	}
	return Reply{Body: string(data)}
}
