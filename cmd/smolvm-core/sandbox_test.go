package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsstate"
)

func TestSandboxUpDown(t *testing.T) {
	netnstest.RequireCommand(t, "nft", "nftables")
	ns := netnstest.New(t)
	flags := []string{"sandbox", "up", "--id", "sb-1", "--owner", "4242", "--host-ip", "172.16.0.1/30",
		"--guest", "172.16.0.2", "--nat", "--forward", "8080:80", "--forward", "2222:22:local", "--egress", "10.0.0.0/8"}

	// The first sandbox in a namespace leaves smolvm-core's empty table and
	// ip_forward=1 for the next ones, so the comparison starts after one.
	cli(t, ns, "sandbox", "up", "--id", "warm", "--host-ip", "172.16.9.1/30", "--guest", "172.16.9.2", "--nat")
	cli(t, ns, "sandbox", "down", "warm")
	before := nsstate.Take(t, ns)

	var st struct {
		ID  string `json:"id"`
		TAP struct {
			Name      string `json:"name"`
			SandboxID string `json:"sandbox_id"`
		} `json:"tap"`
		Forwards []any `json:"forwards"`
	}
	if err := json.Unmarshal([]byte(cli(t, ns, flags...)), &st); err != nil {
		t.Fatal(err)
	}
	if st.ID != "sb-1" || st.TAP.SandboxID != "sb-1" || len(st.Forwards) != 2 {
		t.Fatalf("sandbox up printed %+v", st)
	}
	up := nsstate.Take(t, ns)
	cli(t, ns, flags...)
	if diff := cmp.Diff(up, nsstate.Take(t, ns)); diff != "" {
		t.Fatalf("a second sandbox up changed the namespace (-first +second):\n%s", diff)
	}
	if out := cli(t, ns, "sandbox", "list"); !strings.Contains(out, "sb-1 tap "+st.TAP.Name) {
		t.Fatalf("sandbox list printed %q", out)
	}

	cli(t, ns, "sandbox", "down", "sb-1")
	cli(t, ns, "sandbox", "down", "sb-1")
	if diff := cmp.Diff(before, nsstate.Take(t, ns)); diff != "" {
		t.Fatalf("up then down left the namespace changed (-before +after):\n%s", diff)
	}
}

func TestSandboxSpecFile(t *testing.T) {
	netnstest.RequireCommand(t, "nft", "nftables")
	ns := netnstest.New(t)
	path := filepath.Join(t.TempDir(), "spec.json")
	spec := `{"id": "file-1", "tap": "sbtap0", "owner": -1, "host": "10.8.0.1/30", "guest": "10.8.0.2",
		"nat": false, "forwards": [{"host_port": 9000, "guest_port": 90}], "egress": []}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cli(t, ns, "sandbox", "up", "--spec", path)
	if !strings.Contains(out, `"name": "sbtap0"`) || !strings.Contains(out, `"egress_limited": true`) {
		t.Fatalf("sandbox up --spec printed:\n%s", out)
	}
	cli(t, ns, "sandbox", "down", "file-1")
}

func TestSandboxUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		message string
	}{
		{[]string{"sandbox", "up"}, "needs --id, --host-ip and --guest"},
		{[]string{"sandbox", "up", "--spec", "x.json", "--id", "a"}, "--spec and --id cannot be combined"},
		{[]string{"sandbox", "up", "--id", "a", "--host-ip", "10.0.0.1/30", "--guest", "10.0.0.2", "--forward", "80"}, `invalid --forward "80"`},
		{[]string{"sandbox", "up", "--id", "a b", "--host-ip", "10.0.0.1/30", "--guest", "10.0.0.2"}, `invalid sandbox id "a b"`},
		{[]string{"sandbox", "down"}, "takes the arguments ID"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.message) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.message)
		}
	}
}

func TestSandboxSpecWithoutOwner(t *testing.T) {
	netnstest.RequireCommand(t, "nft", "nftables")
	ns := netnstest.New(t)
	path := filepath.Join(t.TempDir(), "spec.json")
	spec := `{"id": "no-owner", "host": "10.9.0.1/30", "guest": "10.9.0.2"}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cli(t, ns, "sandbox", "up", "--spec", path)
	if !strings.Contains(out, `"owner": null`) {
		t.Fatalf("a spec without owner gave:\n%s\nwant a TAP with no owner", out)
	}
	cli(t, ns, "sandbox", "down", "no-owner")
}
