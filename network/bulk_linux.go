package network

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// dumpLinks lists every device in the manager's namespace.
func (n *native) dumpLinks() ([]*tunLink, error) {
	msgs, err := retryDump(func() ([][]byte, error) {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: n.query}
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		return req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	})
	if err != nil {
		return nil, kernelError(err)
	}
	links := make([]*tunLink, 0, len(msgs))
	for _, m := range msgs {
		l, err := parseTunLink(m)
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	return links, nil
}

func (n *native) listTAPs(context.Context) ([]TAPInfo, error) {
	links, err := n.dumpLinks()
	if err != nil {
		return nil, err
	}
	return tapInfos(links), nil
}

// tapInfos converts the TAPs among links.
func tapInfos(links []*tunLink) []TAPInfo {
	var out []TAPInfo
	for _, l := range links {
		if info, err := l.tapInfo(); err == nil {
			out = append(out, info)
		}
	}
	return out
}

// deleteTAPs moves every named TAP into an interface group that no device
// uses, then deletes that group with one RTM_DELLINK, as
// `ip link delete group N` does. The kernel then unregisters the whole
// batch with one wait for readers, where single deletes wait once each.
func (n *native) deleteTAPs(_ context.Context, names []string) error {
	links, err := n.dumpLinks()
	if err != nil {
		return err
	}
	move := func(l *tunLink, group uint32) error {
		return kernelError(n.h.LinkSetGroup(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.index}}, int(group)))
	}
	return batchDelete(links, names, move, n.deleteGroup)
}

// batchDelete moves the TAPs among links that names lists into an unused
// interface group with move, then deletes that group with deleteGroup.
// Absent names are skipped. A device that is not a TAP, or one that cannot
// be moved, gives an error, and the others are still deleted.
func batchDelete(links []*tunLink, names []string, move func(l *tunLink, group uint32) error, deleteGroup func(group uint32) error) error {
	group, err := unusedGroup(links)
	if err != nil {
		return err
	}
	byName := make(map[string]*tunLink, len(links))
	for _, l := range links {
		byName[l.name] = l
	}

	var errs []error
	batch := 0
	for _, name := range names {
		l, ok := byName[name]
		switch {
		case !ok:
			continue
		case !l.isTAP():
			errs = append(errs, &OpError{Op: "delete tap", Object: name, Err: ErrNotTAP})
			continue
		}
		if err := move(l, group); err != nil {
			errs = append(errs, &OpError{Op: "delete tap", Object: name, Err: err})
			continue
		}
		batch++
	}
	if batch > 0 {
		if err := deleteGroup(group); err != nil {
			errs = append(errs, &OpError{Op: "delete tap group", Object: groupString(group), Err: err})
		}
	}
	return errors.Join(errs...)
}

// deleteGroup sends RTM_DELLINK for every device in the interface group.
func (n *native) deleteGroup(group uint32) error {
	req := nl.NewNetlinkRequest(unix.RTM_DELLINK, unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: n.query}
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(group)))
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return kernelError(err)
}

// unusedGroup picks a random interface group above the range people number
// by hand that no device in links is in, so the group delete takes only
// the devices put into it.
func unusedGroup(links []*tunLink) (uint32, error) {
	used := make(map[uint32]bool, len(links))
	for _, l := range links {
		used[l.linkGroup] = true
	}
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		g := binary.NativeEndian.Uint32(b[:])&0x7fffffff | 0x10000
		if !used[g] {
			return g, nil
		}
	}
}

// reclaimTAPs deletes those of the named marked TAPs that no process holds.
// It attaches to each one itself first: the kernel refuses that with EBUSY
// while a process such as a VMM holds the device, and while this process
// holds it no other can attach. Devices it attached to are then deleted as
// one batch. It returns the names it deleted and those that were held.
func (n *native) reclaimTAPs(_ context.Context, names []string) (removed, held []string, err error) {
	var (
		files []*os.File
		errs  []error
		batch []string
	)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range names {
		var f *os.File
		aerr := n.inNetns(func() error {
			var err error
			f, err = grabTAP(name)
			return err
		})
		if errors.Is(aerr, syscall.EBUSY) {
			held = append(held, name)
			continue
		}
		if aerr != nil {
			errs = append(errs, &OpError{Op: "attach tap", Object: name, Err: aerr})
			continue
		}
		files = append(files, f)

		// The name may have been taken by another device since the listing,
		// which attaching would have created or joined: only delete a
		// persistent marked TAP.
		l, lerr := n.getTunLink(name)
		if lerr != nil || !l.persistent {
			continue
		}
		if _, marked := parseMark(l.alias); marked {
			batch = append(batch, name)
		}
	}
	if len(batch) == 0 {
		return nil, held, errors.Join(errs...)
	}
	if err := n.deleteTAPs(context.Background(), batch); err != nil {
		errs = append(errs, err)
		return nil, held, errors.Join(errs...)
	}
	return batch, held, errors.Join(errs...)
}

// grabTAP attaches this process to the TAP name. The caller closes the
// file, which leaves a persistent device in place.
func grabTAP(name string) (*os.File, error) {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var req ifreq
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if err := ioctlPtr(int(f.Fd()), unix.TUNSETIFF, unsafe.Pointer(&req)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
