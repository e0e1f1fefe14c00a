package firecracker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smolvm/smolvm-core/firecracker"
	"github.com/smolvm/smolvm-core/internal/fctest"
)

// Example configures and boots a VM. The fake API replaces a Firecracker
// started with "firecracker --api-sock PATH".
func Example() {
	dir, err := os.MkdirTemp("", "firecracker-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := fctest.Listen(filepath.Join(dir, "fc.sock"), fctest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := firecracker.New(srv.SocketPath(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	info, err := c.WaitReady(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("state:", info.State)

	steps := []func() error{
		func() error {
			return c.PutMachineConfig(ctx, firecracker.MachineConfig{VCPUCount: 1, MemSizeMiB: 256})
		},
		func() error {
			return c.PutBootSource(ctx, firecracker.BootSource{KernelImagePath: "/srv/vmlinux", BootArgs: "console=ttyS0"})
		},
		func() error {
			return c.PutDrive(ctx, firecracker.Drive{DriveID: "rootfs", PathOnHost: "/srv/rootfs.ext4", IsRootDevice: true})
		},
		func() error {
			return c.PutNetworkInterface(ctx, firecracker.NetworkInterface{IfaceID: "eth0", HostDevName: "tap0"})
		},
		func() error { return c.StartInstance(ctx) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			fmt.Println(err)
			return
		}
	}

	// Configuration after the start is rejected with Firecracker's fault
	// message in an APIError.
	err = c.PutBootSource(ctx, firecracker.BootSource{KernelImagePath: "/srv/other"})
	var apiErr *firecracker.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("status:", apiErr.StatusCode)
	}

	info, err = c.InstanceInfo(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("state:", info.State)
	// Output:
	// state: Not started
	// status: 400
	// state: Running
}
