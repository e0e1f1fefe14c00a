package network

import (
	"encoding/binary"
	"fmt"

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
	alias      string
	linkGroup  uint32 // the interface group (IFLA_GROUP), not the TUN group
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
	// struct ifinfomsg: family, pad, type (2 bytes), index (4), flags (4),
	// change (4).
	l := &tunLink{
		index: int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		flags: binary.NativeEndian.Uint32(b[8:12]),
		owner: NoOwner,
		group: -1,
	}

	attrs, err := parseAttrs(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		switch a.typ {
		case unix.IFLA_IFNAME:
			l.name = cString(a.value)
		case unix.IFLA_MTU:
			l.mtu = int(u32(a.value))
		case unix.IFLA_IFALIAS:
			l.alias = cString(a.value)
		case unix.IFLA_GROUP:
			l.linkGroup = u32(a.value)
		case unix.IFLA_CARRIER:
			l.carrier = len(a.value) > 0 && a.value[0] != 0
		case unix.IFLA_LINKINFO:
			if err := l.parseLinkInfo(a.value); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func (l *tunLink) parseLinkInfo(b []byte) error {
	attrs, err := parseAttrs(b)
	if err != nil {
		return err
	}
	var data []attr
	for _, a := range attrs {
		switch a.typ {
		case unix.IFLA_INFO_KIND:
			l.kind = cString(a.value)
		case unix.IFLA_INFO_DATA:
			if data, err = parseAttrs(a.value); err != nil {
				return err
			}
		}
	}
	if l.kind != "tun" {
		return nil
	}
	for _, a := range data {
		switch a.typ {
		case nl.IFLA_TUN_TYPE:
			l.tunType = u8(a.value)
		case nl.IFLA_TUN_MULTI_QUEUE:
			l.multiQueue = u8(a.value) != 0
		case nl.IFLA_TUN_PERSIST:
			l.persistent = u8(a.value) != 0
		case nl.IFLA_TUN_OWNER:
			l.owner = int(u32(a.value))
		case nl.IFLA_TUN_GROUP:
			l.group = int(u32(a.value))
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

// attr is one rtnetlink attribute.
type attr struct {
	typ   uint16 // without the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits
	value []byte
}

// parseAttrs splits b into rtnetlink attributes. Unlike the netlink
// library's parser it checks every length against the buffer, so a
// malformed message is an error rather than a panic.
func parseAttrs(b []byte) ([]attr, error) {
	var attrs []attr
	for len(b) >= unix.SizeofRtAttr {
		length := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if length < unix.SizeofRtAttr || length > len(b) {
			return nil, fmt.Errorf("rtnetlink attribute of type %d has invalid length %d (%d bytes left)", typ, length, len(b))
		}
		attrs = append(attrs, attr{typ: typ, value: b[unix.SizeofRtAttr:length]})
		aligned := (length + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if aligned >= len(b) {
			break
		}
		b = b[aligned:]
	}
	return attrs, nil
}
