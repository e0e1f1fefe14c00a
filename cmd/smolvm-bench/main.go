// Command smolvm-bench runs every benchmark comparison of smolvm-core side
// by side in one process and writes the report as Markdown: the machine,
// the tool versions, medians, p90s, ratios and whether each goal is met.
// scripts/bench builds it and writes BENCHMARKS.md with it.
//
// It needs root, because each comparison runs in network namespaces that
// it creates and deletes. It changes nothing outside them except for temp
// files and QEMU processes of its own, which it removes.
//
// Exit status: 0 when every section ran, 1 when one failed, 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/smolvm/smolvm-core/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("smolvm-bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	quick := flags.Bool("quick", false,
		"take few samples at small sizes, to check in seconds that every section runs; the numbers are not for comparison")
	out := flags.String("out", "-",
		"file to write the Markdown report to, or - for stdout; a failed run writes OUT.failed instead and leaves OUT alone")
	cli := flags.String("cli", "",
		"path of the smolvm-core binary whose peak memory is measured (default: smolvm-core next to this program, else in PATH)")
	only := flags.String("only", "",
		"comma-separated sections to run, of "+strings.Join(bench.SectionIDs(), ", ")+" (default: all)")
	command := flags.String("command", "",
		"command line that the report gives as the way to rerun it (default: this program's own command line)")
	quiet := flags.Bool("quiet", false, "print no progress lines to stderr")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "smolvm-bench: unexpected argument %q (see -help)\n", flags.Arg(0))
		return 2
	}

	opts := bench.Options{Quick: *quick, CLI: *cli, Command: *command, Progress: stderr}
	if *quiet {
		opts.Progress = nil
	}
	if opts.CLI == "" {
		opts.CLI = findCLI()
	}
	if opts.Command == "" {
		opts.Command = strings.Join(append([]string{"smolvm-bench"}, args...), " ")
	}
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	for _, id := range opts.Only {
		if !slices.Contains(bench.SectionIDs(), id) {
			fmt.Fprintf(stderr, "smolvm-bench: unknown section %q in -only: the sections are %s\n",
				id, strings.Join(bench.SectionIDs(), ", "))
			return 2
		}
	}

	rep, runErr := bench.Run(ctx, opts)
	if rep == nil {
		fmt.Fprintf(stderr, "smolvm-bench: %v\n", runErr)
		return 1
	}
	if err := writeReport(rep, *out, runErr != nil, stdout); err != nil {
		fmt.Fprintf(stderr, "smolvm-bench: %v\n", err)
		return 1
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "smolvm-bench: %v\n", runErr)
		return 1
	}
	return 0
}

// findCLI returns the smolvm-core binary next to this program, else the one
// in PATH, else "", for which the memory section
// fails with the fix in its error.
func findCLI() string {
	if self, err := os.Executable(); err == nil {
		path := filepath.Join(filepath.Dir(self), "smolvm-core")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	path, _ := exec.LookPath("smolvm-core")
	return path
}

// writeReport writes the report to path, or to stdout for "-". A failed
// run goes to path.failed, so that a good report is not replaced by a
// broken one. The file is replaced atomically.
func writeReport(rep *bench.Report, path string, failed bool, stdout io.Writer) error {
	if path == "-" {
		return rep.WriteMarkdown(stdout)
	}
	if failed {
		path += ".failed"
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".smolvm-bench-*.md")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	werr := rep.WriteMarkdown(tmp)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
