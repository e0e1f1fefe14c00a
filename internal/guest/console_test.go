package guest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWaitConsoleFindsLaterLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(path, []byte("[    1.0] boot\r\n[    1.2] x SMOLVM-E2E-READY token=abc disks=vda\r\n"), 0o644)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := WaitConsole(ctx, path, nil, func(line string) bool { return strings.Contains(line, ReadyMarker+" token=abc ") })
	if err != nil {
		t.Fatal(err)
	}
	if line != "[    1.2] x SMOLVM-E2E-READY token=abc disks=vda" {
		t.Errorf("WaitConsole() = %q, want the whole line without its line ending", line)
	}
}

func TestWaitConsoleSetupFailed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(path, []byte("SMOLVM-E2E-FAIL no eth0 after 5 s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := WaitConsole(context.Background(), path, nil, func(string) bool { return false })
	if !errors.Is(err, ErrSetupFailed) || !strings.Contains(err.Error(), "no eth0 after 5 s") {
		t.Errorf("WaitConsole() error = %v, want ErrSetupFailed with the guest's reason", err)
	}
}

func TestWaitConsoleVMExited(t *testing.T) {
	exited := make(chan struct{})
	close(exited)
	_, err := WaitConsole(context.Background(), filepath.Join(t.TempDir(), "missing.log"), exited, func(string) bool { return false })
	if !errors.Is(err, ErrVMExited) {
		t.Errorf("WaitConsole() error = %v, want ErrVMExited", err)
	}
}

func TestWaitConsoleContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := WaitConsole(ctx, filepath.Join(t.TempDir(), "missing.log"), nil, func(string) bool { return false })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitConsole() error = %v, want context.DeadlineExceeded", err)
	}
}
