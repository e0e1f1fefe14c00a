package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrSetupFailed reports that the guest printed FailMarker.
var ErrSetupFailed = errors.New("the guest reported a failed setup")

// ErrVMExited reports that QEMU exited while a caller waited for the guest.
var ErrVMExited = errors.New("qemu exited")

// consolePoll is how often WaitConsole reads the console log.
const consolePoll = 50 * time.Millisecond

// WaitConsole reads the guest's console log at path, as written by QEMU's
// "-serial file:PATH", every 50 ms until a line matches, and returns that
// line. A line may start with kernel output that shares it, so match
// should look for its text anywhere in the line. WaitConsole returns an
// error matching ErrSetupFailed when the guest prints FailMarker, one
// matching ErrVMExited once exited is closed, and the context's error when
// ctx ends. A missing log counts as empty, because QEMU creates it only
// once it starts.
func WaitConsole(ctx context.Context, path string, exited <-chan struct{}, match func(line string) bool) (string, error) {
	for {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read the guest console: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if match(line) {
				return line, nil
			}
			if i := strings.Index(line, FailMarker); i >= 0 {
				return "", fmt.Errorf("%w: %s", ErrSetupFailed, line[i:])
			}
		}

		select {
		case <-exited:
			return "", ErrVMExited
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(consolePoll):
		}
	}
}
