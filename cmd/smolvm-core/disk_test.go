package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// writeSparseImage writes a 16 MiB image with 1 MiB of data at 4 MiB and
// holes elsewhere, and returns its path and content.
func writeSparseImage(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	content := make([]byte, 16<<20)
	for i := 4 << 20; i < 5<<20; i++ {
		content[i] = byte(i%251 + 1)
	}
	path := filepath.Join(dir, "src.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(content[4<<20:5<<20], 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(content))); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// checkResult checks the --json output against the file at dst.
func checkResult(t *testing.T, stdout, op, src, dst string, want []byte) diskResult {
	t.Helper()
	var r diskResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("output %q is not JSON: %v", stdout, err)
	}
	if r.Operation != op || r.Source != src || r.Target != dst {
		t.Errorf("result names %s %s to %s, want %s %s to %s", r.Operation, r.Source, r.Target, op, src, dst)
	}
	if r.Bytes != int64(len(want)) {
		t.Errorf("bytes = %d, want %d", r.Bytes, len(want))
	}
	if r.AllocatedBytes <= 0 || r.AllocatedBytes >= r.Bytes {
		t.Errorf("allocated_bytes = %d, want more than 0 and less than %d", r.AllocatedBytes, r.Bytes)
	}
	if r.DurationSeconds <= 0 {
		t.Errorf("duration_seconds = %v, want more than 0", r.DurationSeconds)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the source", dst)
	}
	return r
}

func TestDiskCloneJSON(t *testing.T) {
	dir := t.TempDir()
	src, content := writeSparseImage(t, dir)
	dst := filepath.Join(dir, "dst.img")

	code, stdout, stderr := runCLI(t, "disk", "clone", "--json", src, dst)
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing when it is not a terminal", stderr)
	}
	r := checkResult(t, stdout, "clone", src, dst, content)
	if r.Method != "sparse" && r.Method != "reflink" {
		t.Errorf("method = %q, want sparse or reflink", r.Method)
	}
}

func TestDiskCloneText(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeSparseImage(t, dir)
	dst := filepath.Join(dir, "dst.img")

	code, stdout, stderr := runCLI(t, "disk", "clone", src, dst)
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	prefix := "clone " + src + " to " + dst + ": "
	if !strings.HasPrefix(stdout, prefix) || !strings.Contains(stdout, "16.0 MiB, ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("output = %q, want one line starting %q with the size", stdout, prefix)
	}
}

func TestDiskDecompressJSON(t *testing.T) {
	dir := t.TempDir()
	_, content := writeSparseImage(t, dir)
	var compressed bytes.Buffer
	enc, err := zstd.NewWriter(&compressed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.img.zst")
	if err := os.WriteFile(src, compressed.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.img")

	code, stdout, stderr := runCLI(t, "disk", "decompress", "--json", src, dst)
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr)
	}
	r := checkResult(t, stdout, "decompress", src, dst, content)
	if r.Method != "sparse" || r.Technique != "zero-skip" {
		t.Errorf("method, technique = %q, %q, want sparse, zero-skip", r.Method, r.Technique)
	}
}

func TestDiskExistingTarget(t *testing.T) {
	dir := t.TempDir()
	src, content := writeSparseImage(t, dir)
	dst := filepath.Join(dir, "dst.img")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, "disk", "clone", src, dst)
	want := "smolvm-core: clone " + src + " to " + dst + ": target already exists (pass --overwrite to replace it)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want 1 and %q", code, stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if got, _ := os.ReadFile(dst); string(got) != "old" {
		t.Errorf("target = %q after a refused clone, want it unchanged", got)
	}

	code, _, stderr = runCLI(t, "disk", "clone", "--overwrite", src, dst)
	if code != 0 {
		t.Fatalf("clone --overwrite: exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, content) {
		t.Errorf("target differs from the source after clone --overwrite")
	}
}

func TestDiskFailures(t *testing.T) {
	dir := t.TempDir()
	notZstd := filepath.Join(dir, "raw.img")
	if err := os.WriteFile(notZstd, []byte("not zstd"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.img")
	dst := filepath.Join(dir, "dst.img")

	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"missing source", []string{"disk", "clone", missing, dst},
			"clone " + missing + " to " + dst + ": stat " + missing + ": no such file or directory"},
		{"missing target directory", []string{"disk", "clone", notZstd, filepath.Join(dir, "no", "dst.img")},
			"stat " + filepath.Join(dir, "no") + ": no such file or directory"},
		{"not zstd", []string{"disk", "decompress", notZstd, dst},
			"decompress " + notZstd + " to " + dst + ": invalid zstd data: invalid input: magic number mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 1 {
				t.Errorf("exit status = %d, want 1", code)
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

func TestDiskUsageErrors(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeSparseImage(t, dir)
	dst := filepath.Join(dir, "dst.img")

	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"no subcommand", []string{"disk"}, "disk needs a subcommand"},
		{"missing target", []string{"disk", "clone", src}, "disk clone takes the arguments SRC DST, got 1"},
		{"extra argument", []string{"disk", "decompress", src, dst, "x"}, "disk decompress takes the arguments SRC.zst DST, got 3"},
		{"netns", []string{"--netns", "x", "disk", "clone", src, dst}, "--netns applies to network commands only, not to disk clone"},
		{"zero chunk size", []string{"disk", "clone", "--chunk-size", "0", src, dst}, "invalid --chunk-size 0"},
		{"huge chunk size", []string{"disk", "clone", "--chunk-size", "1073741824", src, dst}, "invalid --chunk-size 1073741824"},
		{"source is a directory", []string{"disk", "clone", dir, dst}, `invalid source "` + dir + `": is a directory, not a regular file`},
		{"source is a device", []string{"disk", "decompress", "/dev/null", dst}, `invalid source "/dev/null": is a character device`},
		{"target is a directory path", []string{"disk", "clone", src, dir + "/"}, `invalid target "` + dir + `/": must name a file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.message) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.message)
			}
			if _, err := os.Stat(dst); err == nil {
				t.Errorf("%s was created", dst)
			}
		})
	}
}

func TestDiskHelpNamesUnits(t *testing.T) {
	code, stdout, _ := runCLI(t, "disk", "clone", "--help")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	for _, want := range []string{"--chunk-size", "bytes per read", "--overwrite", "--json"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestProgressBarNotOnPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if bar := newProgressBar(w, "clone"); bar != nil {
		t.Error("progress bar on a pipe, want none")
	}
	var buf bytes.Buffer
	if bar := newProgressBar(&buf, "clone"); bar != nil {
		t.Error("progress bar on a buffer, want none")
	}
}

func TestProgressBarDraws(t *testing.T) {
	var buf bytes.Buffer
	bar := &progressBar{w: &buf, label: "clone"}

	bar.update(0, 4<<20)
	bar.update(1<<20, 4<<20) // within progressInterval of the first: skipped
	bar.last = time.Time{}
	bar.update(2<<20, 4<<20)
	bar.update(4<<20, 4<<20) // the final state is always drawn
	bar.finish()
	bar.finish()

	lines := strings.Split(buf.String(), "\r")[1:]
	want := []string{
		"clone [                              ]   0% 0 B / 4.0 MiB\x1b[K",
		"clone [###############               ]  50% 2.0 MiB / 4.0 MiB\x1b[K",
		"clone [##############################] 100% 4.0 MiB / 4.0 MiB\x1b[K\n",
	}
	if len(lines) != len(want) {
		t.Fatalf("drew %d times, want %d: %q", len(lines), len(want), buf.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("draw %d = %q, want %q", i, lines[i], want[i])
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1 << 30, "1.0 GiB"},
		{5 << 40, "5.0 TiB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
