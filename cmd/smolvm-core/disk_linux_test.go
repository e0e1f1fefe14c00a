package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pseudo-terminal, closed when t ends.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { controller.Close() })
	if err := unix.IoctlSetPointerInt(int(controller.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	// TIOCGPTPEER (Linux 4.13) opens the terminal end without a path under
	// /dev/pts, which a container may mount differently.
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, controller.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY))
	if errno != 0 {
		t.Fatalf("open the terminal end of the pty: %v", errno)
	}
	terminal = os.NewFile(fd, "pty")
	t.Cleanup(func() { terminal.Close() })
	return controller, terminal
}

func TestDiskProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeSparseImage(t, dir)
	dst := filepath.Join(dir, "dst.img")
	controller, terminal := openPTY(t)

	var drawn bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&drawn, controller) // ends with EIO once the terminal end closes
	}()

	var stdout bytes.Buffer
	code := run(context.Background(), []string{"disk", "clone", "--json", src, dst}, &stdout, terminal)
	terminal.Close()
	<-done
	if code != 0 {
		t.Fatalf("exit status %d: %q", code, drawn.String())
	}

	out := drawn.String()
	if !strings.HasPrefix(out, "\rclone [") {
		t.Errorf("terminal output %q does not start with the progress bar", out)
	}
	if !strings.Contains(out, "100% 16.0 MiB / 16.0 MiB") {
		t.Errorf("terminal output %q lacks the final state", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output %q does not end the bar's line", out)
	}
	if !strings.HasPrefix(stdout.String(), "{") {
		t.Errorf("stdout = %q, want only the JSON result", stdout.String())
	}
}
