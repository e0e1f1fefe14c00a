package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/qmp"
)

// TestGuestPowerdown presses the guest's ACPI power button with
// system_powerdown and checks that the guest powers itself off, which a
// runtime relies on for a clean shutdown.
func TestGuestPowerdown(t *testing.T) {
	netnstest.RequireRoot(t)
	qemuPath := netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	netnstest.RequireCommand(t, "qemu-img", "qemu-utils")
	img := buildGuest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newSandbox(t)

	s.run("prepare tap0 for the vmm's user", func() error { return s.prepareTAP(ctx, tapName, hostAddr, guestAddr) })
	s.run("boot the guest", func() error {
		_, err := s.boot(ctx, qemuPath, img)
		return err
	})
	s.run("fetch the guest's page", func() error { return s.checkPage(ctx, guestAddr) })
	s.run("qmp system_powerdown and wait for qemu to exit", func() error { return s.powerdown(ctx) })
	s.run("check the qemu process is gone", s.checkQEMUGone)
	s.run("check tap0 lost its carrier", func() error { return s.waitCarrier(ctx, tapName, false) })
	s.run("delete tap0", func() error { return s.deleteTAPs(ctx, tapName) })
	s.run("delete the netns and the working directory", s.removeNetnsAndDir)
}

// powerdown presses the ACPI power button and checks that the guest
// powers itself off: QEMU reports a shutdown that the guest asked for,
// QEMU exits with status 0, and the guest's button handler ran.
func (s *sandbox) powerdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, exitTimeout)
	defer cancel()
	_, ev, err := s.client.ExecuteAndWait(ctx, "system_powerdown", nil, qmp.EventFilter{Names: []string{"SHUTDOWN"}})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, s.vm.logs())
	}
	var shutdown struct {
		Guest  bool   `json:"guest"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(ev.Data, &shutdown); err != nil {
		return fmt.Errorf("decode SHUTDOWN event data %s: %w", ev.Data, err)
	}
	if !shutdown.Guest || shutdown.Reason != "guest-shutdown" {
		return fmt.Errorf("SHUTDOWN event data is %s, want guest=true and reason guest-shutdown", ev.Data)
	}

	if err := s.vm.waitExit(exitTimeout); err != nil {
		return err
	}
	if !strings.Contains(s.vm.serial(), guest.PoweroffMarker) {
		return fmt.Errorf("the guest console lacks %q, so the power button handler did not run\n%s", guest.PoweroffMarker, s.vm.logs())
	}
	return nil
}
