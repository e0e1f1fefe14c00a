package firewall

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// native does the work with nftables netlink messages through
// github.com/google/nftables (v0.3.0), on one lasting netlink socket.
//
// Three gaps of that version shape the code. It cannot fetch a single set
// element, so reads dump whole sets, which only slow paths do. Its error
// for a failed batch does not name the message that failed, so callers
// decide from the table's state. Some of its read calls format the
// kernel's error with %v and lose the errno, so list first checks the
// table with a call that keeps it.
type native struct {
	conn  *nftables.Conn
	table *nftables.Table
}

func newNative(netns string) (backend, error) {
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if netns != "" {
		f, err := os.Open(filepath.Join("/run/netns", netns))
		if err != nil {
			return nil, &OpError{Op: "open netns", Object: netns, Err: err}
		}
		// The socket is created inside the namespace at dial time, so the
		// file is only needed until New returns.
		defer f.Close()
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return nil, &OpError{Op: "open nftables netlink", Object: netns, Err: err}
	}
	return &native{conn: conn, table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}}, nil
}

func (n *native) close() error { return n.conn.CloseLasting() }

// flush sends the buffered messages as one batch and returns the kernel's
// errno when it rejected the batch.
func (n *native) flush() error {
	err := n.conn.Flush()
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("nftables transaction rejected: %w", errno)
	}
	return fmt.Errorf("nftables transaction: %w", err)
}

func (n *native) apply(_ context.Context, tx *transaction) error {
	if tx.empty() {
		return nil
	}
	sets := map[setName]*nftables.Set{}
	if tx.create {
		n.conn.CreateTable(n.table)
		for _, s := range setSpecs {
			if err := n.addSet(s, sets); err != nil {
				return err
			}
		}
		for _, c := range chainSpecs {
			n.addChain(c, sets)
		}
	}
	for _, name := range tx.addSets {
		if err := n.addSet(specOf(name), sets); err != nil {
			return err
		}
	}
	for _, r := range tx.resetChains {
		if r.exists {
			n.conn.DelChain(&nftables.Chain{Table: n.table, Name: r.name})
		}
		n.addChain(chainSpecOf(r.name), sets)
	}
	for _, ch := range tx.changes {
		s := sets[ch.elem.set]
		if s == nil {
			s = n.setObject(specOf(ch.elem.set))
		}
		el, err := encodeElem(ch.elem)
		if err != nil {
			return err
		}
		if ch.del {
			// A delete names the key only.
			el.Comment, el.Val = "", nil
			err = n.conn.SetDeleteElements(s, []nftables.SetElement{el})
		} else {
			err = n.conn.SetAddElements(s, []nftables.SetElement{el})
		}
		if err != nil {
			return err
		}
	}
	return n.flush()
}

func (n *native) addSet(spec setSpec, sets map[setName]*nftables.Set) error {
	s := n.setObject(spec)
	if err := n.conn.AddSet(s, nil); err != nil {
		return err
	}
	sets[spec.name] = s
	return nil
}

// setObject describes spec as the library's Set, with the key and data
// types that nft writes for the same declaration.
func (n *native) setObject(spec setSpec) *nftables.Set {
	s := &nftables.Set{Table: n.table, Name: string(spec.name), Comment: spec.comment}
	switch spec.name {
	case setTAPs, setEgressTAPs:
		// nft declares ifname keys in host byte order and decodes them
		// reversed without this.
		s.KeyType = nftables.TypeIFName
		s.KeyByteOrder = binaryutil.NativeEndian
	case setNAT4:
		s.KeyType = nftables.TypeIPAddr
		s.KeyByteOrder = binaryutil.BigEndian
	case setEgress4:
		s.KeyType = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr)
		s.Interval, s.Concatenation = true, true
	case setEgress6:
		s.KeyType = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIP6Addr)
		s.Interval, s.Concatenation = true, true
	case mapForwards:
		s.KeyType = nftables.TypeInetService
		s.KeyByteOrder = binaryutil.BigEndian
		s.IsMap = true
		s.DataType = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	case setLocalPorts:
		s.KeyType = nftables.TypeInetService
		s.KeyByteOrder = binaryutil.BigEndian
	}
	return s
}

func (n *native) addChain(spec chainSpec, sets map[setName]*nftables.Set) {
	policy := nftables.ChainPolicyAccept
	c := n.conn.AddChain(&nftables.Chain{
		Table:    n.table,
		Name:     spec.name,
		Type:     nftables.ChainType(spec.kind),
		Hooknum:  nftables.ChainHookRef(hookNumber(spec.hook)),
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(spec.priority)),
		Policy:   &policy,
	})
	for _, r := range spec.rules {
		n.conn.AddRule(&nftables.Rule{
			Table:    n.table,
			Chain:    c,
			Exprs:    ruleExprs(r.comment, sets),
			UserData: userdata.AppendString(nil, userdata.TypeComment, r.comment),
		})
	}
}

var hookNames = map[string]nftables.ChainHook{
	"prerouting":  unix.NF_INET_PRE_ROUTING,
	"input":       unix.NF_INET_LOCAL_IN,
	"forward":     unix.NF_INET_FORWARD,
	"output":      unix.NF_INET_LOCAL_OUT,
	"postrouting": unix.NF_INET_POST_ROUTING,
}

func hookNumber(name string) nftables.ChainHook { return hookNames[name] }

func hookName(h *nftables.ChainHook) string {
	if h == nil {
		return ""
	}
	for name, v := range hookNames {
		if v == *h {
			return name
		}
	}
	return ""
}

// tableExists requests the table alone. The kernel returns ENOENT when it
// does not exist.
func (n *native) tableExists() (bool, error) {
	_, err := n.conn.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

func (n *native) inspect(_ context.Context) (tableInfo, error) {
	ok, err := n.tableExists()
	if err != nil || !ok {
		return tableInfo{}, err
	}
	info := tableInfo{present: true, sets: map[setName]bool{}, chains: map[string]chainInfo{}}
	sets, err := n.conn.GetSets(n.table)
	if err != nil {
		return tableInfo{}, err
	}
	for _, s := range sets {
		info.sets[setName(s.Name)] = true
	}
	chains, err := n.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return tableInfo{}, err
	}
	for _, c := range chains {
		if c.Table.Name != TableName {
			continue
		}
		ci := chainInfo{kind: string(c.Type), hook: hookName(c.Hooknum)}
		if c.Priority != nil {
			ci.priority = int(*c.Priority)
		}
		if c.Policy != nil && *c.Policy == nftables.ChainPolicyAccept {
			ci.policy = "accept"
		}
		rules, err := n.conn.GetRules(n.table, c)
		if err != nil {
			return tableInfo{}, err
		}
		for _, r := range rules {
			comment, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			ci.comments = append(ci.comments, comment)
		}
		info.chains[c.Name] = ci
	}
	return info, nil
}

func (n *native) list(_ context.Context) ([]elem, bool, error) {
	ok, err := n.tableExists()
	if err != nil || !ok {
		return nil, false, err
	}
	var out []elem
	for _, spec := range setSpecs {
		els, err := n.conn.GetSetElements(n.setObject(spec))
		if err != nil {
			return nil, true, fmt.Errorf("list set %s: %w", spec.name, err)
		}
		for _, el := range els {
			if el.IntervalEnd {
				continue
			}
			e, err := decodeElem(spec.name, el)
			if err != nil {
				return nil, true, err
			}
			out = append(out, e)
		}
	}
	return out, true, nil
}

func (n *native) forwardDrops(_ context.Context) ([]ForeignChain, error) {
	chains, err := n.conn.ListChains()
	if err != nil {
		return nil, err
	}
	families := map[nftables.TableFamily]string{
		nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6", nftables.TableFamilyINet: "inet",
	}
	var out []ForeignChain
	for _, c := range chains {
		family, ok := families[c.Table.Family]
		if !ok || c.Hooknum == nil || *c.Hooknum != unix.NF_INET_FORWARD || c.Policy == nil || *c.Policy != nftables.ChainPolicyDrop {
			continue
		}
		if family == "inet" && c.Table.Name == TableName {
			continue
		}
		fc := ForeignChain{Family: family, Table: c.Table.Name, Chain: c.Name}
		if c.Priority != nil {
			fc.Priority = int(*c.Priority)
		}
		out = append(out, fc)
	}
	sortForeign(out)
	return out, nil
}

// ifnameBytes is an interface name as nft stores it: 16 bytes, zero padded.
func ifnameBytes(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// portBytes is a port in network byte order, padded to the 4-byte register
// width when it is part of a concatenation.
func portBytes(p uint16, padded bool) []byte {
	b := []byte{byte(p >> 8), byte(p)}
	if padded {
		b = append(b, 0, 0)
	}
	return b
}

// encodeElem builds the key, key end, value and comment of e.
func encodeElem(e elem) (nftables.SetElement, error) {
	el := nftables.SetElement{Comment: e.comment}
	switch e.set {
	case setTAPs, setEgressTAPs:
		el.Key = ifnameBytes(e.tap)
	case setNAT4:
		a := e.addr.As4()
		el.Key = a[:]
	case setEgress4, setEgress6:
		first := e.prefix.Masked().Addr().AsSlice()
		last := lastAddr(e.prefix).AsSlice()
		el.Key = append(ifnameBytes(e.tap), first...)
		el.KeyEnd = append(ifnameBytes(e.tap), last...)
	case mapForwards:
		el.Key = portBytes(e.port, false)
		if e.target.IsValid() {
			a := e.target.Addr().As4()
			el.Val = append(a[:], portBytes(e.target.Port(), true)...)
		}
	case setLocalPorts:
		el.Key = portBytes(e.port, false)
	default:
		return el, fmt.Errorf("unknown set %s", e.set)
	}
	return el, nil
}

// decodeElem is the inverse of encodeElem for an element read back.
func decodeElem(set setName, el nftables.SetElement) (elem, error) {
	e := elem{set: set, comment: el.Comment}
	bad := func() (elem, error) {
		return elem{}, fmt.Errorf("unexpected element with key %x in set %s", el.Key, set)
	}
	switch set {
	case setTAPs, setEgressTAPs:
		if len(el.Key) != unix.IFNAMSIZ {
			return bad()
		}
		e.tap = cString(el.Key)
	case setNAT4:
		a, ok := netip.AddrFromSlice(el.Key)
		if !ok || !a.Is4() {
			return bad()
		}
		e.addr = a
	case setEgress4, setEgress6:
		size := 4
		if set == setEgress6 {
			size = 16
		}
		if len(el.Key) != unix.IFNAMSIZ+size || len(el.KeyEnd) != unix.IFNAMSIZ+size {
			return bad()
		}
		first, _ := netip.AddrFromSlice(el.Key[unix.IFNAMSIZ:])
		last, _ := netip.AddrFromSlice(el.KeyEnd[unix.IFNAMSIZ:])
		p, ok := prefixFromRange(first, last)
		if !ok {
			return bad()
		}
		e.tap, e.prefix = cString(el.Key[:unix.IFNAMSIZ]), p
	case mapForwards, setLocalPorts:
		if len(el.Key) != 2 {
			return bad()
		}
		e.port = uint16(el.Key[0])<<8 | uint16(el.Key[1])
		if set == mapForwards {
			if len(el.Val) != 8 {
				return bad()
			}
			a, _ := netip.AddrFromSlice(el.Val[:4])
			e.target = netip.AddrPortFrom(a, uint16(el.Val[4])<<8|uint16(el.Val[5]))
		}
	}
	return e, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
