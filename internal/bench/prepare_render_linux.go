package bench

import (
	"fmt"
	"time"
)

// renderPrepare fills the section's tables and goals from the results, one
// per size in increasing order.
func renderPrepare(s *Section, results []prepareResult) {
	for _, res := range results {
		s.Tables = append(s.Tables, preparePerSize(s, res))
	}
	s.Tables = append(s.Tables, prepareFlatness(s, results))
	s.Tables = append(s.Tables, prepareSteps(results), prepareSplit(results))

	floor := summarize(results[0].samples[prepFloor]).Median
	relation := "above"
	if floor > prepareGoal {
		relation = "below"
	}
	s.Notes = append(s.Notes, fmt.Sprintf(
		"With no TAPs present the floor takes %s, so the %s goal is %s what the kernel calls alone cost on this machine. "+
			"A library prepare adds to the floor the lookups that make it idempotent and safe "+
			"(the device's kind, owner and mark before it creates, the addresses before it flushes), "+
			"and with `Options.Netns` the two hops into the namespace, for `/dev/net/tun` and for `/proc/sys`. "+
			"The last table shows how that cost falls on the public calls.",
		formatDuration(floor), formatDuration(prepareGoal), relation))
	if len(results) > 1 {
		s.Notes = append(s.Notes, splitGrowth(results[0], results[len(results)-1]))
	}
}

// splitGrowth names the public call of the Options.Netns manager whose
// median grew the most from the first size to the last.
func splitGrowth(first, last prepareResult) string {
	var (
		worst        string
		from, to     time.Duration
		largestDelta time.Duration
	)
	for _, name := range first.split[0].names {
		a, b := summarize(first.split[0].times[name]).Median, summarize(last.split[0].times[name]).Median
		if b-a > largestDelta || worst == "" {
			worst, from, to, largestDelta = name, a, b, b-a
		}
	}
	return fmt.Sprintf("From %s to %s TAPs present, the call whose median grew the most on the `Options.Netns` manager is %s, "+
		"from %s to %s.", formatCount(first.size), formatCount(last.size), worst, formatDuration(from), formatDuration(to))
}

func preparePerSize(s *Section, res prepareResult) Table {
	ours := summarize(res.samples[prepNetns])
	shell := summarize(res.samples[prepShell])
	t := Table{
		Caption: fmt.Sprintf("**%s TAPs present**, %s per path:", formatCount(res.size), plural(ours.N, "sample")),
		Header:  []string{"path", "median", "p90", "median ÷ ours (`Options.Netns`)", "goal"},
	}
	for i := range prepareNames {
		sum := summarize(res.samples[i])
		row := []string{prepareNames[i], formatDuration(sum.Median), formatDuration(sum.P90), "", ""}
		if i != prepNetns {
			row[3] = formatRatio(ratio(sum.Median, ours.Median))
		}
		if i == prepNetns || i == prepInside {
			speedup := ratio(shell.Median, sum.Median)
			row[4] = fmt.Sprintf("≤ %s: %s; ≥ %.0f× the subprocesses (%s): %s",
				formatDuration(prepareGoal), verdict(sum.Median <= prepareGoal),
				prepareShellGoal, formatRatio(speedup), verdict(speedup >= prepareShellGoal))
		}
		t.Rows = append(t.Rows, row)
	}

	inside := summarize(res.samples[prepInside])
	at := fmt.Sprintf(", %s TAPs present", formatCount(res.size))
	s.addGoal("native prepare median ≤ "+formatDuration(prepareGoal)+at,
		fmt.Sprintf("%s (`Options.Netns`), %s (opened inside)", formatDuration(ours.Median), formatDuration(inside.Median)),
		ours.Median <= prepareGoal && inside.Median <= prepareGoal)
	netnsSpeedup, insideSpeedup := ratio(shell.Median, ours.Median), ratio(shell.Median, inside.Median)
	s.addGoal(fmt.Sprintf("native prepare ≥ %.0f× faster than `ip`/`sysctl` subprocesses%s", prepareShellGoal, at),
		fmt.Sprintf("%s (`Options.Netns`), %s (opened inside)", formatRatio(netnsSpeedup), formatRatio(insideSpeedup)),
		netnsSpeedup >= prepareShellGoal && insideSpeedup >= prepareShellGoal)
	return t
}

// prepareFlatness compares each path's median across the sizes.
func prepareFlatness(s *Section, results []prepareResult) Table {
	t := Table{Caption: fmt.Sprintf("Medians across sizes. The report calls a path flat when its median at the largest size "+
		"is at most %.2f times its median with no TAPs present.", flatLimit)}
	t.Header = []string{"path"}
	for _, res := range results {
		t.Header = append(t.Header, formatCount(res.size)+" TAPs")
	}
	t.Header = append(t.Header, "largest ÷ none", "flat")

	first, last := results[0], results[len(results)-1]
	var measured []string
	met := true
	for i, name := range prepareNames {
		row := []string{name}
		for _, res := range results {
			row = append(row, formatDuration(summarize(res.samples[i]).Median))
		}
		growth := ratio(summarize(last.samples[i]).Median, summarize(first.samples[i]).Median)
		row = append(row, formatRatio(growth), verdict(growth <= flatLimit))
		t.Rows = append(t.Rows, row)
		if i == prepNetns || i == prepInside {
			measured = append(measured, formatRatio(growth))
			met = met && growth <= flatLimit
		}
	}
	s.addGoal(fmt.Sprintf("native prepare flat from %s to %s TAPs present (median within %.2f×)",
		formatCount(first.size), formatCount(last.size), flatLimit),
		measured[0]+" (`Options.Netns`), "+measured[1]+" (opened inside)", met)
	return t
}

// prepareSteps breaks the floor down by kernel call.
func prepareSteps(results []prepareResult) Table {
	t := Table{Caption: "Where the floor's time goes, as the median of each step:"}
	t.Header = []string{"step"}
	for _, res := range results {
		t.Header = append(t.Header, formatCount(res.size)+" TAPs")
	}
	sums := make([]time.Duration, len(results))
	for _, name := range results[0].floor.names {
		row := []string{name}
		for j, res := range results {
			m := summarize(res.floor.times[name]).Median
			sums[j] += m
			row = append(row, formatDuration(m))
		}
		t.Rows = append(t.Rows, row)
	}
	sumRow := []string{"sum of the step medians"}
	for _, sum := range sums {
		sumRow = append(sumRow, formatDuration(sum))
	}
	t.Rows = append(t.Rows, sumRow)
	return t
}

// prepareSplit shows the medians of the public calls that PrepareTAP is
// made of, on both native managers.
func prepareSplit(results []prepareResult) Table {
	t := Table{Caption: "The two native managers with the prepare split into the public calls it is made of " +
		"(interleaved with the paths above; `ConfigureTAP` looks the device up once more than `PrepareTAP` does), medians:"}
	t.Header = []string{"call"}
	for _, res := range results {
		t.Header = append(t.Header, formatCount(res.size)+" TAPs, `Options.Netns`", formatCount(res.size)+" TAPs, inside")
	}
	sums := make([]time.Duration, 2*len(results))
	for _, name := range results[0].split[0].names {
		row := []string{name}
		for j, res := range results {
			for k, st := range res.split {
				m := summarize(st.times[name]).Median
				sums[2*j+k] += m
				row = append(row, formatDuration(m))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	sumRow := []string{"sum of the call medians"}
	for _, sum := range sums {
		sumRow = append(sumRow, formatDuration(sum))
	}
	t.Rows = append(t.Rows, sumRow)
	return t
}
