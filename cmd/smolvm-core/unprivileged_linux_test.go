package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// nobodyID is the uid and gid of Debian's unprivileged user "nobody".
const nobodyID = 65534

// TestUnprivilegedCommandPath runs the CLI as the user nobody, with no
// capabilities, in a fresh namespace. It must take the command path through
// sudo -n (allowed for ip and sysctl only, by a sudoers file the test writes
// and removes), log the one fallback warning once, and leave the TAP as the
// native path would.
func TestUnprivilegedCommandPath(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.RequireCommand(t, "sudo", "sudo")
	netnstest.RequireCommand(t, "sysctl", "procps")
	ns := netnstest.New(t)
	bin := buildCLI(t)

	t.Run("caps", func(t *testing.T) {
		out, _ := runAsNobody(t, bin, 0, "caps", "--json")
		var r struct {
			Checks []struct {
				Name      string `json:"name"`
				Available bool   `json:"available"`
				Detail    string `json:"detail"`
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Checks {
			if c.Name == "network.path" && (c.Available || !strings.Contains(c.Detail, "CAP_NET_ADMIN")) {
				t.Fatalf("caps as nobody reports %+v, want the command path for lack of CAP_NET_ADMIN", c)
			}
		}
	})

	t.Run("sudo refuses without a rule", func(t *testing.T) {
		_, stderr := runAsNobody(t, bin, 1, "--netns", ns, "tap", "create", "tap9")
		if !strings.Contains(stderr, "sudo -n refused") {
			t.Fatalf("stderr %q does not say that sudo refused", stderr)
		}
	})

	allowSudo(t)
	_, stderr := runAsNobody(t, bin, 0, "--netns", ns, "tap", "prepare", "tap0", "--host-ip", "10.0.0.1/24", "--owner", "nobody")
	if n := strings.Count(stderr, "warning:"); n != 1 || !strings.Contains(stderr, "CAP_NET_ADMIN") {
		t.Fatalf("stderr has %d warnings, want 1 that names CAP_NET_ADMIN:\n%s", n, stderr)
	}
	runAsNobody(t, bin, 0, "--netns", ns, "route", "add", "10.1.0.0/24", "--dev", "tap0")

	l := linkInfoOf(t, ns, "tap0")
	data := l.LinkInfo.Data
	if data.Type != "tap" || !data.Persist || data.User != "nobody" || !strings.Contains(strings.Join(l.Flags, ","), "UP") {
		t.Fatalf("tap0 is %+v, want a persistent, up TAP owned by nobody", l)
	}
	if got := sysctlIn(t, ns, "net/ipv4/conf/tap0/route_localnet"); got != "1" {
		t.Fatalf("route_localnet = %q, want 1", got)
	}
	if out := ipIn(t, ns, "route", "show", "10.1.0.0/24"); !strings.Contains(out, "dev tap0") {
		t.Fatalf("route listing %q, want the route through tap0", out)
	}
}

// buildCLI builds this command into a directory that the user nobody can
// read.
func buildCLI(t *testing.T) string {
	t.Helper()
	goTool := netnstest.RequireCommand(t, "go", "golang")
	dir, err := os.MkdirTemp("", "smolvm-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "smolvm-core")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// allowSudo lets the user nobody run ip and sysctl as root without a
// password, until t ends.
func allowSudo(t *testing.T) {
	t.Helper()
	var tools []string
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		for _, name := range []string{"ip", "sysctl"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				tools = append(tools, filepath.Join(dir, name))
			}
		}
	}
	var b [4]byte
	rand.Read(b[:])
	path := "/etc/sudoers.d/smolvm-test-" + hex.EncodeToString(b[:])
	rule := "nobody ALL=(root) NOPASSWD: " + strings.Join(tools, ", ") + "\n"
	if err := os.WriteFile(path, []byte(rule), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Error(err)
		}
	})
	if out, err := exec.Command("visudo", "-cf", path).CombinedOutput(); err != nil {
		t.Fatalf("visudo rejects %s: %v\n%s", path, err, out)
	}
}

// runAsNobody runs bin with args as the user nobody, who has no capabilities,
// and fails t unless it exits with code. It returns stdout and stderr.
func runAsNobody(t *testing.T, bin string, code int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{}}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	got := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		got = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if got != code {
		t.Fatalf("%v as nobody: exit %d, want %d\nstdout: %s\nstderr: %s", args, got, code, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

type ipLinkJSON struct {
	Flags    []string `json:"flags"`
	LinkInfo struct {
		Data struct {
			Type    string `json:"type"`
			Persist bool   `json:"persist"`
			User    any    `json:"user"`
		} `json:"info_data"`
	} `json:"linkinfo"`
}

func linkInfoOf(t *testing.T, ns, dev string) ipLinkJSON {
	t.Helper()
	var links []ipLinkJSON
	if err := json.Unmarshal([]byte(ipIn(t, ns, "-json", "-details", "link", "show", "dev", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("decode ip link show %s: %v", dev, err)
	}
	return links[0]
}

func ipIn(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func sysctlIn(t *testing.T, ns, path string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/sys/"+path).CombinedOutput()
	if err != nil {
		t.Fatalf("read %s: %v\n%s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}
