// Package capabilities reports which of smolvm-core's paths work on this
// host and, for each that does not, why not and how to fix it.
//
// It has no side effects. It opens /dev/net/tun and /dev/kvm, queries
// /dev/kvm only for its API version, reads /proc/self/status and
// /proc/cpuinfo, queries the filesystem of a directory for block sharing,
// runs `sudo -n -l` to read the sudo policy, and looks programs up in PATH.
// It creates no device and writes nothing. It needs no privilege.
package capabilities

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/smolvm/smolvm-core/internal/privilege"
	"github.com/smolvm/smolvm-core/network"
)

// Check is the result of one probe.
type Check struct {
	// Name identifies the probe, such as "network.native" or "qemu".
	Name string `json:"name"`
	// Available is true when the path can be used here.
	Available bool `json:"available"`
	// Detail is the reason it cannot be used and the fix, or a short
	// description of what was found when it can.
	Detail string `json:"detail"`
}

// Version is smolvm-core's version, by release date (YYYY.M.D), as the
// Python module's __version__ gives it.
const Version = "2026.12.4"

// Report is the set of probes for this host.
type Report struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	EUID      int    `json:"euid"`
	// NetworkPath is the path a network manager with the default backend
	// takes in this process, and why.
	NetworkPath network.Path `json:"network_path"`
	Checks      []Check      `json:"checks"`
}

// Options selects what Probe checks beyond the host itself.
type Options struct {
	// DiskDir is the directory whose filesystem the disk.reflink check
	// examines, where a runtime keeps its images. Empty means the
	// current directory.
	DiskDir string
}

// Probe runs every check for the current directory and returns the report.
func Probe() Report { return ProbeWith(Options{}) }

// ProbeWith runs every check and returns the report.
func ProbeWith(opts Options) Report {
	r := Report{
		Version:     Version,
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		EUID:        os.Geteuid(),
		NetworkPath: network.DefaultPath(),
	}
	clients := []Check{probeQMP(), probeFirecracker(), probeFirecrackerBinary(), probeReflink(opts.DiskDir), probeZstd()}
	if runtime.GOOS != "linux" {
		r.Checks = append(r.Checks, Check{Name: "network.native", Detail: "Not available on this platform: TAP devices and rtnetlink need Linux"})
		r.Checks = append(r.Checks, probeQEMU())
		r.Checks = append(r.Checks, clients...)
		return r
	}
	capEff, capErr := privilege.EffectiveCaps()
	command := probeNetworkCommand()
	r.Checks = append(r.Checks,
		probeNativeNetwork(capEff, capErr),
		command,
		probeNetworkPath(r.NetworkPath, command),
		probeNetns(capEff, capErr),
		probeQEMU(),
		probeKVM(),
	)
	r.Checks = append(r.Checks, clients...)
	return r
}

func probeNativeNetwork(capEff uint64, capErr error) Check {
	c := Check{Name: "network.native"}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) {
		c.Detail = "no permission to open /dev/net/tun: run as root or give this user read and write access to it"
		return c
	}
	if err != nil {
		c.Detail = "cannot open /dev/net/tun (" + err.Error() + "): load the tun module or give the container the device"
		return c
	}
	f.Close()
	if capErr != nil {
		c.Detail = "cannot read the process capabilities: " + capErr.Error()
		return c
	}
	if capEff&(1<<privilege.CapNetAdmin) == 0 {
		c.Detail = "CAP_NET_ADMIN is missing: run as root or grant it (setcap cap_net_admin+ep BINARY)"
		return c
	}
	c.Available = true
	c.Detail = "/dev/net/tun opens and CAP_NET_ADMIN is held: TAPs, addresses, routes and sysctls use direct kernel calls"
	return c
}

// probeNetworkPath reports the path a network manager takes here, native
// or command, and whether that path works.
func probeNetworkPath(p network.Path, command Check) Check {
	c := Check{Name: "network.path", Available: true, Detail: p.Backend.String() + ": " + p.Reason}
	if p.Backend == network.BackendCommand && !command.Available {
		c.Available = false
		c.Detail += "; the command path does not work either: " + command.Detail
	}
	return c
}

// probeNetworkCommand reports whether the command path can run: ip and
// sysctl are installed and, for a process that is not root, sudo lets it
// run them without a password. `sudo -n -l CMD` only reads the sudo policy.
func probeNetworkCommand() Check {
	c := Check{Name: "network.command"}
	var tools []string
	for _, t := range []struct{ name, pkg string }{{"ip", "iproute2"}, {"sysctl", "procps"}} {
		path, err := exec.LookPath(t.name)
		if err != nil {
			c.Detail = t.name + " is not in PATH: apt-get install " + t.pkg
			return c
		}
		tools = append(tools, path)
	}
	if os.Geteuid() == 0 {
		c.Available = true
		c.Detail = "ip and sysctl are installed and run as root"
		return c
	}
	if _, err := exec.LookPath("sudo"); err != nil {
		c.Detail = "not root and sudo is not installed: apt-get install sudo and allow ip and sysctl without a password"
		return c
	}
	for _, path := range tools {
		if err := exec.Command("sudo", "-n", "-l", path).Run(); err != nil {
			c.Detail = "sudo -n does not allow " + path + ": add a NOPASSWD sudoers rule for ip and sysctl (and nft for the firewall)"
			return c
		}
	}
	c.Available = true
	c.Detail = "ip and sysctl are installed and sudo -n allows them"
	return c
}

func probeNetns(capEff uint64, capErr error) Check {
	c := Check{Name: "netns"}
	switch {
	case capErr != nil:
		c.Detail = "cannot read the process capabilities: " + capErr.Error()
	case capEff&(1<<privilege.CapSysAdmin) == 0:
		c.Detail = "CAP_SYS_ADMIN is missing, so --netns cannot enter a namespace: run as root"
	default:
		c.Available = true
		c.Detail = "CAP_SYS_ADMIN is held: --netns NAME works for namespaces in /run/netns"
	}
	return c
}

func probeQEMU() Check {
	c := Check{Name: "qemu"}
	path, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		c.Detail = "qemu-system-x86_64 is not in PATH: apt-get install qemu-system-x86"
		return c
	}
	c.Available = true
	c.Detail = path
	return c
}

// probeKVM reports whether QEMU can use KVM, and whether KVM is worth using
// for a stock guest kernel. That needs the CPU to advertise hardware
// virtualisation (vmx or svm): a KVM without it, such as a paravirtual one
// inside another VM, runs a stock kernel through its instruction emulator,
// far slower than TCG.
func probeKVM() Check {
	c := Check{Name: "kvm"}
	if err := openKVM(); err != nil {
		c.Detail = err.Error() + ": QEMU will use TCG"
		return c
	}
	c.Available = true
	if !HardwareVirtualization() {
		c.Detail = "/dev/kvm answers KVM_GET_API_VERSION, but the CPU advertises neither vmx nor svm (nested or paravirtual KVM): " +
			"stock guest kernels run far slower than under TCG, so the demo uses TCG unless given --accel kvm"
		return c
	}
	c.Detail = "/dev/kvm answers KVM_GET_API_VERSION and the CPU advertises hardware virtualisation"
	return c
}

// HardwareVirtualization reports whether /proc/cpuinfo lists the vmx or svm
// CPU flag.
func HardwareVirtualization() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "flags") {
			continue
		}
		for _, flag := range strings.Fields(line) {
			if flag == "vmx" || flag == "svm" {
				return true
			}
		}
	}
	return false
}
