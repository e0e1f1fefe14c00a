package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/guest"
	"github.com/smolvm/smolvm-core/internal/netnstest"
)

func TestRunWithoutGuest(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	dir := t.TempDir()
	err := Run(ctx, &out, Options{GuestDir: dir})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"none: no guest in " + dir + "; run scripts/build-guest",
		"carrier=true", "status=running", "status=paused", "exit status 0",
		"demo passed without a guest (no guest in " + dir,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "ping") {
		t.Error("output mentions ping, but no guest ran")
	}
}

func TestRunBootsGuest(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")
	dir, err := guest.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guest.Find(dir); err != nil {
		msg := "this test boots the guest that scripts/build-guest builds: run it first (" + err.Error() + ")"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure rather than a skip)")
		}
		t.Skip(msg)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = Run(ctx, &out, Options{GuestDir: dir})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"SMOLVM-E2E-READY token=", "carrier=true", "reply from 172.16.0.2 in",
		`"smolvm-e2e `, "status=paused", "exit status 0",
		"demo passed: a real guest booted on the tap and answered ping and HTTP",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
