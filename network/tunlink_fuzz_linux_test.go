package network

import (
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// tunLinkMessage builds an RTM_NEWLINK body for a TAP, as the kernel sends
// it, to seed the fuzzer.
func tunLinkMessage(name string, owner uint32) []byte {
	info := nl.NewIfInfomsg(unix.AF_UNSPEC)
	info.Index = 7
	b := info.Serialize()
	b = append(b, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)).Serialize()...)
	b = append(b, nl.NewRtAttr(unix.IFLA_CARRIER, []byte{1}).Serialize()...)
	linkInfo := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	linkInfo.AddRtAttr(unix.IFLA_INFO_KIND, nl.NonZeroTerminated("tun"))
	data := linkInfo.AddRtAttr(unix.IFLA_INFO_DATA, nil)
	data.AddRtAttr(nl.IFLA_TUN_TYPE, []byte{unix.IFF_TAP})
	data.AddRtAttr(nl.IFLA_TUN_PERSIST, []byte{1})
	data.AddRtAttr(nl.IFLA_TUN_OWNER, nl.Uint32Attr(owner))
	return append(b, linkInfo.Serialize()...)
}

func TestParseTunLink(t *testing.T) {
	l, err := parseTunLink(tunLinkMessage("tap0", 1000))
	if err != nil {
		t.Fatal(err)
	}
	want := tunLink{name: "tap0", index: 7, kind: "tun", carrier: true, tunType: unix.IFF_TAP, persistent: true, owner: 1000, group: -1}
	if *l != want {
		t.Fatalf("parseTunLink = %+v, want %+v", *l, want)
	}
	if !l.isTAP() {
		t.Fatal("isTAP() = false for a TAP")
	}
	if _, err := parseTunLink([]byte{1, 2, 3}); err == nil {
		t.Fatal("parseTunLink accepted a 3-byte message")
	}
}

func FuzzParseTunLink(f *testing.F) {
	f.Add(tunLinkMessage("tap0", 1000))
	f.Add(tunLinkMessage("x", 0))
	f.Add(make([]byte, unix.SizeofIfInfomsg))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseTunLink(b)
		if err == nil && l == nil {
			t.Fatal("parseTunLink returned neither a link nor an error")
		}
	})
}
