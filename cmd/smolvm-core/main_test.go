package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// runCLI runs the command line in-process and returns the exit status and
// both outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"no command", nil, "a command is required"},
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown subcommand", []string{"tap", "bogus", "x"}, `unknown command "bogus"`},
		{"unknown flag", []string{"tap", "create", "tap0", "--bogus"}, "unknown flag: --bogus"},
		{"missing argument", []string{"tap", "create"}, "smolvm-core: tap create takes the arguments NAME, got 0"},
		{"extra argument", []string{"link", "up", "a", "b"}, "takes the arguments DEV, got 2"},
		{"missing host ip", []string{"tap", "configure", "tap0"}, "--host-ip is required"},
		{"missing dev", []string{"route", "add", "10.0.0.0/8"}, "--dev is required"},
		{"invalid name", []string{"tap", "create", "a/b"}, `invalid interface name "a/b"`},
		{"invalid owner", []string{"tap", "create", "tap0", "--owner", "-5"}, `invalid uid "-5"`},
		{"owner unknown user", []string{"tap", "create", "tap0", "--owner", "no-such-user-smolvm"}, `invalid owner "no-such-user-smolvm"`},
		{"invalid address", []string{"addr", "add", "tap0", "10.0.0.300/24"}, `invalid address "10.0.0.300/24"`},
		{"route host bits", []string{"route", "add", "10.0.0.1/8", "--dev", "tap0"}, "has host bits set"},
		{"sysctl traversal", []string{"sysctl", "write", "net/../../etc/x", "1"}, `invalid sysctl key "net/../../etc/x"`},
		{"family", []string{"default-interface", "--family", "5"}, `invalid address family "5"`},
		{"bad netns name", []string{"--netns", "../x", "link", "up", "lo"}, `invalid netns name "../x"`},
		{"qmp without socket", []string{"qmp", "status"}, "--socket is required"},
		{"qmp bad json", []string{"qmp", "--socket", "/nonexistent", "exec", "stop", "[1]"}, "must be a JSON object"},
		{"qmp null arguments", []string{"qmp", "--socket", "/nonexistent", "exec", "stop", "null"}, "must be a JSON object"},
		{"qmp broken json", []string{"qmp", "--socket", "/nonexistent", "exec", "stop", "{"}, "unexpected end of JSON input"},
		{"qmp empty command", []string{"qmp", "--socket", "/nonexistent", "exec", ""}, `invalid COMMAND ""`},
		{"qmp with netns", []string{"--netns", "x", "qmp", "--socket", "/nonexistent", "status"}, "--netns applies to network commands only"},
		{"caps with netns", []string{"--netns", "x", "caps"}, "--netns applies to network commands only"},
		{"demo accel", []string{"demo", "--accel", "foo"}, `invalid --accel "foo"`},
		{"group without subcommand", []string{"tap"}, "tap needs a subcommand"},
		{"qmp exec no command", []string{"qmp", "--socket", "/nonexistent", "exec"}, "smolvm-core: qmp exec takes COMMAND"},
		{"qmp negative timeout", []string{"qmp", "--socket", "/nonexistent", "--timeout", "-1s", "status"}, "invalid --timeout"},
		{"events buffer", []string{"qmp", "--socket", "/nonexistent", "events", "--buffer", "0"}, "invalid --buffer 0"},
		{"events empty name", []string{"qmp", "--socket", "/nonexistent", "events", "--name", ""}, `invalid --name ""`},
		{"snapshot delete vmstate", []string{"qmp", "--socket", "/nonexistent", "snapshot", "delete", "t", "--vmstate", "x"}, "unknown flag: --vmstate"},
	}
	// As root, network commands run in a fresh namespace, so a case that
	// wrongly passes validation cannot change the host. Without root the
	// kernel rejects any change anyway.
	netns := ""
	if os.Geteuid() == 0 {
		netns = netnstest.New(t)
	}
	networkCommands := map[string]bool{"tap": true, "addr": true, "link": true, "route": true, "sysctl": true, "default-interface": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if netns != "" && len(args) > 0 && networkCommands[args[0]] {
				args = append([]string{"--netns", netns}, args...)
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.message) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.message)
			}
		})
	}
}

func TestHelpSucceeds(t *testing.T) {
	code, stdout, _ := runCLI(t, "tap", "prepare", "--help")
	if code != 0 || !strings.Contains(stdout, "--host-ip") || !strings.Contains(stdout, "--netns") {
		t.Fatalf("help: exit %d, output %q", code, stdout)
	}
}

func TestCapsJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, "caps", "--json")
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	var report struct {
		Checks []struct {
			Name      string `json:"name"`
			Available bool   `json:"available"`
			Detail    string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range report.Checks {
		names[c.Name] = true
		if c.Detail == "" {
			t.Errorf("check %s has no detail", c.Name)
		}
	}
	for _, want := range []string{"network.native", "netns", "qemu", "kvm"} {
		if !names[want] {
			t.Errorf("report lacks the %s check", want)
		}
	}
}

func TestNetworkCommandsInNetns(t *testing.T) {
	ns := netnstest.New(t)
	steps := [][]string{
		{"tap", "prepare", "tap0", "--host-ip", "172.16.0.1/30", "--owner", "4242"},
		{"tap", "prepare", "tap0", "--host-ip", "172.16.0.1/30", "--owner", "4242"},
		{"route", "add", "172.16.0.2/32", "--dev", "tap0"},
		{"tap", "create", "tap1"},
		{"addr", "add", "tap1", "10.1.0.1/24"},
		{"link", "up", "tap1"},
		{"addr", "flush", "tap1"},
		{"tap", "configure", "tap1", "--host-ip", "10.2.0.1/24"},
		{"sysctl", "write", "net.ipv4.ip_forward", "1"},
	}
	for _, args := range steps {
		code, _, stderr := runCLI(t, append([]string{"--netns", ns}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}

	code, stdout, stderr := runCLI(t, "--netns", ns, "tap", "show", "tap0", "--json")
	if code != 0 {
		t.Fatalf("tap show: exit %d: %s", code, stderr)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info["owner"] != float64(4242) || info["persistent"] != true || info["up"] != true || info["group"] != nil {
		t.Errorf("tap show = %v", info)
	}
	out, err := exec.Command("ip", "-n", ns, "route", "show", "172.16.0.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dev tap0") {
		t.Errorf("ip route show 172.16.0.2 = %q, %v", out, err)
	}

	failures := []struct {
		args    []string
		message string
	}{
		{[]string{"tap", "create", "tap0", "--owner", "1"}, "create tap tap0: tap exists with owner 4242, requested 1"},
		{[]string{"tap", "delete", "lo"}, "delete tap lo: not a tap device"},
		{[]string{"default-interface"}, "get default interface ipv4: no default route"},
		{[]string{"sysctl", "write", "net.ipv4.nope", "1"}, "write sysctl net.ipv4.nope: no such file or directory"},
		{[]string{"link", "up", "nope0"}, "set link up nope0: no such device"},
	}
	for _, f := range failures {
		code, _, stderr := runCLI(t, append([]string{"--netns", ns}, f.args...)...)
		if code != 1 || stderr != "smolvm-core: "+f.message+"\n" {
			t.Errorf("%v: exit %d, stderr %q, want 1 and %q", f.args, code, stderr, f.message)
		}
	}

	for _, args := range [][]string{{"tap", "delete", "tap0"}, {"tap", "delete", "tap0", "--missing-ok"}} {
		if code, _, stderr := runCLI(t, append([]string{"--netns", ns}, args...)...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "--netns", ns, "tap", "delete", "tap0"); code != 1 {
		t.Errorf("deleting an absent TAP: exit %d, want 1", code)
	}
}

func TestQMPCommandsOnRealQEMU(t *testing.T) {
	socket := startQEMU(t, false, "qmp")[0]

	code, stdout, stderr := runCLI(t, "qmp", "--socket", socket, "status")
	if code != 0 || strings.TrimSpace(stdout) != "prelaunch" {
		t.Fatalf("qmp status: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "qmp", "--socket", socket, "exec", "query-version")
	if code != 0 || !strings.Contains(stdout, `"qemu"`) {
		t.Fatalf("qmp exec query-version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "qmp", "--socket", socket, "exec", "no-such-command")
	if code != 1 || !strings.Contains(stderr, "CommandNotFound") || !strings.Contains(stderr, socket) {
		t.Fatalf("qmp exec of an unknown command: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "qmp", "--socket", socket, "exec", "quit")
	if code != 0 {
		t.Fatalf("qmp exec quit: exit %d, stderr %q", code, stderr)
	}
}
