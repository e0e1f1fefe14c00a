package procstate

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestExited(t *testing.T) {
	if Exited(os.Getpid()) {
		t.Fatal("this process reads as exited")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// The child becomes a zombie when it ends, and Exited must see that
	// without reaping it.
	for !Exited(pid) {
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !Exited(pid) {
		t.Fatal("a reaped process reads as running")
	}
}
