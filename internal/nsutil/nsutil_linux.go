// Package nsutil creates, enters and deletes named network namespaces, as
// `ip netns add`, `ip netns exec` and `ip netns del` do, without starting
// `ip`. The demo and the kernel tests use it for throwaway namespaces.
// Everything here needs root (CAP_SYS_ADMIN).
package nsutil

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"
)

// Create makes a new network namespace and pins it at /run/netns/name. Its
// loopback device is down, as in any new namespace.
func Create(name string) error {
	errc := make(chan error, 1)
	go func() {
		// The thread that makes the namespace ends up inside it, so keep it
		// locked: the runtime then ends the thread with the goroutine
		// instead of reusing it in the wrong namespace.
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	return nil
}

// Delete unpins the namespace name. The kernel frees it, and the devices in
// it, once no process or open file refers to it any more.
func Delete(name string) error {
	if err := netns.DeleteNamed(name); err != nil {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// Exists reports whether /run/netns/name pins a namespace.
func Exists(name string) bool {
	ns, err := netns.GetFromName(name)
	if err != nil {
		return false
	}
	ns.Close()
	return true
}

// Do runs fn on a thread inside the namespace name. A process that fn
// starts (with os/exec) is born in that namespace.
func Do(name string, fn func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", name, err)
	}
	defer target.Close()
	return DoIn(target, fn)
}

// DoIn runs fn on a locked thread of its own goroutine, switched into the
// namespace target, and switches the thread back afterwards. Files that fn
// opens (such as /dev/net/tun or /proc/sys entries) stay in target. If the
// thread cannot be switched back, it stays locked, so the runtime ends it
// with the goroutine instead of reusing it in the wrong namespace.
func DoIn(target netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Worker runs functions on one OS thread that stays in a network
// namespace for the Worker's whole life, so each call costs a channel
// hand-off instead of two setns calls and a locked thread. Calls are run
// one at a time, in order. Close ends the thread.
type Worker struct {
	work      chan func()
	closeOnce sync.Once
}

// NewWorker starts a Worker in the namespace target.
func NewWorker(target netns.NsHandle) (*Worker, error) {
	w := &Worker{work: make(chan func())}
	started := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, so no
		// other goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		if err := netns.Set(target); err != nil {
			started <- fmt.Errorf("enter netns: %w", err)
			return
		}
		started <- nil
		for f := range w.work {
			f()
		}
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return w, nil
}

// Do runs fn on the Worker's thread and returns its error.
func (w *Worker) Do(fn func() error) error {
	errc := make(chan error, 1)
	w.work <- func() { errc <- fn() }
	return <-errc
}

// Close ends the Worker's thread. It is safe to call more than once; Do
// must not be called after it.
func (w *Worker) Close() { w.closeOnce.Do(func() { close(w.work) }) }
