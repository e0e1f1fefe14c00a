package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/smolvm/smolvm-core/disk"
)

// diskFlags are the flags shared by the disk subcommands.
type diskFlags struct {
	asJSON    bool
	overwrite bool
	chunkSize int
}

// diskResult is the --json output of a disk command.
type diskResult struct {
	Operation       string  `json:"operation"`
	Source          string  `json:"source"`
	Target          string  `json:"target"`
	Method          string  `json:"method"`
	Technique       string  `json:"technique"`
	Bytes           int64   `json:"bytes"`
	AllocatedBytes  int64   `json:"allocated_bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// diskFunc is the signature of disk.Clone and disk.Decompress.
type diskFunc func(ctx context.Context, src, dst string, opts *disk.Options) (disk.Result, error)

func newDiskCommand() *cobra.Command {
	f := &diskFlags{}
	clone := &cobra.Command{
		Use:   "clone SRC DST",
		Short: "Copy a disk image, sharing its blocks (reflink) where possible and keeping its holes",
		Long: "Copy SRC to DST. A reflink shares SRC's blocks where the filesystem allows it\n" +
			"(XFS with reflink=1, btrfs). Elsewhere only SRC's data extents are copied, so holes\n" +
			"stay holes. DST is written to a temporary file beside it and renamed into place when\n" +
			"complete, so an interrupted copy never leaves a partial DST.",
		Args: exactArgs("SRC", "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, "clone", args[0], args[1], disk.Clone)
		},
	}
	decompress := &cobra.Command{
		Use:   "decompress SRC.zst DST",
		Short: "Unpack a zstd disk image without writing its zero blocks",
		Long: "Unpack the zstd file SRC.zst to DST, leaving every all-zero block as a hole. DST is\n" +
			"written to a temporary file beside it and renamed into place when complete. The\n" +
			"progress bar counts compressed bytes read.",
		Args: exactArgs("SRC.zst", "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, "decompress", args[0], args[1], disk.Decompress)
		},
	}

	g := group("disk", "Copy and unpack disk images without filling their holes", clone, decompress)
	g.PersistentPreRunE = rejectNetns
	flags := g.PersistentFlags()
	flags.BoolVar(&f.asJSON, "json", false,
		"print the result as JSON: operation, source, target, method, technique, bytes, allocated_bytes, duration_seconds")
	flags.BoolVar(&f.overwrite, "overwrite", false, "replace DST if it exists (default: fail and leave DST as it is)")
	flags.IntVar(&f.chunkSize, "chunk-size", disk.DefaultChunkSize,
		fmt.Sprintf("bytes per read, write or copy call, from 1 to %d; Ctrl-C takes effect between chunks", disk.MaxChunkSize))
	return g
}

// run performs one disk operation with a progress bar on a terminal and
// prints its result.
func (f *diskFlags) run(cmd *cobra.Command, op, src, dst string, fn diskFunc) error {
	if f.chunkSize < 1 || f.chunkSize > disk.MaxChunkSize {
		return usagef("invalid --chunk-size %d: must be from 1 to %d bytes", f.chunkSize, disk.MaxChunkSize)
	}
	opts := &disk.Options{ChunkSize: f.chunkSize, Overwrite: f.overwrite}
	bar := newProgressBar(cmd.ErrOrStderr(), op)
	if bar != nil {
		opts.Progress = bar.update
	}

	r, err := fn(cmd.Context(), src, dst, opts)
	bar.finish()
	if err != nil {
		return diskError(err)
	}

	if f.asJSON {
		return writeJSON(cmd, diskResult{
			Operation:       op,
			Source:          src,
			Target:          dst,
			Method:          string(r.Method),
			Technique:       string(r.Technique),
			Bytes:           r.Size,
			AllocatedBytes:  r.Allocated,
			DurationSeconds: r.Duration.Seconds(),
		})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s to %s: %s (%s), %s, %s allocated, %v\n",
		op, src, dst, r.Method, r.Technique, formatBytes(r.Size), formatBytes(r.Allocated), r.Duration.Round(time.Millisecond))
	return nil
}

// diskError turns rejected input into a usage error (exit status 2) and
// adds the flag that lets the copy replace an existing target.
func diskError(err error) error {
	var verr *disk.ValidationError
	if errors.As(err, &verr) {
		return usageError{err}
	}
	if errors.Is(err, disk.ErrTargetExists) {
		return fmt.Errorf("%w (pass --overwrite to replace it)", err)
	}
	return err
}

// formatBytes prints n in binary units, such as "1.5 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, prefix := float64(n), ""
	for _, p := range []string{"Ki", "Mi", "Gi", "Ti", "Pi"} {
		if value < unit {
			break
		}
		value /= unit
		prefix = p
	}
	return fmt.Sprintf("%.1f %sB", value, prefix)
}

// progressBar draws one line on a terminal that it rewrites in place.
type progressBar struct {
	w     io.Writer
	label string
	last  time.Time
	drawn bool
}

// progressInterval limits redraws to 10 per second.
const progressInterval = 100 * time.Millisecond

// newProgressBar returns a progress bar that writes to w, or nil when w is
// not a terminal, so that logs and pipes get no control characters.
func newProgressBar(w io.Writer, label string) *progressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{w: w, label: label}
}

// update redraws the bar, at most every progressInterval except for the
// final state.
func (p *progressBar) update(done, total int64) {
	now := time.Now()
	if done < total && now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now

	fraction := 1.0
	if total > 0 {
		fraction = float64(done) / float64(total)
	}
	const width = 30
	filled := int(fraction * width)
	// \r returns to the start of the line and ESC [K clears what a longer
	// earlier line left behind.
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s / %s\x1b[K", p.label,
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled),
		fraction*100, formatBytes(done), formatBytes(total))
	p.drawn = true
}

// finish ends the bar's line, so that later output starts on a new one. It
// does nothing on a nil bar.
func (p *progressBar) finish() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprintln(p.w)
	p.drawn = false
}
