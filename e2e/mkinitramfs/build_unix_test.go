//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestBuildRejectsFIFO(t *testing.T) {
	stage := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(stage, "pipe"), 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	out := filepath.Join(t.TempDir(), "initramfs.cpio.gz")
	_, err := build(out, stage, "", nil)
	if err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Fatalf("build with a FIFO in the stage returned %v, want an unsupported file type error", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Error("a failed build left an output file")
	}
}
