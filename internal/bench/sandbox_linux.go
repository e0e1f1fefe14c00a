package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"time"

	"github.com/smolvm/smolvm-core/network"
	"github.com/smolvm/smolvm-core/sandbox"
)

// sandboxResult holds the samples taken with size sandboxes present.
type sandboxResult struct {
	size           int
	ensure, remove []time.Duration
}

func sandboxSection(r *runner, s *Section) error {
	n := r.scale.sandboxSamples
	s.Intro = []string{
		"Starting and stopping one whole sandbox through the declarative layer: `sandbox.Manager.Ensure` of a spec " +
			"with its TAP (owner uid 424242, 172.16.0.1/30, guest 172.16.0.2), NAT and one port forward (8080 to port 80), " +
			"then `Remove`, each timed, on the native paths of a manager bound to the namespace. " +
			"Each size gets a fresh namespace in which that many sandboxes of the same kind were ensured first. " +
			fmt.Sprintf("%s per size. ", capitalize(plural(n, "sample"))) +
			"No goal is set for this layer; the table shows how it scales.",
	}
	var results []sandboxResult
	for _, size := range r.scale.prepareSizes {
		res, err := r.sandboxAt(size, n)
		if err != nil {
			return fmt.Errorf("%s sandboxes present: %w", formatCount(size), err)
		}
		results = append(results, res)
	}

	t := Table{Header: []string{"present", "samples", "`Ensure` median", "`Ensure` p90", "`Remove` median", "`Remove` p90"}}
	for _, res := range results {
		ensure, remove := summarize(res.ensure), summarize(res.remove)
		t.Rows = append(t.Rows, []string{formatCount(res.size), formatCount(ensure.N), formatDuration(ensure.Median),
			formatDuration(ensure.P90), formatDuration(remove.Median), formatDuration(remove.P90)})
	}
	s.Tables = append(s.Tables, t)
	first, last := results[0], results[len(results)-1]
	s.Notes = append(s.Notes, fmt.Sprintf("With %s sandboxes present `Ensure` takes %s the time it takes with %s.",
		formatCount(last.size), formatRatio(ratio(summarize(last.ensure).Median, summarize(first.ensure).Median)),
		formatCount(first.size)))
	return nil
}

// sandboxAt measures Ensure and Remove n times with size sandboxes present.
func (r *runner) sandboxAt(size, n int) (res sandboxResult, err error) {
	res.size = size
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()
	m, err := openSandboxManager(ns)
	if err != nil {
		return res, err
	}
	defer m.Close()

	r.logf("sandbox: %s present: ensuring them in %s", formatCount(size), ns)
	taps, err := r.ensureSandboxes(m, size)
	defer func() { err = errors.Join(err, m.Network().DeleteTAPs(context.WithoutCancel(r.ctx), taps)) }()
	if err != nil {
		return res, err
	}

	spec := sandbox.Spec{ID: "bench", TAP: benchTAP, Owner: benchOwner, Host: benchHost, Guest: benchGuest.Addr(), NAT: true,
		Forwards: []sandbox.PortForward{{HostPort: 8080, GuestPort: 80}}}
	c := contender{name: "sandbox", run: func(ctx context.Context) (time.Duration, error) {
		ensure, err := timed(func() error {
			_, err := m.Ensure(ctx, spec)
			return err
		})
		if err != nil {
			return 0, err
		}
		remove, err := timed(func() error { return m.Remove(ctx, spec.ID) })
		res.ensure, res.remove = append(res.ensure, ensure), append(res.remove, remove)
		return ensure + remove, err
	}}
	r.logf("sandbox: %s present: %s", formatCount(size), plural(n, "sample"))
	if _, err := r.interleave(1, []contender{c}); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	res.ensure, res.remove = nil, nil
	_, err = r.interleave(n, []contender{c})
	return res, err
}

func openSandboxManager(ns string) (*sandbox.Manager, error) {
	return sandbox.New(sandbox.Options{Netns: ns, Backend: network.BackendNative, Logger: slog.New(slog.DiscardHandler)})
}

// fillerSpec is the spec of the i-th sandbox that is already present: its
// own TAP and /30, NAT, and a forward from host port 20000+i.
func fillerSpec(i int) sandbox.Spec {
	host, guest := fillerAddrs(i)
	return sandbox.Spec{ID: "sandbox-" + strconv.Itoa(i), Owner: benchOwner, Host: host, Guest: guest.Addr(), NAT: true,
		Forwards: []sandbox.PortForward{{HostPort: uint16(20000 + i), GuestPort: 80}}}
}

// ensureSandboxes ensures n filler sandboxes and returns the names of the
// TAPs made so far, also on failure.
func (r *runner) ensureSandboxes(m *sandbox.Manager, n int) ([]string, error) {
	if n > 1<<14 {
		return nil, fmt.Errorf("%d sandboxes do not fit in 10.0.0.0/16", n)
	}
	var taps []string
	for i := range n {
		st, err := m.Ensure(r.ctx, fillerSpec(i))
		if err != nil {
			return taps, err
		}
		taps = append(taps, st.TAP.Name)
		if (i+1)%250 == 0 {
			r.logf("sandbox: %s of %s ensured", formatCount(i+1), formatCount(n))
		}
	}
	return taps, nil
}

// holdSandboxes is the heap part of the memory section: it ensures n
// sandboxes with m and returns the heap in use after that and after
// listing them, keeping the list.
func (r *runner) holdSandboxes(m *sandbox.Manager, n int) (ensured, listed uint64, taps []string, err error) {
	taps, err = r.ensureSandboxes(m, n)
	if err != nil {
		return 0, 0, taps, err
	}
	ensured = heapInUse()
	states, err := m.List(r.ctx)
	if err != nil {
		return 0, 0, taps, err
	}
	listed = heapInUse()
	// Without this the compiler may let the list die before the
	// measurement, because only its length is used after it.
	runtime.KeepAlive(states)
	if len(states) != n {
		return 0, 0, taps, fmt.Errorf("the sandbox list has %d sandboxes, want %d", len(states), n)
	}
	return ensured, listed, taps, nil
}
