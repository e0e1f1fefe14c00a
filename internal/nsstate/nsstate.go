// Package nsstate takes comparable snapshots of a network namespace for
// tests: links, addresses, routes, a few sysctls and smolvm-core's nftables
// table, with what differs between equal states (interface indexes, MAC
// addresses, IPv6 link-local entries derived from them, nft handles)
// removed.
package nsstate

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Snapshot is a namespace's state in a form go-cmp compares.
type Snapshot struct {
	Links, Addrs, Routes any
	// Table is `nft -j list table inet smolvm`, or nil when the table
	// does not exist.
	Table any
}

// Take snapshots the namespace ns. It fails t when a listing fails.
func Take(t testing.TB, ns string) Snapshot {
	t.Helper()
	return Snapshot{
		Links:  clean(ipJSON(t, ns, "-details", "link", "show")),
		Addrs:  clean(ipJSON(t, ns, "addr", "show")),
		Routes: clean(append(ipJSON(t, ns, "route", "show", "table", "all"), ipJSON(t, ns, "-6", "route", "show", "table", "all")...)),
		Table:  nftTable(t, ns),
	}
}

func ipJSON(t testing.TB, ns string, args ...string) []any {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns, "-json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ip -n %s -json %s: %v", ns, strings.Join(args, " "), err)
	}
	var v []any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode ip -json %s: %v", strings.Join(args, " "), err)
	}
	return v
}

func nftTable(t testing.TB, ns string) any {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "smolvm").Output()
	if err != nil {
		return nil
	}
	var doc struct {
		Nftables []map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("decode nft -j list table: %v", err)
	}
	var items []any
	for _, it := range doc.Nftables {
		if _, ok := it["metainfo"]; !ok {
			items = append(items, it)
		}
	}
	return clean(items)
}

// dropped are keys whose values differ between equal states.
var dropped = map[string]bool{"ifindex": true, "address": true, "link_index": true, "handle": true}

// clean removes dropped keys and link-local IPv6 entries, and sorts set
// elements, recursively.
func clean(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if !dropped[k] {
				out[k] = clean(val)
			}
		}
		if elems, ok := out["elem"].([]any); ok {
			slices.SortFunc(elems, func(a, b any) int {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return strings.Compare(string(ja), string(jb))
			})
		}
		return out
	case []any:
		var out []any
		for _, val := range x {
			if !linkLocal(val) {
				out = append(out, clean(val))
			}
		}
		return out
	}
	return v
}

func linkLocal(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, k := range []string{"dst", "local"} {
		if s, ok := m[k].(string); ok && strings.HasPrefix(s, "fe80:") && s != "fe80::/64" {
			return true
		}
	}
	return false
}
