package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the result of one run. [Report.WriteMarkdown] renders it.
type Report struct {
	Start   time.Time
	Elapsed time.Duration
	// Command is the command line that produced the report, as the reader
	// should type it to rerun it.
	Command  string
	Quick    bool
	Machine  Machine
	Sections []*Section
}

// Section is the result of one comparison.
type Section struct {
	ID    string
	Title string
	// Intro holds Markdown paragraphs that describe what was measured and how.
	Intro  []string
	Tables []Table
	// Notes holds Markdown paragraphs that follow the tables.
	Notes []string
	Goals []Goal
	// Err is set when the section failed; its tables are then incomplete.
	Err     error
	Elapsed time.Duration
}

// Table is a Markdown table with an optional caption above it.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// Goal is a speed or size target and whether this run met it.
type Goal struct {
	Goal     string
	Measured string
	Met      bool
}

// verdict returns the word that the report puts next to a number with a
// goal.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

// addGoal records a goal for the summary and returns its verdict.
func (s *Section) addGoal(goal, measured string, met bool) string {
	s.Goals = append(s.Goals, Goal{Goal: goal, Measured: measured, Met: met})
	return verdict(met)
}

// WriteMarkdown renders the report as the BENCHMARKS.md page.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("<!-- Written by scripts/bench (cmd/smolvm-bench). Rerun it instead of editing this file. -->\n\n")
	if r.Quick {
		b.WriteString("**Quick mode: few samples and small sizes. These numbers only show that the code runs; " +
			"do not compare them.**\n\n")
	}
	fmt.Fprintf(&b, "Measured on %s with `%s` (as root) in %s. ", r.Start.UTC().Format("2006-01-02 15:04 MST"),
		r.Command, r.Elapsed.Round(time.Second))
	b.WriteString("Every comparison ran in this one process run, with its contenders interleaved sample by sample " +
		"so that they share the machine's load, each in fresh network namespaces that the run created and deleted. " +
		"Times are the median and the 90th percentile (p90, nearest rank) of the stated number of samples. " +
		"Each ratio column says which median it divides by which: in a `÷ ours` column, above 1× means ours is faster. " +
		"Expect other numbers on other machines: rerun the command.\n\n")

	r.Machine.writeMarkdown(&b)
	r.writeGoals(&b)
	for _, s := range r.Sections {
		s.writeMarkdown(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) writeGoals(b *strings.Builder) {
	b.WriteString("## Goals\n\n")
	t := Table{Header: []string{"goal", "measured", "verdict"}}
	for _, s := range r.Sections {
		for _, g := range s.Goals {
			t.Rows = append(t.Rows, []string{g.Goal, g.Measured, verdict(g.Met)})
		}
		if s.Err != nil {
			t.Rows = append(t.Rows, []string{s.Title, "the section failed", "**not measured**"})
		}
	}
	t.writeMarkdown(b)
}

func (s *Section) writeMarkdown(b *strings.Builder) {
	fmt.Fprintf(b, "## %s\n\n", s.Title)
	for _, p := range s.Intro {
		b.WriteString(p + "\n\n")
	}
	if s.Err != nil {
		fmt.Fprintf(b, "**This section failed:** %s\n\n", markdownEscape(s.Err.Error()))
	}
	for _, t := range s.Tables {
		t.writeMarkdown(b)
	}
	for _, p := range s.Notes {
		b.WriteString(p + "\n\n")
	}
}

func (t Table) writeMarkdown(b *strings.Builder) {
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n\n")
	}
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\n")
}

// markdownEscape keeps an error message from breaking the page's layout.
func markdownEscape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
