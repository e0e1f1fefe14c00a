package firewall

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ruleExprs returns the expressions of the rule with comment, the same
// bytecode nft 1.0.6 generates for the rule's script (checked with
// `nft --debug=netlink`), so both paths list alike. sets holds sets created
// in the same batch, which rules must name by batch id as well.
func ruleExprs(comment string, sets map[setName]*nftables.Set) []expr.Any {
	lookup := func(name setName, dreg uint32) *expr.Lookup {
		l := &expr.Lookup{SourceRegister: 1, SetName: string(name)}
		if s := sets[name]; s != nil {
			l.SetID = s.ID
		}
		if dreg != 0 {
			l.DestRegister, l.IsDestRegSet = dreg, true
		}
		return l
	}
	// Register numbers as nft uses them: 1 is the first 16-byte register;
	// 2 is the next one; 9 is the second 32-bit word of register 1.
	localDest := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
	dport := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
	dnat := []expr.Any{
		lookup(mapForwards, 1),
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 9},
	}
	nfproto := func(family byte) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}},
		}
	}
	iifname := &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	ctBits := func(key expr.CtKey, mask uint32) []expr.Any {
		return []expr.Any{
			&expr.Ct{Register: 1, Key: key},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		}
	}
	join := func(parts ...[]expr.Any) []expr.Any {
		var out []expr.Any
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	one := func(e ...expr.Any) []expr.Any { return e }

	switch comment {
	case "forward host ports to guests":
		return join(localDest, one(dport), dnat)
	case "forward local connections to guests":
		return join(localDest, one(dport, lookup(setLocalPorts, 0), dport), dnat)
	case "masquerade guest sources":
		return join(nfproto(unix.NFPROTO_IPV4), one(
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			lookup(setNAT4, 0),
			&expr.Masq{},
		))
	case "give forwarded local connections a routable source":
		return join(nfproto(unix.NFPROTO_IPV4), one(
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127}},
		), ctBits(expr.CtKeySTATUS, ipsDstNAT), one(&expr.Masq{}))
	case "accept replies":
		return join(ctBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept))
	case "isolate sandbox taps from each other":
		return one(iifname, lookup(setTAPs, 0), &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, lookup(setTAPs, 0), drop)
	case "allow listed ipv4 egress":
		return join(nfproto(unix.NFPROTO_IPV4), one(iifname,
			&expr.Payload{DestRegister: 2, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			lookup(setEgress4, 0), accept))
	case "allow listed ipv6 egress":
		return join(nfproto(unix.NFPROTO_IPV6), one(iifname,
			&expr.Payload{DestRegister: 2, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			lookup(setEgress6, 0), accept))
	case "drop other egress of limited taps":
		return one(iifname, lookup(setEgressTAPs, 0), drop)
	}
	panic("firewall: no expressions for rule " + comment)
}

// ipsDstNAT is IPS_DST_NAT of enum ip_conntrack_status: the connection's
// destination was changed by DNAT.
const ipsDstNAT = 1 << 5
