package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

func TestRunOnRealQEMU(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "qemu-system-x86_64", "qemu-system-x86")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := Run(ctx, &out, Options{})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"carrier=true", "status=running", "status=paused", "exit status 0", "demo passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
