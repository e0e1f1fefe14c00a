package network

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// tunLink is the rtnetlink report of one device, with two TUN details that
// the netlink library drops. One is whether an owner is set at all. The other
// is the carrier, which for a single-queue TUN/TAP is on exactly while a
// process holds the device, whatever its administrative state.
type tunLink struct {
	name       string
	index      int
	kind       string // IFLA_INFO_KIND: "tun" for TUN and TAP devices
	flags      uint32 // IFF_* flags of the link
	mtu        int
	carrier    bool
	tunType    uint8 // IFF_TUN or IFF_TAP
	multiQueue bool
	persistent bool
	owner      int // NoOwner when none is set
	group      int // -1 when none is set
}

func (l *tunLink) isTAP() bool { return l.kind == "tun" && l.tunType == unix.IFF_TAP }

// getTunLink sends RTM_GETLINK for the device name on the manager's query
// socket and decodes the reply.
func (n *native) getTunLink(name string) (*tunLink, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: n.query}
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))

	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return nil, kernelError(err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("rtnetlink returned %d links for one name", len(msgs))
	}
	return parseTunLink(msgs[0])
}

// parseTunLink decodes one RTM_NEWLINK message body (ifinfomsg and
// attributes).
func parseTunLink(b []byte) (*tunLink, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return nil, fmt.Errorf("rtnetlink link message of %d bytes is too short", len(b))
	}
	info := (*unix.IfInfomsg)(unsafePointer(b))
	l := &tunLink{index: int(info.Index), flags: info.Flags, owner: NoOwner, group: -1}

	attrs, err := nl.ParseRouteAttr(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_IFNAME:
			l.name = cString(a.Value)
		case unix.IFLA_MTU:
			l.mtu = int(u32(a.Value))
		case unix.IFLA_CARRIER:
			l.carrier = len(a.Value) > 0 && a.Value[0] != 0
		case unix.IFLA_LINKINFO:
			if err := l.parseLinkInfo(a.Value); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func (l *tunLink) parseLinkInfo(b []byte) error {
	attrs, err := nl.ParseRouteAttr(b)
	if err != nil {
		return err
	}
	var data []syscall.NetlinkRouteAttr
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_INFO_KIND:
			l.kind = cString(a.Value)
		case unix.IFLA_INFO_DATA:
			if data, err = nl.ParseRouteAttr(a.Value); err != nil {
				return err
			}
		}
	}
	if l.kind != "tun" {
		return nil
	}
	for _, a := range data {
		switch a.Attr.Type {
		case nl.IFLA_TUN_TYPE:
			l.tunType = u8(a.Value)
		case nl.IFLA_TUN_MULTI_QUEUE:
			l.multiQueue = u8(a.Value) != 0
		case nl.IFLA_TUN_PERSIST:
			l.persistent = u8(a.Value) != 0
		case nl.IFLA_TUN_OWNER:
			l.owner = int(u32(a.Value))
		case nl.IFLA_TUN_GROUP:
			l.group = int(u32(a.Value))
		}
	}
	return nil
}

func u8(b []byte) uint8 {
	if len(b) < 1 {
		return 0
	}
	return b[0]
}

func u32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
