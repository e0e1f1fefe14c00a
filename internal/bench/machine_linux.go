package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of /proc/stat, fixed at 100 ticks per second on
// Linux whatever the kernel's own tick rate.
const userHZ = 100

// collectMachine describes this machine and the tools the comparisons run.
func collectMachine(ctx context.Context) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OtherCPU: -1, LoadStart: loadAverage()}
	m.CPU, m.Virtual = cpuModel()
	m.Memory = memTotal()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	m.OS = osRelease()
	for _, t := range []struct{ name, prog, arg string }{
		{"iproute2", "ip", "-V"},
		{"QEMU", "qemu-system-x86_64", "--version"},
		{"nftables", "nft", "--version"},
		{"coreutils (cp)", "cp", "--version"},
	} {
		m.Tools = append(m.Tools, Tool{Name: t.name, Version: toolVersion(ctx, t.prog, t.arg)})
	}
	return m
}

// toolVersion returns the first line that prog prints for arg.
func toolVersion(ctx context.Context, prog, arg string) string {
	out, err := exec.CommandContext(ctx, prog, arg).Output()
	if err != nil {
		return "not available (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func cpuModel() (model string, virtual bool) {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown", false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case key == "model name" && model == "":
			model = value
		case key == "flags" && strings.Contains(" "+value+" ", " hypervisor "):
			virtual = true
		}
	}
	if model == "" {
		model = "unknown"
	}
	return model, virtual
}

func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

func osRelease() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(rest, `"`)
		}
	}
	return "unknown"
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// cpuClock is a reading of the machine's and this process's CPU time.
type cpuClock struct {
	wall  time.Time
	busy  time.Duration // all CPUs, idle and iowait excluded
	steal time.Duration
	own   time.Duration // this process and its waited-for children
}

func readCPUClock() (cpuClock, bool) {
	c := cpuClock{wall: time.Now()}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return c, false
	}
	ticks := make([]int64, 8)
	for i := range ticks {
		ticks[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	tick := time.Second / userHZ
	c.busy = time.Duration(ticks[0]+ticks[1]+ticks[2]+ticks[5]+ticks[6]) * tick
	c.steal = time.Duration(ticks[7]) * tick
	for _, target := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(target, &ru) == nil {
			c.own += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return c, true
}

// otherWork returns the shares of the CPU capacity between start and end
// that went to other work and to the hypervisor.
func otherWork(start, end cpuClock, cpus int) (other, steal float64) {
	capacity := float64(end.wall.Sub(start.wall)) * float64(cpus)
	if capacity <= 0 {
		return -1, 0
	}
	others := (end.busy - start.busy) - (end.own - start.own)
	return max(0, float64(others)/capacity), float64(end.steal-start.steal) / capacity
}
