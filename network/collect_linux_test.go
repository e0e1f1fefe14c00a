package network

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// forEachBackend runs fn once on each path, each with a fresh namespace.
func forEachBackend(t *testing.T, fn func(t *testing.T, m *Manager, ns string)) {
	for _, b := range []Backend{BackendNative, BackendCommand} {
		t.Run(b.String(), func(t *testing.T) {
			m, ns := newTestManager(t, Options{Backend: b, BusyTimeout: -1})
			fn(t, m, ns)
		})
	}
}

func aliasOf(t *testing.T, ns, dev string) string {
	t.Helper()
	l := linkInfo(t, ns, dev)
	if l == nil {
		t.Fatalf("%s does not exist", dev)
	}
	alias, _ := l["ifalias"].(string)
	return alias
}

func linkNames(t *testing.T, ns string) []string {
	t.Helper()
	var names []string
	for _, l := range ipJSON(t, ns, "link", "show") {
		names = append(names, l["ifname"].(string))
	}
	slices.Sort(names)
	return names
}

func TestCreateTAPMarks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		ctx := context.Background()
		if err := m.CreateTAP(ctx, "tap0", testUID); err != nil {
			t.Fatal(err)
		}
		if err := m.CreateTAP(ctx, "tap1", testUID, WithSandbox("sb-1")); err != nil {
			t.Fatal(err)
		}
		if got := aliasOf(t, ns, "tap0"); got != "smolvm" {
			t.Errorf("tap0 alias = %q, want smolvm", got)
		}
		if got := aliasOf(t, ns, "tap1"); got != "smolvm:sb-1" {
			t.Errorf("tap1 alias = %q, want smolvm:sb-1", got)
		}
		info, err := m.TAPInfo(ctx, "tap1")
		if err != nil {
			t.Fatal(err)
		}
		if !info.Marked || info.SandboxID != "sb-1" {
			t.Errorf("TAPInfo = %+v, want marked for sb-1", info)
		}
	})
}

func TestCreateTAPOfAnotherSandbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		ctx := context.Background()
		if err := m.CreateTAP(ctx, "tap0", testUID, WithSandbox("sb-1")); err != nil {
			t.Fatal(err)
		}
		if err := m.CreateTAP(ctx, "tap0", testUID, WithSandbox("sb-1")); err != nil {
			t.Fatalf("repeating the create = %v, want success", err)
		}
		err := m.CreateTAP(ctx, "tap0", testUID, WithSandbox("sb-2"))
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("CreateTAP for another sandbox = %v, want fs.ErrExist", err)
		}
	})
}

func TestInvalidSandboxID(t *testing.T) {
	m := &Manager{}
	for _, id := range []string{"a b", "a/b", "smolvm:x", string(make([]byte, 65))} {
		err := m.CreateTAP(context.Background(), "tap0", testUID, WithSandbox(id))
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != "sandbox id" {
			t.Errorf("CreateTAP with sandbox id %q = %v, want a validation error", id, err)
		}
	}
}

func TestListTAPs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		ctx := context.Background()
		if err := m.CreateTAP(ctx, "tap0", testUID, WithSandbox("sb-1")); err != nil {
			t.Fatal(err)
		}
		ipCmd(t, ns, "tuntap", "add", "dev", "plain0", "mode", "tap")
		ipCmd(t, ns, "tuntap", "add", "dev", "tun0", "mode", "tun")
		ipCmd(t, ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")

		taps, err := m.ListTAPs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Name, SandboxID string
			Marked          bool
		}
		var got []row
		for _, tap := range taps {
			got = append(got, row{tap.Name, tap.SandboxID, tap.Marked})
		}
		want := []row{{"tap0", "sb-1", true}, {"plain0", "", false}}
		sortRows := func(a, b row) int { return cmpString(a.Name, b.Name) }
		slices.SortFunc(got, sortRows)
		slices.SortFunc(want, sortRows)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ListTAPs (-want +got):\n%s", diff)
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestDeleteTAPsBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		ctx := context.Background()
		for _, name := range []string{"tap0", "tap1", "tap2", "keep0"} {
			if err := m.CreateTAP(ctx, name, testUID); err != nil {
				t.Fatal(err)
			}
		}
		ipCmd(t, ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")

		err := m.DeleteTAPs(ctx, []string{"tap0", "tap1", "absent0", "veth0", "tap2"})
		if !errors.Is(err, ErrNotTAP) {
			t.Fatalf("DeleteTAPs = %v, want an error for veth0 matching ErrNotTAP", err)
		}
		if diff := cmp.Diff([]string{"keep0", "lo", "veth0", "veth1"}, linkNames(t, ns)); diff != "" {
			t.Fatalf("links left (-want +got):\n%s", diff)
		}
		if err := m.DeleteTAPs(ctx, []string{"tap0", "tap1"}); err != nil {
			t.Fatalf("repeating DeleteTAPs = %v, want success", err)
		}
	})
}

func TestDeleteTAPsValidatesFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		if err := m.CreateTAP(context.Background(), "tap0", testUID); err != nil {
			t.Fatal(err)
		}
		err := m.DeleteTAPs(context.Background(), []string{"tap0", "bad/name"})
		if !errors.Is(err, fs.ErrInvalid) {
			t.Fatalf("DeleteTAPs = %v, want a validation error", err)
		}
		if linkInfo(t, ns, "tap0") == nil {
			t.Fatal("DeleteTAPs deleted tap0 although another name was invalid")
		}
	})
}

func TestCollectTAPs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *Manager, ns string) {
		ctx := context.Background()
		for name, id := range map[string]string{"free0": "sb-1", "free1": "sb-2", "held0": "sb-1"} {
			if err := m.CreateTAP(ctx, name, testUID, WithSandbox(id)); err != nil {
				t.Fatal(err)
			}
		}
		ipCmd(t, ns, "tuntap", "add", "dev", "plain0", "mode", "tap")
		vmm := attachTAP(t, ns, "held0")
		defer vmm.Close()

		dry, err := m.CollectTAPs(ctx, CollectOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(dry.Found) != 2 || len(dry.Removed) != 0 {
			t.Fatalf("dry run = %+v, want 2 found and none removed", dry)
		}

		one, err := m.CollectTAPs(ctx, CollectOptions{SandboxID: "sb-2"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"free1"}, one.Removed); diff != "" {
			t.Fatalf("collect of sb-2 removed (-want +got):\n%s", diff)
		}

		all, err := m.CollectTAPs(ctx, CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"free0"}, all.Removed); diff != "" {
			t.Fatalf("collect removed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"held0"}, all.Held); diff != "" {
			t.Fatalf("collect held (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"held0", "lo", "plain0"}, linkNames(t, ns)); diff != "" {
			t.Fatalf("links left (-want +got):\n%s", diff)
		}
	})
}
