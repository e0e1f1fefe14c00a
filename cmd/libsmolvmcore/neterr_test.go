package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/network"
)

func TestNetworkError(t *testing.T) {
	tests := []struct {
		name string
		op   string
		dev  string
		err  error
		want errorInfo
	}{
		{
			name: "not available",
			op:   "create_tap", dev: "tap0",
			err:  &network.OpError{Op: "create tap", Object: "tap0", Err: network.ErrNotAvailable},
			want: errorInfo{Message: "Not available on this platform"},
		},
		{
			name: "invalid input",
			op:   "create_tap", dev: "bad/name",
			err:  &network.ValidationError{Field: "interface name", Value: "bad/name", Reason: "must not contain '/'"},
			want: errorInfo{Errno: int(syscall.EINVAL), Message: `create_tap: invalid interface name "bad/name": must not contain '/'`},
		},
		{
			name: "no device",
			op:   "add_route", dev: "nope0",
			err:  &network.OpError{Op: "add route", Object: "10.0.0.0/24 dev nope0", Err: network.ErrNoDevice},
			want: errorInfo{Errno: int(syscall.ENODEV), Message: `Cannot find device "nope0"`},
		},
		{
			name: "exists",
			op:   "create_tap", dev: "tap0",
			err:  &network.OpError{Op: "create tap", Object: "tap0", Err: syscall.EEXIST},
			want: errorInfo{Errno: int(syscall.EEXIST), Message: "File exists"},
		},
		{
			name: "route exists",
			op:   "add_route", dev: "tap1",
			err:  &network.OpError{Op: "add route", Object: "10.0.0.2/32 dev tap1", Err: syscall.EEXIST},
			want: errorInfo{Errno: int(syscall.EEXIST), Message: "RTNETLINK answers: File exists"},
		},
		{
			name: "busy",
			op:   "create_tap", dev: "tap0",
			err:  &network.OpError{Op: "create tap", Object: "tap0", Err: syscall.EBUSY},
			want: errorInfo{Errno: int(syscall.EBUSY), Message: "Device or resource busy"},
		},
		{
			name: "not permitted",
			op:   "create_tap", dev: "tap0",
			err:  &network.OpError{Op: "create tap", Object: "tap0", Err: fmt.Errorf("ioctl: %w", syscall.EPERM)},
			want: errorInfo{Errno: int(syscall.EPERM), Message: "Operation not permitted"},
		},
		{
			name: "permission denied keeps the go text",
			op:   "write_sysctl", dev: "",
			err:  &network.OpError{Op: "write sysctl", Object: "net.ipv4.ip_forward", Err: syscall.EACCES},
			want: errorInfo{Errno: int(syscall.EACCES), Message: "write sysctl net.ipv4.ip_forward: permission denied"},
		},
		{
			name: "not a tap",
			op:   "delete_tap", dev: "lo",
			err:  &network.OpError{Op: "delete tap", Object: "lo", Err: network.ErrNotTAP},
			want: errorInfo{Errno: int(syscall.EINVAL), Message: "delete tap lo: not a tap device"},
		},
		{
			name: "no default route",
			op:   "get_default_interface", dev: "",
			err:  &network.OpError{Op: "get default interface", Object: "ipv4", Err: network.ErrNoDefaultRoute},
			want: errorInfo{Errno: int(syscall.ENETUNREACH), Message: "get default interface ipv4: no default route"},
		},
		{
			name: "no errno",
			op:   "set_link_up", dev: "tap0",
			err:  &network.OpError{Op: "set link up", Object: "tap0", Err: errors.New("netlink message truncated")},
			want: errorInfo{Message: "set link up tap0: netlink message truncated"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := networkError(tt.op, tt.dev, tt.err)

			tt.want.Kind = kindOS
			tt.want.Detail = tt.err.Error()
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("networkError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIPv4Prefix(t *testing.T) {
	tests := []struct {
		ip        string
		prefixLen int64
		want      string
		wantErr   string
	}{
		{ip: "172.16.0.1", prefixLen: 30, want: "172.16.0.1/30"},
		{ip: "0.0.0.0", prefixLen: 0, want: "0.0.0.0/0"},
		{ip: "10.0.0.1", prefixLen: 32, want: "10.0.0.1/32"},
		{ip: "10.0.0.1", prefixLen: 33, wantErr: `invalid prefix length "33": must be from 0 to 32`},
		{ip: "10.0.0.1", prefixLen: -1, wantErr: `invalid prefix length "-1": must be from 0 to 32`},
		{ip: "fd00::1", prefixLen: 64, wantErr: `invalid address "fd00::1": is not an IPv4 address`},
		{ip: "::ffff:10.0.0.1", prefixLen: 24, wantErr: `invalid address "::ffff:10.0.0.1": is not an IPv4 address`},
		{ip: "10.0.0.1/24", prefixLen: 24, wantErr: `invalid address "10.0.0.1/24": is not an IPv4 address`},
		{ip: "", prefixLen: 24, wantErr: `invalid address "": is not an IPv4 address`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.ip, tt.prefixLen), func(t *testing.T) {
			got, err := ipv4Prefix("address", tt.ip, tt.prefixLen)

			if tt.wantErr != "" {
				var verr *network.ValidationError
				if !errors.As(err, &verr) || err.Error() != tt.wantErr {
					t.Fatalf("ipv4Prefix error = %v, want a ValidationError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("ipv4Prefix = %v, %v, want %s", got, err, tt.want)
			}
		})
	}
}
