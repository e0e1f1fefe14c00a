package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"github.com/smolvm/smolvm-core/firewall"
)

// forwardGoal is the goal for one port-forward add or remove.
const forwardGoal = 200 * time.Microsecond

// The measured forward, with its TAP stored in the element's comment.
var (
	forwardPort  uint16 = 8080
	forwardGuest        = netip.MustParseAddrPort("172.16.0.2:80")
)

const (
	forwardTAP = "tap0"
	// forwardAddScript and forwardDeleteScript are what a shell script
	// pipes into `nft -f -` for the same change as AddForward and
	// RemoveForward.
	forwardAddScript    = `add element inet smolvm forwards { 8080 comment "tap=tap0" : 172.16.0.2 . 80 }` + "\n"
	forwardDeleteScript = "delete element inet smolvm forwards { 8080 }\n"
)

// The contenders of the forward comparison, in the report's order.
var forwardNames = []string{
	"smolvm-core native (nftables netlink)",
	"smolvm-core command path (`ip netns exec NS nft -f -`)",
	"`nft -f -` subprocess",
}

// forwardResult holds the samples taken with size forwards installed, by
// contender.
type forwardResult struct {
	size        int
	add, remove [][]time.Duration
}

func forwardSection(r *runner, s *Section) error {
	n := r.scale.forwardSamples
	s.Intro = []string{
		"Adding one TCP port forward (host port 8080 to 172.16.0.2:80, stored with TAP `" + forwardTAP + "`) and removing it again, " +
			"while other forwards are installed in the `inet smolvm` table. Each size gets a fresh namespace; " +
			"the table is created by the library and the other forwards are loaded with one `nft -f` script. " +
			fmt.Sprintf("Each path ran %s per size, interleaved, each sample an add and then a remove, timed apart. ", plural(n, "sample")) +
			"The paths: `AddForward` and `RemoveForward` on a `firewall.Manager` on netlink (`Options.Netns`), " +
			"the same on the command path, which runs `ip netns exec NS nft -f -` with a generated script, " +
			"and `nft -f -` started by a thread inside the namespace with the script a shell would write: " +
			"one element added, then one deleted. " +
			"The library's remove also makes sure that the port is not left in `local_ports`, in the same transaction.",
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("%w (apt-get install nftables)", err)
	}
	var results []forwardResult
	for _, size := range r.scale.forwardSizes {
		res, err := r.forwardAt(size, n)
		if err != nil {
			return fmt.Errorf("%s forwards installed: %w", formatCount(size), err)
		}
		results = append(results, res)
	}
	renderForwards(s, results)
	return nil
}

// forwardAt measures every path n times with size forwards installed.
func (r *runner) forwardAt(size, n int) (res forwardResult, err error) {
	res.size = size
	ns, deleteNetns, err := newNetns()
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, deleteNetns()) }()

	quiet := slog.New(slog.DiscardHandler)
	native, err := firewall.New(firewall.Options{Netns: ns, Backend: firewall.BackendNative, Logger: quiet})
	if err != nil {
		return res, err
	}
	defer native.Close()
	command, err := firewall.New(firewall.Options{Netns: ns, Backend: firewall.BackendCommand, Logger: quiet})
	if err != nil {
		return res, err
	}
	defer command.Close()
	thread, err := startNSThread(ns)
	if err != nil {
		return res, err
	}
	defer thread.stop()

	r.logf("forward: %s forwards installed: loading them in %s", formatCount(size), ns)
	if err := prefillForwards(r.ctx, native, thread, size); err != nil {
		return res, err
	}
	res.add = make([][]time.Duration, len(forwardNames))
	res.remove = make([][]time.Duration, len(forwardNames))
	cs := forwardContenders(native, command, thread, &res)
	r.logf("forward: %s forwards installed: %s per path", formatCount(size), plural(n, "sample"))
	if _, err := r.interleave(1, cs); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	for i := range cs {
		res.add[i], res.remove[i] = nil, nil
	}
	_, err = r.interleave(n, cs)
	return res, err
}

// forwardContenders returns the paths. Each sample records its add and its
// remove time in res.
func forwardContenders(native, command *firewall.Manager, thread *nsThread, res *forwardResult) []contender {
	f := firewall.Forward{HostPort: forwardPort, Guest: forwardGuest, TAP: forwardTAP}
	withManager := func(m *firewall.Manager) func(context.Context) (add, remove time.Duration, err error) {
		return func(ctx context.Context) (time.Duration, time.Duration, error) {
			add, err := timed(func() error { return m.AddForward(ctx, f) })
			if err != nil {
				return 0, 0, err
			}
			remove, err := timed(func() error { return m.RemoveForward(ctx, f.HostPort) })
			return add, remove, err
		}
	}
	withNft := func(ctx context.Context) (time.Duration, time.Duration, error) {
		add, err := thread.timed(func() error { return runNft(ctx, forwardAddScript) })
		if err != nil {
			return 0, 0, err
		}
		remove, err := thread.timed(func() error { return runNft(ctx, forwardDeleteScript) })
		return add, remove, err
	}

	runs := []func(context.Context) (time.Duration, time.Duration, error){withManager(native), withManager(command), withNft}
	cs := make([]contender, len(runs))
	for i, run := range runs {
		cs[i] = contender{name: forwardNames[i], run: func(ctx context.Context) (time.Duration, error) {
			add, remove, err := run(ctx)
			res.add[i] = append(res.add[i], add)
			res.remove[i] = append(res.remove[i], remove)
			return add + remove, err
		}}
	}
	return cs
}

// prefillForwards creates the table through m with a forward on port 9999,
// then loads size-1 more with one nft script on the thread, on host ports
// from 10000 up.
func prefillForwards(ctx context.Context, m *firewall.Manager, thread *nsThread, size int) error {
	seed := firewall.Forward{HostPort: 9999, Guest: netip.MustParseAddrPort("172.16.0.3:9999")}
	if err := m.AddForward(ctx, seed); err != nil {
		return err
	}
	var script strings.Builder
	for start := 0; start < size-1; start += 1000 {
		script.WriteString("add element inet smolvm forwards { ")
		for i := start; i < min(start+1000, size-1); i++ {
			if i > start {
				script.WriteString(", ")
			}
			fmt.Fprintf(&script, "%d : 172.17.%d.%d . 80", 10000+i, i/250, 1+i%250)
		}
		script.WriteString(" }\n")
	}
	if script.Len() == 0 {
		return nil
	}
	return thread.do(func() error { return runNft(ctx, script.String()) })
}

// runNft runs `nft -f -` with script on stdin, in the namespace of the
// calling thread.
func runNft(ctx context.Context, script string) error {
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f -: %w: %s", err, out)
	}
	return nil
}

func renderForwards(s *Section, results []forwardResult) {
	t := Table{Header: []string{"installed", "path", "add median", "add p90", "remove median", "remove p90",
		"÷ ours, add / remove", "goal"}}
	for _, res := range results {
		oursAdd, oursRemove := summarize(res.add[0]), summarize(res.remove[0])
		for i, name := range forwardNames {
			add, remove := summarize(res.add[i]), summarize(res.remove[i])
			row := []string{formatCount(res.size), name, formatDuration(add.Median), formatDuration(add.P90),
				formatDuration(remove.Median), formatDuration(remove.P90), "", ""}
			if i > 0 {
				row[6] = formatRatio(ratio(add.Median, oursAdd.Median)) + " / " + formatRatio(ratio(remove.Median, oursRemove.Median))
				t.Rows = append(t.Rows, row)
				continue
			}
			met := add.Median <= forwardGoal && remove.Median <= forwardGoal
			row[7] = fmt.Sprintf("≤ %s each: %s", formatDuration(forwardGoal), verdict(met))
			s.addGoal(fmt.Sprintf("port-forward add and remove ≤ %s each, %s installed", formatDuration(forwardGoal), formatCount(res.size)),
				fmt.Sprintf("%s add, %s remove (medians)", formatDuration(add.Median), formatDuration(remove.Median)), met)
			t.Rows = append(t.Rows, row)
		}
	}
	s.Tables = append(s.Tables, t)

	first, last := results[0], results[len(results)-1]
	growth := max(ratio(summarize(last.add[0]).Median, summarize(first.add[0]).Median),
		ratio(summarize(last.remove[0]).Median, summarize(first.remove[0]).Median))
	s.addGoal(fmt.Sprintf("port-forward add and remove flat from %s to %s installed (median within %.2f×)",
		formatCount(first.size), formatCount(last.size), flatLimit),
		formatRatio(growth)+" (the larger of add and remove)", growth <= flatLimit)
}
