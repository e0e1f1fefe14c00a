package hostcmd

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   error
	}{
		{"RTNETLINK answers: File exists", syscall.EEXIST},
		{"Error: ipv4: Address already assigned.", syscall.EEXIST},
		{"ioctl(TUNSETIFF): Device or resource busy", syscall.EBUSY},
		{`Cannot find device "tap0"`, syscall.ENODEV},
		{`Device "tap0" does not exist.`, syscall.ENODEV},
		{"RTNETLINK answers: Operation not permitted", syscall.EPERM},
		{"open: Permission denied", syscall.EACCES},
		{"RTNETLINK answers: Network is unreachable", syscall.ENETUNREACH},
		{"sysctl: cannot stat /proc/sys/net/x: No such file or directory", syscall.ENOENT},
		{"Error: ipv4: Address not found.", syscall.EADDRNOTAVAIL},
		{"Error: Device for nexthop is not up.", syscall.ENETDOWN},
		{"open: No such device or address", syscall.ENXIO},
		{"sudo: a password is required", ErrSudo},
		{"Sorry, user nobody is not allowed to execute '/usr/sbin/ip' as root. (sudo)", ErrSudo},
		{"something else went wrong", ErrUnknown},
		{"", ErrUnknown},
	} {
		t.Run(tc.stderr, func(t *testing.T) {
			if got := Errno(tc.stderr); got != tc.want {
				t.Fatalf("Errno(%q) = %v, want %v", tc.stderr, got, tc.want)
			}
		})
	}
}

func TestErrSudoIsPermission(t *testing.T) {
	if !errors.Is(ErrSudo, fs.ErrPermission) || !errors.Is(ErrSudo, syscall.EPERM) {
		t.Fatal("ErrSudo does not match fs.ErrPermission and EPERM")
	}
}

func TestToolFailureIsTyped(t *testing.T) {
	r := &Runner{}
	_, err := r.Tool(context.Background(), nil, "sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.ExitCode != 2 || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("got exit %d and cause %v, want exit 2 and EEXIST", e.ExitCode, e.Err)
	}
	if want := "sh -c echo 'RTNETLINK answers: File exists' >&2; exit 2: RTNETLINK answers: File exists"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}

func TestToolGetsStdinAndCLocale(t *testing.T) {
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	r := &Runner{}
	out, err := r.Tool(context.Background(), []byte("from stdin\n"), "sh", "-c", "cat; echo \"$LC_ALL\"")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("from stdin\nC\n", string(out)); diff != "" {
		t.Fatalf("output (-want +got):\n%s", diff)
	}
}

func TestToolCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Runner{}).Tool(ctx, nil, "sleep", "10")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not match context.Canceled", err)
	}
}

func TestToolNotFound(t *testing.T) {
	_, err := (&Runner{}).Tool(context.Background(), nil, "smolvm-no-such-tool")
	var e *Error
	if !errors.As(err, &e) || e.ExitCode != -1 || !strings.Contains(err.Error(), "smolvm-no-such-tool") {
		t.Fatalf("error %v, want an *Error naming the tool with exit code -1", err)
	}
}

func TestArgv(t *testing.T) {
	r := &Runner{Netns: "ns1", Sudo: true}
	for _, tc := range []struct {
		name string
		run  func() error
		want []string
	}{
		{"ip", func() error { _, err := r.IP(context.Background(), "smolvm-bad-argument"); return err },
			[]string{"sudo", "-n", "ip", "-n", "ns1", "smolvm-bad-argument"}},
		{"tool", func() error { _, err := r.Tool(context.Background(), nil, "sysctl", "-q"); return err },
			[]string{"sudo", "-n", "ip", "netns", "exec", "ns1", "sysctl", "-q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *Error
			if err := tc.run(); !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if diff := cmp.Diff(tc.want, e.Argv); diff != "" {
				t.Fatalf("argv (-want +got):\n%s", diff)
			}
		})
	}
}
