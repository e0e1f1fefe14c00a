package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

func TestFirewallUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"nat without guest", []string{"nat", "setup", "tap0"}, "--guest is required"},
		{"nat bad guest", []string{"nat", "setup", "tap0", "--guest", "example.com"}, `invalid guest address "example.com"`},
		{"nat bad tap", []string{"nat", "setup", `tap0";flush`, "--guest", "172.16.0.2"}, `invalid tap name`},
		{"nat bad id", []string{"nat", "setup", "tap0", "--guest", "172.16.0.2", "--id", "a b"}, `invalid sandbox id "a b"`},
		{"forward port zero", []string{"forward", "add", "0", "172.16.0.2:80"}, `invalid host port "0"`},
		{"forward port range", []string{"forward", "add", "65536", "172.16.0.2:80"}, `invalid host port "65536"`},
		{"forward guest", []string{"forward", "add", "8080", "172.16.0.2"}, `invalid guest address "172.16.0.2"`},
		{"forward loopback guest", []string{"forward", "add", "8080", "127.0.0.1:80"}, "is a loopback address"},
		{"forward id without tap", []string{"forward", "add", "8080", "172.16.0.2:80", "--id", "x"}, "needs the forward's tap"},
		{"forward missing guest", []string{"forward", "add", "8080"}, "forward add takes the arguments HOST_PORT GUEST_IP:GUEST_PORT, got 1"},
		{"forward remove port", []string{"forward", "remove", "http"}, `invalid host port "http"`},
		{"egress no tap", []string{"egress", "set"}, "egress set takes the arguments TAP [PREFIX...], got 0"},
		{"egress host name", []string{"egress", "set", "tap0", "example.com"}, `invalid prefix "example.com"`},
		{"egress host bits", []string{"egress", "set", "tap0", "10.0.0.1/8"}, "has host bits set, the network is 10.0.0.0/8"},
		{"egress injection", []string{"egress", "set", "tap0", "10.0.0.0/8; flush ruleset"}, `invalid prefix`},
		{"egress overlap", []string{"egress", "set", "tap0", "10.0.0.0/8", "10.1.0.0/16"}, "overlaps 10.0.0.0/8"},
		{"firewall list args", []string{"firewall", "list", "x"}, "firewall list takes no arguments"},
		{"firewall remove tap", []string{"firewall", "remove", "tap/0"}, `invalid tap name "tap/0"`},
	}
	ns := netnstest.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"--netns", ns}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.message) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.message)
			}
		})
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "ruleset").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("ruleset after rejected commands: %q, %v; want empty", out, err)
	}
}

func TestFirewallCommandsInNetns(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.RequireCommand(t, "nft", "nftables")
	// The forward's TAP must exist, or a later add may replace the forward
	// as stale; a veth device is enough.
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "tap0", "type", "veth", "peer", "name", "tap0p").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	steps := [][]string{
		{"nat", "setup", "tap0", "--guest", "172.16.0.2", "--id", "sbx-1"},
		{"--backend", "command", "nat", "setup", "tap0", "--guest", "172.16.0.2", "--id", "sbx-1"},
		{"forward", "add", "8080", "172.16.0.2:80", "--tap", "tap0", "--id", "sbx-1"},
		{"forward", "add", "2222", "172.16.0.2:22"},
		{"egress", "set", "tap0", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1"},
		{"forward", "remove", "2222"},
		{"forward", "remove", "2222"},
	}
	for _, args := range steps {
		code, _, stderr := runCLI(t, append([]string{"--netns", ns}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit status %d: %s", args, code, stderr)
		}
	}

	code, stdout, stderr := runCLI(t, "--netns", ns, "firewall", "list")
	if code != 0 {
		t.Fatalf("firewall list: exit status %d: %s", code, stderr)
	}
	for _, want := range []string{
		"tap tap0 id sbx-1 isolated nat 172.16.0.2 egress [10.0.0.0/8 192.0.2.1/32 2001:db8::/32]",
		"forward 8080 -> 172.16.0.2:80 tap tap0 id sbx-1",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("firewall list lacks %q:\n%s", want, stdout)
		}
	}

	// A conflicting forward fails with status 1 and names the existing one.
	code, _, stderr = runCLI(t, "--netns", ns, "forward", "add", "8080", "172.16.0.6:80")
	if code != 1 || !strings.Contains(stderr, "already forwards to 172.16.0.2:80 of tap tap0") {
		t.Errorf("conflict: exit %d, stderr %q", code, stderr)
	}

	if code, _, stderr := runCLI(t, "--netns", ns, "firewall", "remove", "tap0"); code != 0 {
		t.Fatalf("firewall remove: exit status %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "--netns", ns, "firewall", "list", "--json")
	if code != 0 {
		t.Fatalf("firewall list --json: exit status %d: %s", code, stderr)
	}
	var st struct {
		TAPs     []any `json:"taps"`
		Forwards []any `json:"forwards"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("decode %q: %v", stdout, err)
	}
	if len(st.TAPs) != 0 || len(st.Forwards) != 0 {
		t.Errorf("after firewall remove tap0: %s", stdout)
	}
}

func TestForwardWarnsAboutDropPolicy(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.RequireCommand(t, "nft", "nftables")
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table ip filter { chain FORWARD { type filter hook forward priority 0; policy drop; }; }")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	code, _, stderr := runCLI(t, "--netns", ns, "forward", "add", "8080", "172.16.0.2:80")
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: chain FORWARD of table ip filter has policy drop") {
		t.Errorf("stderr = %q, want the policy drop warning", stderr)
	}
}
