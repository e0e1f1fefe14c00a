package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smolvm/smolvm-core/internal/guest"
)

const (
	guestPort = 8080
	// bootTimeout bounds the wait for the guest's ready line, which came
	// 2 to 5 s after QEMU started under TCG on a 2-core VM in the e2e
	// test's runs. The limit leaves room for slow or loaded hosts.
	bootTimeout = 60 * time.Second
	// fetchTimeout bounds one HTTP request to the guest.
	fetchTimeout = 10 * time.Second
)

// findGuest looks for the guest that scripts/build-guest builds. A missing
// guest is not a failure: the demo then runs QEMU paused, and the step's
// detail and the final line report that.
func (d *demo) findGuest() (string, error) {
	if d.opts.NoGuest {
		d.noGuestReason = "--no-guest was given"
		return "none used: " + d.noGuestReason + ", so QEMU runs paused without a guest", nil
	}
	dir := d.opts.GuestDir
	if dir == "" {
		var err error
		if dir, err = guest.DefaultDir(); err != nil {
			return "", err
		}
	}
	img, err := guest.Find(dir)
	if errors.Is(err, fs.ErrNotExist) {
		d.noGuestReason = "no guest in " + dir + "; run scripts/build-guest to build one"
		return "none: " + d.noGuestReason + ", so QEMU runs paused without a guest", nil
	}
	if err != nil {
		return "", err
	}

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	d.token = hex.EncodeToString(b[:])
	d.guest = &img
	detail := dir
	if pkg := img.KernelPackage(); pkg != "" {
		detail += " (" + pkg + ")"
	}
	return detail, nil
}

// guestArgs returns QEMU's arguments that boot the guest: its kernel,
// initramfs and command line, and its console in a file of the demo's
// temporary directory.
func (d *demo) guestArgs(accel string) ([]string, error) {
	cmdline, err := guest.Cmdline(accel, guest.Params{
		Address: netip.PrefixFrom(guestAddr.Addr(), hostAddr.Bits()),
		Gateway: hostAddr.Addr(),
		Port:    guestPort,
		Token:   d.token,
	})
	if err != nil {
		return nil, err
	}
	cpu := "host"
	if accel == "tcg" {
		cpu = "max"
	}
	return []string{
		"-cpu", cpu,
		"-m", "128M",
		// A guest that panics makes QEMU exit instead of rebooting.
		"-no-reboot",
		"-kernel", d.guest.Kernel,
		"-initrd", d.guest.Initramfs,
		"-append", cmdline,
		"-serial", "file:" + d.serialPath(),
	}, nil
}

func (d *demo) serialPath() string {
	return filepath.Join(d.dir, "serial.log")
}

// guestSteps drive a QEMU that boots the guest: they wait for it, reach it
// from the host side of the namespace, and pause and resume it.
func (d *demo) guestSteps(ctx context.Context) []namedStep {
	client := guest.HTTPClient(d.netns, fetchTimeout)
	url := "http://" + netip.AddrPortFrom(guestAddr.Addr(), guestPort).String() + "/"
	fetchPage := func() (string, error) {
		body, err := guest.Fetch(ctx, client, url)
		if err != nil {
			return "", err
		}
		if want := "smolvm-e2e " + d.token; body != want {
			return "", fmt.Errorf("get %s = %q, want %q", url, body, want)
		}
		return fmt.Sprintf("GET %s: %q", url, body), nil
	}
	return []namedStep{
		{"wait for the guest to boot", func() (string, error) { return d.waitReady(ctx) }},
		{"check tap has carrier while qemu runs", func() (string, error) { return d.checkCarrier(ctx, true) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "running") }},
		{"ping the guest from the namespace", func() (string, error) {
			rtt, err := guest.Ping(d.netns, guestAddr.Addr(), 3, 2*time.Second)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("reply from %s in %v", guestAddr.Addr(), rtt.Round(10*time.Microsecond)), nil
		}},
		{"fetch the guest's page over http", fetchPage},
		{"qmp stop", func() (string, error) { return "", d.client.Stop(ctx) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "paused") }},
		{"qmp cont", func() (string, error) { return "", d.client.Cont(ctx) }},
		{"qmp query-status", func() (string, error) { return d.expectStatus(ctx, "running") }},
		{"fetch the guest's page after cont", fetchPage},
	}
}

// waitReady waits for the guest's ready line on its console.
func (d *demo) waitReady(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	prefix := guest.ReadyMarker + " token=" + d.token
	line, err := guest.WaitConsole(ctx, d.serialPath(), d.exited, func(line string) bool {
		return strings.Contains(line, prefix)
	})
	if err != nil {
		err = fmt.Errorf("wait for %q on the guest console: %w (console ends with: %s)", prefix, err, d.consoleTail())
		return "", d.withQEMULog(err)
	}
	return line[strings.Index(line, prefix):], nil
}

// consoleTail returns the end of the guest console on one line, for
// error messages.
func (d *demo) consoleTail() string {
	b, _ := os.ReadFile(d.serialPath())
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	if tail := strings.Join(strings.Fields(string(b)), " "); tail != "" {
		return tail
	}
	return "nothing"
}
