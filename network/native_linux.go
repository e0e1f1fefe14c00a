package network

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/smolvm/smolvm-core/internal/nsutil"
	"github.com/smolvm/smolvm-core/internal/privilege"
)

// native does the kernel work with rtnetlink, TUN ioctls and /proc/sys.
type native struct {
	h *netlink.Handle
	// query is a second socket for the link queries whose replies the
	// netlink library does not fully decode (see getTunLink).
	query *nl.SocketHandle
	ns    netns.NsHandle // the target namespace, or -1 for the caller's
	// worker is a thread that stays in ns, for the calls that must run
	// there; nil without a namespace.
	worker      *nsutil.Worker
	busyTimeout time.Duration
	closeOnce   sync.Once
	closeErr    error
}

// nativeBuilt reports whether this build has the native path.
const nativeBuilt = true

func newNative(opts Options) (backend, error) {
	n := &native{ns: netns.None(), busyTimeout: opts.BusyTimeout}
	if opts.Netns != "" && !privilege.HasSysAdmin() {
		// The netlink library reports this as text without the errno.
		return nil, &OpError{Op: "enter netns", Object: opts.Netns, Err: syscall.EPERM}
	}
	if opts.Netns != "" {
		ns, err := netns.GetFromName(opts.Netns)
		if err != nil {
			return nil, &OpError{Op: "open netns", Object: opts.Netns, Err: err}
		}
		n.ns = ns
	}

	h, err := netlink.NewHandleAt(n.ns, unix.NETLINK_ROUTE)
	if err != nil {
		n.ns.Close()
		return nil, &OpError{Op: "open netlink", Err: err}
	}
	s, err := nl.GetNetlinkSocketAt(n.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		n.ns.Close()
		return nil, &OpError{Op: "open netlink", Err: err}
	}
	n.h = h
	n.query = &nl.SocketHandle{Socket: s}
	if n.ns.IsOpen() {
		w, err := nsutil.NewWorker(n.ns)
		if err != nil {
			n.close()
			return nil, &OpError{Op: "enter netns", Object: opts.Netns, Err: err}
		}
		n.worker = w
	}
	return n, nil
}

// close releases the sockets, the worker thread and the namespace handle.
// It is safe to call more than once.
func (n *native) close() error {
	n.closeOnce.Do(func() {
		if n.worker != nil {
			n.worker.Close()
		}
		n.h.Close()
		n.query.Close()
		if n.ns.IsOpen() {
			n.closeErr = n.ns.Close()
		}
	})
	return n.closeErr
}

// inNetns runs fn on a thread in the manager's namespace, so that files fn
// opens, such as /dev/net/tun and /proc/sys entries, belong to it.
func (n *native) inNetns(fn func() error) error {
	if n.worker == nil {
		return fn()
	}
	return n.worker.Do(fn)
}

// link looks dev up and maps "not found" to ErrNoDevice.
// It queries the kernel for the one device on the query socket and keeps only
// its index and name, which is all the address, link and route requests
// need, instead of the netlink library's full decode of the link.
func (n *native) link(dev string) (netlink.Link, error) {
	l, err := n.getTunLink(dev)
	if err != nil {
		return nil, err
	}
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.index, Name: l.name}}, nil
}

// kernelError gives the errors of the netlink library the meaning callers
// test for with errors.Is.
func kernelError(err error) error {
	var notFound netlink.LinkNotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &notFound), errors.Is(err, syscall.ENODEV):
		return ErrNoDevice
	}
	return err
}

// retryDump repeats a netlink dump that the kernel interrupted because the
// table changed while it was read.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 5 {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}
