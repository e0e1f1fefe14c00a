package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smolvm/smolvm-core/network"
)

// Goals of the prepare comparison.
const (
	prepareGoal      = 250 * time.Microsecond
	prepareShellGoal = 50.0
	// flatLimit is how much slower the median at the largest size may be
	// than the median with no TAPs present for the report to call it flat.
	flatLimit = 1.25
)

// The contenders of the prepare comparison, in the report's order.
const (
	prepNetns = iota
	prepInside
	prepCommand
	prepShell
	prepPackage
	prepFloor
)

var prepareNames = []string{
	prepNetns:   "smolvm-core native, `Options.Netns`",
	prepInside:  "smolvm-core native, opened inside the namespace",
	prepCommand: "smolvm-core command path",
	prepShell:   "`ip` and `sysctl` subprocesses",
	prepPackage: "vishvananda/netlink package functions",
	prepFloor:   "bare syscalls (floor)",
}

// splitNames are the two native managers again, with PrepareTAP split into
// the public calls it is made of, so that the report can show where their
// time goes. They run after the contenders of prepareNames.
var splitNames = []string{
	"smolvm-core native, `Options.Netns`, as separate calls",
	"smolvm-core native, opened inside the namespace, as separate calls",
}

// prepareResult holds the samples taken with size TAPs present.
type prepareResult struct {
	size    int
	samples [][]time.Duration // by contender
	floor   *stepTimes
	// split holds the times of the public calls of the two native
	// managers, Options.Netns first.
	split [2]*stepTimes
}

func prepareSection(r *runner, s *Section) error {
	n := r.scale.prepareSamples
	s.Intro = []string{
		"A sandbox's network start: create a TAP owned by uid 424242, put 172.16.0.1/30 on it, set it up, " +
			"set `net.ipv4.conf.TAP.route_localnet=1` and add the route to the guest (172.16.0.2/32). " +
			"Each size gets a fresh namespace in which that many sandboxes were prepared first, " +
			"each TAP with its own address and route. " +
			fmt.Sprintf("Every path ran %s per size, interleaved; the TAP was deleted after each sample, untimed.", plural(n, "sample")),
		"The paths:\n\n" +
			"- smolvm-core native, `Options.Netns`: `PrepareTAP` and `AddRoute` on a native `network.Manager` bound to " +
			"the namespace, as the CLI and a runtime that keeps sandboxes in namespaces use it.\n" +
			"- smolvm-core native, opened inside the namespace: the same on a manager that " +
			"`network.New(Options{Backend: BackendNative})` opened on a thread inside the namespace, called from that " +
			"thread, as a runtime in the host's namespace uses it.\n" +
			"- smolvm-core command path: the same with `BackendCommand`, here as root, so without sudo.\n" +
			"- `ip` and `sysctl` subprocesses: the six `ip -n NS ...` and `ip netns exec NS sysctl` commands that a " +
			"shell script runs. They set no mark.\n" +
			"- vishvananda/netlink package functions: `LinkAdd` of a `Tuntap`, `AddrAdd`, `LinkSetUp` and `RouteAdd`, " +
			"each on a new netlink socket, and a `/proc/sys` write, on a thread inside the namespace.\n" +
			"- bare syscalls (floor): the kernel calls that the library makes for a fresh TAP, mark included, with one " +
			"reused netlink socket and no lookups or checks, on a thread inside the namespace.\n\n" +
			"Both native managers also ran the prepare as its separate public calls, to show where their time goes.",
	}

	var results []prepareResult
	for _, size := range r.scale.prepareSizes {
		res, err := r.prepareAt(size, n)
		if err != nil {
			return fmt.Errorf("%s TAPs present: %w", formatCount(size), err)
		}
		results = append(results, res)
	}
	renderPrepare(s, results)
	return nil
}

// prepareAt measures every path n times with size sandboxes present, in a
// namespace of its own.
func (r *runner) prepareAt(size, n int) (res prepareResult, err error) {
	res.size = size
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()

	native, err := openManager(ns, network.BackendNative)
	if err != nil {
		return res, err
	}
	defer native.Close()
	r.logf("prepare: %s sandboxes present: preparing them in %s", formatCount(size), ns)
	fillers, err := prepareSandboxes(r.ctx, native, size)
	// Delete them in one batch before the namespace goes, so that the
	// kernel does not go on tearing them down during the next measurement.
	defer func() { err = errors.Join(err, native.DeleteTAPs(context.WithoutCancel(r.ctx), fillers)) }()
	if err != nil {
		return res, err
	}
	command, err := openManager(ns, network.BackendCommand)
	if err != nil {
		return res, err
	}
	defer command.Close()

	thread, err := startNSThread(ns)
	if err != nil {
		return res, err
	}
	defer thread.stop()
	var (
		inside *network.Manager
		floor  *floorPath
	)
	err = thread.do(func() error {
		var err error
		if inside, err = network.New(network.Options{Backend: network.BackendNative}); err != nil {
			return err
		}
		floor, err = newFloorPath()
		return err
	})
	if err != nil {
		return res, err
	}
	defer thread.do(func() error {
		floor.close()
		return inside.Close()
	})

	res.floor, res.split = floor.steps, [2]*stepTimes{newStepTimes(), newStepTimes()}
	cs := prepareContenders(ns, native, inside, command, thread, floor)
	cs = append(cs, contender{
		name: splitNames[0],
		run: func(ctx context.Context) (time.Duration, error) {
			return timed(func() error { return splitPrepare(ctx, native, res.split[0]) })
		},
	}, contender{
		name: splitNames[1],
		run: func(ctx context.Context) (time.Duration, error) {
			return thread.timed(func() error { return splitPrepare(ctx, inside, res.split[1]) })
		},
	})
	for i := range cs {
		cs[i].reset = func(ctx context.Context) error { return native.DeleteTAP(ctx, benchTAP) }
	}

	r.logf("prepare: %s sandboxes present: %s per path", formatCount(size), plural(n, "sample"))
	if _, err := r.interleave(1, cs); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	for _, st := range []*stepTimes{res.floor, res.split[0], res.split[1]} {
		st.reset()
	}
	res.samples, err = r.interleave(n, cs)
	return res, err
}

func prepareContenders(ns string, native, inside, command *network.Manager, thread *nsThread, floor *floorPath) []contender {
	withManager := func(ctx context.Context, m *network.Manager) error {
		if err := m.PrepareTAP(ctx, benchTAP, benchOwner, benchHost); err != nil {
			return err
		}
		return m.AddRoute(ctx, benchGuest, benchTAP)
	}
	cs := make([]contender, len(prepareNames))
	cs[prepNetns].run = func(ctx context.Context) (time.Duration, error) {
		return timed(func() error { return withManager(ctx, native) })
	}
	cs[prepInside].run = func(ctx context.Context) (time.Duration, error) {
		return thread.timed(func() error { return withManager(ctx, inside) })
	}
	cs[prepCommand].run = func(ctx context.Context) (time.Duration, error) {
		return timed(func() error { return withManager(ctx, command) })
	}
	cs[prepShell].run = func(ctx context.Context) (time.Duration, error) {
		return timed(func() error { return runCommands(ctx, shellStart(ns)) })
	}
	cs[prepPackage].run = func(context.Context) (time.Duration, error) {
		return thread.timed(func() error { return packagePrepare(benchTAP, benchOwner, benchHost, benchGuest) })
	}
	cs[prepFloor].run = func(context.Context) (time.Duration, error) {
		return thread.timed(func() error { return floor.prepare(benchTAP, benchOwner, benchHost, benchGuest) })
	}
	for i := range cs {
		cs[i].name = prepareNames[i]
	}
	return cs
}

// splitPrepare does what PrepareTAP and AddRoute do, in the public calls
// that PrepareTAP is made of, and times each. ConfigureTAP looks the device
// up once more than PrepareTAP does, to check that it is a TAP.
func splitPrepare(ctx context.Context, m *network.Manager, steps *stepTimes) error {
	last := time.Now()
	if err := m.CreateTAP(ctx, benchTAP, benchOwner); err != nil {
		return err
	}
	steps.lap(&last, "`CreateTAP`")
	if err := m.ConfigureTAP(ctx, benchTAP, benchHost); err != nil {
		return err
	}
	steps.lap(&last, "`ConfigureTAP`")
	if err := m.WriteSysctl(ctx, "net.ipv4.conf."+benchTAP+".route_localnet", "1"); err != nil {
		return err
	}
	steps.lap(&last, "`WriteSysctl`")
	if err := m.AddRoute(ctx, benchGuest, benchTAP); err != nil {
		return err
	}
	steps.lap(&last, "`AddRoute`")
	return nil
}
