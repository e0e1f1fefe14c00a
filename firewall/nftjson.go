package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
)

// This file decodes the output of `nft -j list ...` (nft 1.0 JSON schema
// version 1): a top-level {"nftables": [...]} whose items are objects with
// one key each, such as "table", "set", "map", "chain" or "rule".

type nftItem struct {
	Table *struct {
		Family string `json:"family"`
		Name   string `json:"name"`
	} `json:"table"`
	Set   *nftSet `json:"set"`
	Map   *nftSet `json:"map"`
	Chain *struct {
		Family string `json:"family"`
		Table  string `json:"table"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Hook   string `json:"hook"`
		Prio   *int   `json:"prio"`
		Policy string `json:"policy"`
	} `json:"chain"`
	Rule *struct {
		Table   string `json:"table"`
		Chain   string `json:"chain"`
		Comment string `json:"comment"`
	} `json:"rule"`
}

type nftSet struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Name   string            `json:"name"`
	Elem   []json.RawMessage `json:"elem"`
}

func decodeItems(data []byte) ([]nftItem, error) {
	var doc struct {
		Nftables []nftItem `json:"nftables"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode nft -j output: %w", err)
	}
	return doc.Nftables, nil
}

// parseTableNames returns the names of the tables in a listing.
func parseTableNames(data []byte) (map[string]bool, error) {
	items, err := decodeItems(data)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, it := range items {
		if it.Table != nil {
			names[it.Table.Name] = true
		}
	}
	return names, nil
}

// parseTable reads `nft -j list table inet smolvm`: the schema found and
// the elements of the package's own sets and maps. Sets of other names are
// ignored.
func parseTable(data []byte) (tableInfo, []elem, error) {
	items, err := decodeItems(data)
	if err != nil {
		return tableInfo{}, nil, err
	}
	info := tableInfo{present: true, sets: map[setName]bool{}, chains: map[string]chainInfo{}}
	var elems []elem
	for _, it := range items {
		switch {
		case it.Set != nil || it.Map != nil:
			s := it.Set
			if s == nil {
				s = it.Map
			}
			name := setName(s.Name)
			if !knownSet(name) {
				continue
			}
			info.sets[name] = true
			for _, raw := range s.Elem {
				e, err := parseElem(name, raw)
				if err != nil {
					return tableInfo{}, nil, err
				}
				elems = append(elems, e)
			}
		case it.Chain != nil:
			c := it.Chain
			ci := chainInfo{kind: c.Type, hook: c.Hook, policy: c.Policy}
			if c.Prio != nil {
				ci.priority = *c.Prio
			}
			info.chains[c.Name] = ci
		case it.Rule != nil:
			ci := info.chains[it.Rule.Chain]
			ci.comments = append(ci.comments, it.Rule.Comment)
			info.chains[it.Rule.Chain] = ci
		}
	}
	return info, elems, nil
}

func knownSet(name setName) bool {
	for _, s := range setSpecs {
		if s.name == name {
			return true
		}
	}
	return false
}

// parseElem decodes one element of set. Element forms: a plain value, or
// {"elem": {"val": V, "comment": C}} when it has a comment; for maps a
// [key, value] pair; for concatenations {"concat": [A, B]}.
func parseElem(set setName, raw json.RawMessage) (elem, error) {
	e := elem{set: set}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return e, fmt.Errorf("decode element of set %s: %w", set, err)
	}
	bad := func() (elem, error) {
		return elem{}, fmt.Errorf("unexpected element %s in set %s", raw, set)
	}

	var value any
	if set == mapForwards {
		pair, ok := v.([]any)
		if !ok || len(pair) != 2 {
			return bad()
		}
		v, value = pair[0], pair[1]
	}
	v, e.comment = unwrapElem(v)

	var ok bool
	switch set {
	case setTAPs, setEgressTAPs:
		e.tap, ok = v.(string)
	case setNAT4:
		e.addr, ok = jsonAddr(v, true)
	case setEgress4, setEgress6:
		e.tap, e.prefix, ok = jsonTAPPrefix(v, set == setEgress4)
	case setLocalPorts:
		e.port, ok = jsonPort(v)
	case mapForwards:
		e.port, ok = jsonPort(v)
		if ok {
			e.target, ok = jsonTarget(value)
		}
	}
	if !ok {
		return bad()
	}
	return e, nil
}

// unwrapElem returns the value and comment of {"elem": {...}}, or v as it is.
func unwrapElem(v any) (any, string) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, ""
	}
	inner, ok := m["elem"].(map[string]any)
	if !ok {
		return v, ""
	}
	comment, _ := inner["comment"].(string)
	return inner["val"], comment
}

func jsonAddr(v any, want4 bool) (netip.Addr, bool) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != want4 {
		return netip.Addr{}, false
	}
	return a, true
}

func jsonPort(v any) (uint16, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	p, err := strconv.ParseUint(n.String(), 10, 16)
	return uint16(p), err == nil && p != 0
}

func jsonConcat(v any) ([]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	parts, ok := m["concat"].([]any)
	return parts, ok && len(parts) == 2
}

func jsonTarget(v any) (netip.AddrPort, bool) {
	parts, ok := jsonConcat(v)
	if !ok {
		return netip.AddrPort{}, false
	}
	a, ok := jsonAddr(parts[0], true)
	if !ok {
		return netip.AddrPort{}, false
	}
	p, ok := jsonPort(parts[1])
	return netip.AddrPortFrom(a, p), ok
}

// jsonTAPPrefix decodes "tap" . ADDR, "tap" . {"prefix": ...} or
// "tap" . {"range": [FIRST, LAST]} where the range is one prefix.
func jsonTAPPrefix(v any, want4 bool) (string, netip.Prefix, bool) {
	parts, ok := jsonConcat(v)
	if !ok {
		return "", netip.Prefix{}, false
	}
	tap, ok := parts[0].(string)
	if !ok {
		return "", netip.Prefix{}, false
	}
	if a, ok := jsonAddr(parts[1], want4); ok {
		return tap, netip.PrefixFrom(a, a.BitLen()), true
	}
	m, ok := parts[1].(map[string]any)
	if !ok {
		return "", netip.Prefix{}, false
	}
	if p, ok := m["prefix"].(map[string]any); ok {
		a, ok := jsonAddr(p["addr"], want4)
		n, ok2 := p["len"].(json.Number)
		bits, err := strconv.Atoi(n.String())
		if !ok || !ok2 || err != nil || bits < 0 || bits > a.BitLen() {
			return "", netip.Prefix{}, false
		}
		return tap, netip.PrefixFrom(a, bits), true
	}
	if r, ok := m["range"].([]any); ok && len(r) == 2 {
		first, ok1 := jsonAddr(r[0], want4)
		last, ok2 := jsonAddr(r[1], want4)
		if ok1 && ok2 {
			p, ok := prefixFromRange(first, last)
			return tap, p, ok
		}
	}
	return "", netip.Prefix{}, false
}

// parseForwardDrops reads `nft -j list chains` and returns the base chains
// of other tables that hook forward with policy drop.
func parseForwardDrops(data []byte) ([]ForeignChain, error) {
	items, err := decodeItems(data)
	if err != nil {
		return nil, err
	}
	var out []ForeignChain
	for _, it := range items {
		c := it.Chain
		if c == nil || c.Hook != "forward" || c.Policy != "drop" || c.Prio == nil {
			continue
		}
		if c.Family != "ip" && c.Family != "ip6" && c.Family != "inet" {
			continue
		}
		if c.Family == "inet" && c.Table == TableName {
			continue
		}
		out = append(out, ForeignChain{Family: c.Family, Table: c.Table, Chain: c.Name, Priority: *c.Prio})
	}
	sortForeign(out)
	return out, nil
}
