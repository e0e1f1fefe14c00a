package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"time"

	"github.com/vishvananda/netns"

	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// NetnsPrefix starts the name of every network namespace a run creates, so
// that a leftover one is easy to spot (`ip netns list`).
const NetnsPrefix = "smolvm-bench-"

// newNetns creates a network namespace with a random name and returns the
// name and a function that deletes it.
func newNetns() (string, func() error, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := NetnsPrefix + hex.EncodeToString(b[:])
	if err := nsutil.Create(name); err != nil {
		return "", nil, err
	}
	return name, func() error { return nsutil.Delete(name) }, nil
}

// nsThread is a goroutine locked to an OS thread that stays inside one
// network namespace, for the calls that act on the namespace of the calling
// thread: package-level netlink functions, /dev/net/tun and /proc/sys/net.
type nsThread struct {
	calls chan func()
	done  chan struct{}
}

// startNSThread starts a thread inside the namespace name. Stop it with
// stop.
func startNSThread(name string) (*nsThread, error) {
	target, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	t := &nsThread{calls: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(t.done)
		// The thread is never unlocked, so the runtime ends it with this
		// goroutine instead of reusing it in the wrong namespace.
		runtime.LockOSThread()
		err := netns.Set(target)
		target.Close()
		ready <- err
		if err != nil {
			return
		}
		for fn := range t.calls {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("enter netns %s: %w", name, err)
	}
	return t, nil
}

// do runs fn on the thread and returns its error.
func (t *nsThread) do(fn func() error) error {
	errc := make(chan error, 1)
	t.calls <- func() { errc <- fn() }
	return <-errc
}

// timed runs fn on the thread and returns how long fn took there, without
// the hand-over between goroutines.
func (t *nsThread) timed(fn func() error) (time.Duration, error) {
	var d time.Duration
	err := t.do(func() error {
		var err error
		d, err = timed(fn)
		return err
	})
	return d, err
}

func (t *nsThread) stop() {
	close(t.calls)
	<-t.done
}
