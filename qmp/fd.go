package qmp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// ExecuteWithFile runs a command like Execute and passes file's descriptor
// to QEMU as SCM_RIGHTS ancillary data in the same sendmsg as the
// command, which is how getfd and add-fd receive descriptors. The caller
// keeps file open and may close it once the call returns; QEMU holds its
// own copy.
func (c *Client) ExecuteWithFile(ctx context.Context, command string, args any, file *os.File) (json.RawMessage, error) {
	if file == nil {
		return nil, c.callError(command, fmt.Errorf("invalid file: nil"))
	}
	return c.execute(ctx, command, args, file)
}

// GetFD hands QEMU a copy of file's descriptor under name (getfd), for
// later use by name, such as netdev_add with "fd": name for a TAP device
// the caller opened.
func (c *Client) GetFD(ctx context.Context, name string, file *os.File) error {
	_, err := c.ExecuteWithFile(ctx, "getfd", map[string]string{"fdname": name}, file)
	return err
}

// CloseFD closes a descriptor that GetFD gave QEMU (closefd).
func (c *Client) CloseFD(ctx context.Context, name string) error {
	_, err := c.Execute(ctx, "closefd", map[string]string{"fdname": name})
	return err
}

// FDInfo is the reply of add-fd.
type FDInfo struct {
	// FDSetID is the file descriptor set that holds the descriptor.
	FDSetID int `json:"fdset-id"`
	// FD is the descriptor number inside QEMU.
	FD int `json:"fd"`
}

// AddFDOptions are the optional arguments of AddFD.
type AddFDOptions struct {
	// FDSetID selects an existing descriptor set; nil lets QEMU create
	// one.
	FDSetID *int
	// Opaque is free text stored with the descriptor.
	Opaque string
}

// AddFD adds a copy of file's descriptor to a descriptor set (add-fd), for
// options that take "/dev/fdset/N" as a path.
func (c *Client) AddFD(ctx context.Context, file *os.File, opts AddFDOptions) (FDInfo, error) {
	args := map[string]any{}
	if opts.FDSetID != nil {
		args["fdset-id"] = *opts.FDSetID
	}
	if opts.Opaque != "" {
		args["opaque"] = opts.Opaque
	}
	raw, err := c.ExecuteWithFile(ctx, "add-fd", args, file)
	if err != nil {
		return FDInfo{}, err
	}
	var info FDInfo
	err = c.decodeReturn("add-fd", raw, &info)
	return info, err
}

// RemoveFD removes a descriptor set, or one descriptor from it when fd is
// not nil (remove-fd).
func (c *Client) RemoveFD(ctx context.Context, fdSetID int, fd *int) error {
	args := map[string]any{"fdset-id": fdSetID}
	if fd != nil {
		args["fd"] = *fd
	}
	_, err := c.Execute(ctx, "remove-fd", args)
	return err
}
