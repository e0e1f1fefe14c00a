package bench

import (
	"fmt"
	"strings"
)

// Machine describes where a report was measured.
type Machine struct {
	CPU     string
	CPUs    int
	Virtual bool // the CPU reports a hypervisor
	Memory  int64
	Kernel  string
	OS      string
	Go      string
	// Tools lists the versions of the programs the comparisons run.
	Tools []Tool
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages.
	LoadStart, LoadEnd string
	// OtherCPU is the share of the machine's CPU time, from 0 to 1, that
	// other processes and kernel threads used during the run. It is
	// negative when unknown.
	OtherCPU float64
	// StealCPU is the share taken by the hypervisor for other guests.
	StealCPU float64
}

// Tool is a program and the version it reports.
type Tool struct {
	Name    string
	Version string
}

func (m Machine) writeMarkdown(b *strings.Builder) {
	b.WriteString("## Machine\n\n")
	cpu := fmt.Sprintf("%s, %d CPUs", m.CPU, m.CPUs)
	if m.Virtual {
		cpu += ", in a virtual machine"
	}
	t := Table{Header: []string{"", ""}, Rows: [][]string{
		{"CPU", cpu},
		{"memory", formatBytes(m.Memory)},
		{"kernel", m.Kernel},
		{"OS", m.OS},
		{"Go", m.Go},
	}}
	for _, tool := range m.Tools {
		t.Rows = append(t.Rows, []string{tool.Name, tool.Version})
	}
	t.Rows = append(t.Rows, []string{"load average (1, 5, 15 min)", "at the start " + m.LoadStart + ", at the end " + m.LoadEnd})
	if m.OtherCPU >= 0 {
		t.Rows = append(t.Rows, []string{"other work during the run",
			fmt.Sprintf("%.0f%% of the CPU time; %.0f%% stolen by the hypervisor", 100*m.OtherCPU, 100*m.StealCPU)})
	}
	t.writeMarkdown(b)
	if m.OtherCPU >= 0.05 || m.StealCPU >= 0.05 {
		b.WriteString("Other work ran on this machine during the run, so the numbers include contention for the CPUs. " +
			"The share above is the machine's busy time minus this run's own CPU time (its children's included). " +
			"It counts kernel threads too, some of which did this run's work (device teardown, for one), " +
			"so it is an upper bound.\n\n")
	}
}
