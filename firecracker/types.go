package firecracker

// The JSON field names below are those of Firecracker's API description,
// src/firecracker/swagger/firecracker.yaml in the Firecracker repository
// (checked against the 1.17.0-dev version). Optional fields are omitted
// when zero: Firecracker declares its request bodies with serde's
// deny_unknown_fields, so it rejects fields it does not know, and older
// releases lack some of them.

// Instance states as GET / reports them in InstanceInfo.State.
const (
	StateNotStarted = "Not started"
	StateRunning    = "Running"
	StatePaused     = "Paused"
)

// InstanceInfo is the reply to GET /.
type InstanceInfo struct {
	// ID is the instance id given with "firecracker --id", by default
	// "anonymous-instance".
	ID string `json:"id"`
	// State is StateNotStarted, StateRunning or StatePaused.
	State string `json:"state"`
	// VMMVersion is the Firecracker version, such as "1.7.0".
	VMMVersion string `json:"vmm_version"`
	// AppName is "Firecracker".
	AppName string `json:"app_name"`
}

// MachineConfig is the body of PUT /machine-config and the reply to GET
// /machine-config. A PUT resets the optional fields it leaves out to
// Firecracker's defaults.
type MachineConfig struct {
	// VCPUCount is the number of vCPUs, 1 to 32. With SMT it must be 1 or even.
	VCPUCount int `json:"vcpu_count"`
	// MemSizeMiB is the guest memory in MiB.
	MemSizeMiB int `json:"mem_size_mib"`
	// SMT enables simultaneous multithreading (x86_64 only).
	SMT bool `json:"smt,omitempty"`
	// TrackDirtyPages enables dirty page tracking, which diff snapshots
	// need.
	TrackDirtyPages bool `json:"track_dirty_pages,omitempty"`
	// CPUTemplate is a static CPU template such as "T2", or empty for none.
	CPUTemplate string `json:"cpu_template,omitempty"`
	// HugePages is "None", "Transparent" or "2M", or empty for the default.
	HugePages string `json:"huge_pages,omitempty"`
}

// BootSource is the body of PUT /boot-source.
type BootSource struct {
	// KernelImagePath is the host path of the guest kernel.
	KernelImagePath string `json:"kernel_image_path"`
	// BootArgs is the kernel command line, or empty for Firecracker's
	// default.
	BootArgs string `json:"boot_args,omitempty"`
	// InitrdPath is the host path of an initrd, or empty for none.
	InitrdPath string `json:"initrd_path,omitempty"`
}

// Drive is the body of PUT /drives/{drive_id}, a virtio-block device
// backed by a host file. vhost-user block devices are not covered, so send
// them with Client.Do.
type Drive struct {
	// DriveID names the drive and is the last path segment.
	DriveID string `json:"drive_id"`
	// PathOnHost is the host path of the backing file or block device.
	PathOnHost string `json:"path_on_host"`
	// IsRootDevice makes the drive the guest's root device.
	IsRootDevice bool `json:"is_root_device"`
	// IsReadOnly opens the backing file read-only.
	IsReadOnly bool `json:"is_read_only"`
	// PartUUID is the root partition's unique id, used only with
	// IsRootDevice. Empty boots from the whole device.
	PartUUID string `json:"partuuid,omitempty"`
	// CacheType is "Unsafe" or "Writeback", or empty for the default,
	// Unsafe.
	CacheType string `json:"cache_type,omitempty"`
	// IOEngine is "Sync" or "Async", or empty for the default, Sync.
	IOEngine string `json:"io_engine,omitempty"`
	// RateLimiter limits the drive's I/O, or is nil for no limit.
	RateLimiter *RateLimiter `json:"rate_limiter,omitempty"`
}

// NetworkInterface is the body of PUT /network-interfaces/{iface_id}, a
// virtio-net device on a host TAP.
type NetworkInterface struct {
	// IfaceID names the interface and is the last path segment.
	IfaceID string `json:"iface_id"`
	// HostDevName is the host TAP device, such as one made by
	// network.Manager.PrepareTAP.
	HostDevName string `json:"host_dev_name"`
	// GuestMAC is the guest's MAC address, such as "06:00:ac:10:00:02";
	// empty lets Firecracker choose.
	GuestMAC string `json:"guest_mac,omitempty"`
	// RxRateLimiter and TxRateLimiter limit received and sent traffic;
	// nil for no limit.
	RxRateLimiter *RateLimiter `json:"rx_rate_limiter,omitempty"`
	TxRateLimiter *RateLimiter `json:"tx_rate_limiter,omitempty"`
}

// RateLimiter limits I/O with a token bucket for bytes and one for
// operations.
type RateLimiter struct {
	// Bandwidth has bytes as tokens, or is nil for no limit.
	Bandwidth *TokenBucket `json:"bandwidth,omitempty"`
	// Ops has operations as tokens, or is nil for no limit.
	Ops *TokenBucket `json:"ops,omitempty"`
}

// TokenBucket is one bucket of a RateLimiter.
type TokenBucket struct {
	// Size is the capacity of the bucket in tokens.
	Size int64 `json:"size"`
	// OneTimeBurst is an initial extra budget of tokens.
	OneTimeBurst int64 `json:"one_time_burst,omitempty"`
	// RefillTime is the time to refill the whole bucket, in milliseconds.
	RefillTime int64 `json:"refill_time"`
}

// ActionType is the action_type of PUT /actions.
type ActionType string

// The actions Firecracker accepts on PUT /actions.
const (
	// ActionInstanceStart boots the configured VM.
	ActionInstanceStart ActionType = "InstanceStart"
	// ActionSendCtrlAltDel presses Ctrl+Alt+Del on the guest's i8042
	// keyboard (x86_64 only), which a Linux guest takes as a reboot
	// request.
	ActionSendCtrlAltDel ActionType = "SendCtrlAltDel"
	// ActionFlushMetrics writes the metrics to the metrics file now.
	ActionFlushMetrics ActionType = "FlushMetrics"
)

// VMState is the state of PATCH /vm.
type VMState string

// The states PATCH /vm sets.
const (
	VMPaused  VMState = "Paused"
	VMResumed VMState = "Resumed"
)

// Snapshot types of SnapshotCreateParams.SnapshotType.
const (
	SnapshotFull = "Full"
	SnapshotDiff = "Diff"
)

// SnapshotCreateParams is the body of PUT /snapshot/create. Firecracker
// requires the VM to be paused.
type SnapshotCreateParams struct {
	// SnapshotPath is the host file that receives the VM state.
	SnapshotPath string `json:"snapshot_path"`
	// MemFilePath is the host file that receives the guest memory.
	MemFilePath string `json:"mem_file_path"`
	// SnapshotType is SnapshotFull or SnapshotDiff, or empty for Full.
	SnapshotType string `json:"snapshot_type,omitempty"`
}

// SnapshotLoadParams is the body of PUT /snapshot/load. Firecracker
// accepts it only on a fresh process. Exactly one of MemFilePath and
// MemBackend must be set.
type SnapshotLoadParams struct {
	// SnapshotPath is the host file with the VM state.
	SnapshotPath string `json:"snapshot_path"`
	// MemFilePath is the host file with the guest memory. Firecracker
	// deprecates it in favour of MemBackend.
	MemFilePath string `json:"mem_file_path,omitempty"`
	// MemBackend is the source of the guest memory.
	MemBackend *MemoryBackend `json:"mem_backend,omitempty"`
	// TrackDirtyPages enables dirty page tracking after the load.
	TrackDirtyPages bool `json:"track_dirty_pages,omitempty"`
	// ResumeVM resumes the VM once the load succeeds.
	ResumeVM bool `json:"resume_vm,omitempty"`
	// NetworkOverrides moves network interfaces to other host TAPs, so a
	// snapshot can be restored next to the VM it was taken from.
	NetworkOverrides []NetworkOverride `json:"network_overrides,omitempty"`
}

// MemoryBackend is the source of guest memory for a snapshot load.
type MemoryBackend struct {
	// BackendType is "File" or "Uffd".
	BackendType string `json:"backend_type"`
	// BackendPath is the memory file for File, or the Unix socket of a
	// userfaultfd page-fault handler for Uffd.
	BackendPath string `json:"backend_path"`
}

// NetworkOverride is one entry of SnapshotLoadParams.NetworkOverrides.
type NetworkOverride struct {
	IfaceID     string `json:"iface_id"`
	HostDevName string `json:"host_dev_name"`
}
