package nsutil_test

import (
	"errors"
	"os"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/smolvm/smolvm-core/internal/netnstest"
	"github.com/smolvm/smolvm-core/internal/nsutil"
)

func TestCreateDoDelete(t *testing.T) {
	netnstest.RequireRoot(t)
	const name = "smolvm-nsutil-test"
	if err := nsutil.Create(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nsutil.Delete(name) })
	if !nsutil.Exists(name) {
		t.Fatal("Exists = false right after Create")
	}

	host, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	err = nsutil.Do(name, func() error {
		var err error
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside == host {
		t.Fatalf("Do ran fn in the caller's namespace %s", host)
	}
	after, _ := os.Readlink("/proc/thread-self/ns/net")
	if after != host {
		t.Fatalf("the caller's thread moved from %s to %s", host, after)
	}

	if err := nsutil.Delete(name); err != nil {
		t.Fatal(err)
	}
	if nsutil.Exists(name) {
		t.Fatal("Exists = true after Delete")
	}
	if err := nsutil.Do(name, func() error { return nil }); err == nil {
		t.Fatal("Do in a deleted namespace succeeded")
	}
}

func TestWorkerStaysInNamespace(t *testing.T) {
	name := netnstest.New(t)
	target, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	w, err := nsutil.NewWorker(target)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	host, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 3 {
		var inside string
		if err := w.Do(func() error {
			var err error
			inside, err = os.Readlink("/proc/thread-self/ns/net")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if inside == host {
			t.Fatalf("call %d ran in the caller's namespace %s", i, host)
		}
		if first == "" {
			first = inside
		} else if inside != first {
			t.Fatalf("call %d ran in %s, the first in %s", i, inside, first)
		}
	}
	wantErr := errors.New("from fn")
	if err := w.Do(func() error { return wantErr }); err != wantErr {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
	w.Close()
	w.Close()
}
