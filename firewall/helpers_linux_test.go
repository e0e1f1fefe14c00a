package firewall

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/internal/netnstest"
)

// newTestManager returns a Manager with backend b bound to a fresh
// namespace, and the namespace's name.
func newTestManager(t testing.TB, b Backend) (*Manager, string) {
	t.Helper()
	ns := netnstest.New(t)
	return openManager(t, ns, b), ns
}

func openManager(t testing.TB, ns string, b Backend) *Manager {
	t.Helper()
	if b == BackendCommand {
		netnstest.RequireCommand(t, "nft", "nftables")
	}
	m, err := New(Options{Netns: ns, Backend: b, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// nftCmd runs nft inside ns and fails t if it fails.
func nftCmd(t testing.TB, ns, stdin string, args ...string) string {
	t.Helper()
	netnstest.RequireCommand(t, "nft", "nftables")
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft %s in %s: %v: %s", strings.Join(args, " "), ns, err, out)
	}
	return string(out)
}

// listJSON returns `nft -j ARGS` inside ns with handles and the metainfo
// item removed, and set elements sorted, so two namespaces compare equal
// when their rulesets do.
func listJSON(t testing.TB, ns string, args ...string) []any {
	t.Helper()
	out := nftCmd(t, ns, "", append([]string{"-j"}, args...)...)
	var doc struct {
		Nftables []map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("decode nft -j %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var items []any
	for _, it := range doc.Nftables {
		if _, ok := it["metainfo"]; ok {
			continue
		}
		items = append(items, normalize(it))
	}
	return items
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if k == "handle" {
				continue
			}
			out[k] = normalize(val)
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
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	}
	return v
}

var ctx = context.Background()

func assertJSONEqual(t testing.TB, what string, want, got []any) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", what, diff)
	}
}

func equalTAPState(a, b TAPState) bool {
	return cmp.Equal(a, b, cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
		cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }))
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// sortItems orders listing items by kind and chain, keeping the order of
// the rules within a chain, for listings where only chain handles differ.
func sortItems(items []any) []any {
	key := func(v any) string {
		m, _ := v.(map[string]any)
		for kind, body := range m {
			b, _ := body.(map[string]any)
			if kind == "rule" {
				return "rule " + b["chain"].(string)
			}
			name, _ := b["name"].(string)
			return kind + " " + name
		}
		return ""
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b any) int { return strings.Compare(key(a), key(b)) })
	return out
}
