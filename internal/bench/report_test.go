package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testReport() *Report {
	ok := &Section{Title: "Ours", Intro: []string{"What was measured."},
		Tables: []Table{{Caption: "A table:", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}}}}
	ok.addGoal("fast", "1 ms", true)
	ok.addGoal("faster", "2 ms", false)
	failed := &Section{Title: "Broken", Err: errors.New("qemu | exited\nearly")}
	return &Report{
		Start:    time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC),
		Elapsed:  90 * time.Second,
		Command:  "scripts/bench",
		Quick:    true,
		Machine:  Machine{CPU: "Test CPU", CPUs: 2, OtherCPU: 0.5, LoadStart: "1, 2, 3", LoadEnd: "4, 5, 6"},
		Sections: []*Section{ok, failed},
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := testReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"**Quick mode",
		"Measured on 2026-12-04 21:00 UTC with `scripts/bench` (as root) in 1m30s.",
		"| CPU | Test CPU, 2 CPUs |",
		"Other work ran on this machine during the run",
		"| fast | 1 ms | met |",
		"| faster | 2 ms | **not met** |",
		"| Broken | the section failed | **not measured** |",
		"## Ours\n\nWhat was measured.\n\nA table:\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
		`**This section failed:** qemu \| exited early`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}

func TestWriteMarkdownQuietMachine(t *testing.T) {
	r := testReport()
	r.Quick = false
	r.Machine.OtherCPU = 0.01
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "Quick mode") {
		t.Error("a full run's page has the quick-mode warning")
	}
	if strings.Contains(page, "Other work ran") {
		t.Error("the page reports other work at 1% of the CPU time")
	}
}
