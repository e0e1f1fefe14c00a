// Package guest contains what the end-to-end tests in e2e and the demo
// share about the tiny Linux guest that scripts/build-guest builds. That
// is where the build puts it, the kernel command line its /init reads and
// the lines it prints on the console. It also reaches the guest from the
// host side of a network namespace, with ping and HTTP. It starts no
// processes. Reaching the guest needs root, to enter the namespace and to
// open a raw ICMP socket.
package guest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Console lines printed by the guest's /init (see e2e/guest/init), each
// followed by a space and details.
const (
	// ReadyMarker starts the line "SMOLVM-E2E-READY token=WORD disks=NAMES"
	// that the guest prints once its HTTP server listens.
	ReadyMarker = "SMOLVM-E2E-READY"
	// FailMarker starts a line that reports a failed setup; the guest then
	// powers off.
	FailMarker = "SMOLVM-E2E-FAIL"
	// LinkMarker starts "SMOLVM-E2E-LINK NAME mac=MAC state=OPERSTATE",
	// printed when a network device appears or changes its state.
	LinkMarker = "SMOLVM-E2E-LINK"
	// PoweroffMarker is printed when the ACPI power button was pressed.
	PoweroffMarker = "SMOLVM-E2E-POWEROFF"
)

// Image is a guest built by scripts/build-guest.
type Image struct {
	Dir       string
	Kernel    string // Dir/vmlinuz
	Initramfs string // Dir/initramfs.cpio.gz
}

// DefaultDir returns the directory scripts/build-guest writes to:
// $SMOLVM_GUEST_DIR when set, else smolvm-core/guest in the user's cache
// directory ($XDG_CACHE_HOME, or ~/.cache), as the script computes it.
func DefaultDir() (string, error) {
	if dir := os.Getenv("SMOLVM_GUEST_DIR"); dir != "" {
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the guest cache directory: %w (set SMOLVM_GUEST_DIR)", err)
	}
	return filepath.Join(cache, "smolvm-core", "guest"), nil
}

// Find returns the guest in dir. It returns an error matching
// fs.ErrNotExist when the kernel or the initramfs is missing.
func Find(dir string) (Image, error) {
	img := Image{
		Dir:       dir,
		Kernel:    filepath.Join(dir, "vmlinuz"),
		Initramfs: filepath.Join(dir, "initramfs.cpio.gz"),
	}
	for _, path := range []string{img.Kernel, img.Initramfs} {
		info, err := os.Stat(path)
		if err != nil {
			return Image{}, fmt.Errorf("find the guest: %w", err)
		}
		if !info.Mode().IsRegular() {
			return Image{}, fmt.Errorf("find the guest: %s is not a regular file", path)
		}
	}
	return img, nil
}

// KernelPackage returns the kernel package that the guest was built from,
// as recorded in its build-info file, or "" when that file lacks it.
func (img Image) KernelPackage() string {
	b, err := os.ReadFile(filepath.Join(img.Dir, "build-info"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if value, ok := strings.CutPrefix(line, "kernel_package="); ok {
			return value
		}
	}
	return ""
}

// Params are the settings that the guest's /init reads from the kernel
// command line.
type Params struct {
	// Address and Gateway configure the guest's eth0.
	Address netip.Prefix
	Gateway netip.Addr
	// Port is the TCP port of the guest's HTTP server.
	Port int
	// Token is served in the guest's page and printed in its ready line,
	// so a caller can tell that a reply comes from the guest it booted.
	// It is one word of letters and digits.
	Token string
}

// Cmdline returns the kernel command line for the guest on QEMU's microvm
// machine with the accelerator accel ("kvm" or "tcg"), followed by extra.
// Under TCG it reads the host's TSC rate from /proc/cpuinfo.
func Cmdline(accel string, p Params, extra ...string) (string, error) {
	if !p.Address.IsValid() || !p.Gateway.IsValid() || p.Port < 1 || p.Port > 65535 {
		return "", fmt.Errorf("invalid guest parameters: address %v, gateway %v, port %d", p.Address, p.Gateway, p.Port)
	}
	if p.Token == "" || strings.ContainsFunc(p.Token, func(r rune) bool { return !isAlnum(r) }) {
		return "", fmt.Errorf("invalid guest token %q: use letters and digits", p.Token)
	}
	args := []string{
		"console=ttyS0",
		"quiet",
		// Reboot at once on a panic. With QEMU's -no-reboot QEMU then
		// exits, so a broken guest shows at once instead of at a timeout.
		"panic=-1",
		"smolvm.ip=" + p.Address.String(),
		"smolvm.gw=" + p.Gateway.String(),
		"smolvm.port=" + strconv.Itoa(p.Port),
		"smolvm.token=" + p.Token,
	}
	if accel == "tcg" {
		// microvm has no HPET or ACPI PM timer, so the kernel measures
		// the TSC against the PIT alone. Under TCG that measurement can
		// fail when the emulation runs slowly, such as on a loaded host,
		// and the boot then stalls. Giving the rate skips the
		// measurement. Under TCG the guest's TSC ticks at the host's rate.
		khz, err := HostTSCKHz()
		if err != nil {
			return "", err
		}
		args = append(args, "tsc_early_khz="+strconv.Itoa(khz))
	}
	return strings.Join(append(args, extra...), " "), nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// HostTSCKHz estimates the host's TSC rate in kHz from the "cpu MHz" line
// of /proc/cpuinfo.
//
// NOTE: "cpu MHz" is the current clock, which equals the TSC rate on
// virtual machines and on CPUs without frequency scaling but may differ
// elsewhere. A wrong rate skews the guest's clock; the boot still
// succeeds.
func HostTSCKHz() (int, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0, fmt.Errorf("read the host TSC rate for tsc_early_khz: %w", err)
	}
	return parseCPUMHz(string(b))
}

// parseCPUMHz returns the first "cpu MHz" value of a /proc/cpuinfo text in
// kHz.
func parseCPUMHz(cpuinfo string) (int, error) {
	for _, line := range strings.Split(cpuinfo, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || mhz <= 0 {
			return 0, fmt.Errorf("read the host TSC rate for tsc_early_khz: invalid cpu MHz line %q in /proc/cpuinfo", line)
		}
		return int(mhz * 1000), nil
	}
	return 0, errors.New("read the host TSC rate for tsc_early_khz: /proc/cpuinfo has no cpu MHz line")
}
