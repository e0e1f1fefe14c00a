package firecracker_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

func TestValidatePath(t *testing.T) {
	valid := []string{"/", "/actions", "/drives/rootfs", "/network-interfaces/eth_0", "/vm/config", "/a-b.c~d"}
	for _, p := range valid {
		if err := firecracker.ValidatePath(p); err != nil {
			t.Errorf("ValidatePath(%q) = %v, want nil", p, err)
		}
	}

	invalid := []struct {
		path   string
		reason string
	}{
		{"", `must start with "/"`},
		{"actions", `must start with "/"`},
		{"//", "has an empty segment"},
		{"/drives/", "has an empty segment"},
		{"/drives//x", "has an empty segment"},
		{"/drives/..", `must not have a ".." segment`},
		{"/../etc", `must not have a ".." segment`},
		{"/drives/.", `must not have a "." segment`},
		{"/drives/a b", "must not contain whitespace"},
		{"/drives/a\tb", "must not contain whitespace"},
		{"/drives/a\x00", "must not contain control characters"},
		{"/drives/a\x7f", "must not contain control characters"},
		{"/drives/é", "must be ASCII"},
		{"/?x=1", `must not contain '?'`},
		{"/#frag", `must not contain '#'`},
		{"/drives/a%2Fb", `must not contain '%'`},
		{`/drives/"x"`, `must not contain '"': only letters, digits and -._~!$&'()*+,;=:@ are allowed`},
		{"/drives/{id}", `must not contain '{'`},
		{`/a\b`, `must not contain '\\'`},
	}
	for _, tt := range invalid {
		err := firecracker.ValidatePath(tt.path)
		var verr *firecracker.ValidationError
		if !errors.As(err, &verr) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidatePath(%q) = %v, want a ValidationError matching fs.ErrInvalid", tt.path, err)
			continue
		}
		if verr.Field != "path" || verr.Value != tt.path || !strings.Contains(verr.Reason, tt.reason) {
			t.Errorf("ValidatePath(%q) = %+v, want field path, the value and a reason with %q", tt.path, verr, tt.reason)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"rootfs", "eth0", "drive_1", "a.b", "x-y"} {
		if err := firecracker.ValidateID("drive_id", id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "/", "a b", " ", "a\n", "a?b", "a#b", "a%b", "ü"} {
		err := firecracker.ValidateID("drive_id", id)
		var verr *firecracker.ValidationError
		if !errors.As(err, &verr) || verr.Field != "drive_id" || verr.Value != id {
			t.Errorf("ValidateID(%q) = %v, want a ValidationError naming drive_id and the value", id, err)
		}
	}
}

func TestValidationSendsNothing(t *testing.T) {
	c, srv := newClient(t, fctest.Config{}, nil)
	ctx := testContext(t)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"lower-case method", func() error { _, _, err := c.Do(ctx, "get", "/", nil); return err }, "method"},
		{"empty method", func() error { _, _, err := c.Do(ctx, "", "/", nil); return err }, "method"},
		{"method with space", func() error { _, _, err := c.Do(ctx, "GET /", "/", nil); return err }, "method"},
		{"relative path", func() error { _, _, err := c.Do(ctx, "GET", "machine-config", nil); return err }, "path"},
		{"raw body not JSON", func() error { _, _, err := c.Do(ctx, "PUT", "/actions", []byte("{")); return err }, "body"},
		{"raw message not JSON", func() error { _, _, err := c.Do(ctx, "PUT", "/actions", json.RawMessage("")); return err }, "body"},
		{"body cannot encode", func() error { _, _, err := c.Do(ctx, "PUT", "/actions", make(chan int)); return err }, "body"},
		{"drive id with slash", func() error {
			return c.PutDrive(ctx, firecracker.Drive{DriveID: "../machine-config", PathOnHost: "/x"})
		}, "drive_id"},
		{"drive id empty", func() error { return c.PutDrive(ctx, firecracker.Drive{PathOnHost: "/x"}) }, "drive_id"},
		{"drive id dot dot", func() error { return c.PutDrive(ctx, firecracker.Drive{DriveID: "..", PathOnHost: "/x"}) }, "drive_id"},
		{"drive id space", func() error { return c.PutDrive(ctx, firecracker.Drive{DriveID: "root fs", PathOnHost: "/x"}) }, "drive_id"},
		{"drive without path", func() error { return c.PutDrive(ctx, firecracker.Drive{DriveID: "rootfs"}) }, "path_on_host"},
		{"iface id with slash", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0/x", HostDevName: "tap0"})
		}, "iface_id"},
		{"iface id whitespace", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "\t", HostDevName: "tap0"})
		}, "iface_id"},
		{"no tap", func() error { return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0"}) }, "host_dev_name"},
		{"tap name too long", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "tap-name-too-long"})
		}, "host_dev_name"},
		{"tap name with slash", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "a/b"})
		}, "host_dev_name"},
		{"bad mac", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "tap0", GuestMAC: "06-00-ac-10-00-02"})
		}, "guest_mac"},
		{"long mac", func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "tap0", GuestMAC: "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"})
		}, "guest_mac"},
		{"zero vcpus", func() error { return c.PutMachineConfig(ctx, firecracker.MachineConfig{MemSizeMiB: 128}) }, "vcpu_count"},
		{"zero memory", func() error { return c.PutMachineConfig(ctx, firecracker.MachineConfig{VCPUCount: 1}) }, "mem_size_mib"},
		{"no kernel", func() error { return c.PutBootSource(ctx, firecracker.BootSource{BootArgs: "x"}) }, "kernel_image_path"},
		{"unknown action", func() error { return c.Action(ctx, "Reboot") }, "action_type"},
		{"unknown vm state", func() error { return c.SetVMState(ctx, "Stopped") }, "vm state"},
		{"snapshot without path", func() error {
			return c.CreateSnapshot(ctx, firecracker.SnapshotCreateParams{MemFilePath: "m"})
		}, "snapshot_path"},
		{"snapshot without memory file", func() error {
			return c.CreateSnapshot(ctx, firecracker.SnapshotCreateParams{SnapshotPath: "s"})
		}, "mem_file_path"},
		{"snapshot type", func() error {
			return c.CreateSnapshot(ctx, firecracker.SnapshotCreateParams{SnapshotPath: "s", MemFilePath: "m", SnapshotType: "full"})
		}, "snapshot_type"},
		{"load without memory", func() error {
			return c.LoadSnapshot(ctx, firecracker.SnapshotLoadParams{SnapshotPath: "s"})
		}, "mem_backend"},
		{"load with both memory sources", func() error {
			return c.LoadSnapshot(ctx, firecracker.SnapshotLoadParams{SnapshotPath: "s", MemFilePath: "m",
				MemBackend: &firecracker.MemoryBackend{BackendType: "File", BackendPath: "m"}})
		}, "mem_file_path"},
		{"load backend type", func() error {
			return c.LoadSnapshot(ctx, firecracker.SnapshotLoadParams{SnapshotPath: "s",
				MemBackend: &firecracker.MemoryBackend{BackendType: "file", BackendPath: "m"}})
		}, "backend_type"},
		{"load override id", func() error {
			return c.LoadSnapshot(ctx, firecracker.SnapshotLoadParams{SnapshotPath: "s", MemFilePath: "m",
				NetworkOverrides: []firecracker.NetworkOverride{{IfaceID: "..", HostDevName: "tap0"}}})
		}, "iface_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var verr *firecracker.ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("error = %v (%T), want a ValidationError matching fs.ErrInvalid", err, err)
			}
			if verr.Field != tt.field {
				t.Errorf("Field = %q, want %q (error %v)", verr.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid "+tt.field+" ") {
				t.Errorf("error text %q does not start with %q", err, "invalid "+tt.field)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server received %d requests for invalid input, want 0", n)
	}
}

func TestNewRejectsEmptySocket(t *testing.T) {
	_, err := firecracker.New("", nil)
	var verr *firecracker.ValidationError
	if !errors.As(err, &verr) || verr.Field != "socket path" {
		t.Errorf("New(\"\") = %v, want a ValidationError for the socket path", err)
	}
}
