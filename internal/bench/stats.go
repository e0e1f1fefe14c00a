package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Summary describes one set of timed samples.
type Summary struct {
	N      int
	Median time.Duration
	// P90 is the 90th percentile by nearest rank, so with fewer than ten
	// samples it is the maximum.
	P90 time.Duration
	Max time.Duration
}

// summarize computes the summary of samples. It does not modify samples.
func summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{N: len(s), Median: median(s), P90: s[nearestRank(len(s), 0.9)], Max: s[len(s)-1]}
}

// median returns the median of the sorted samples s, the mean of the two
// middle ones for an even count.
func median(s []time.Duration) time.Duration {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// nearestRank returns the index of the p quantile (0 < p <= 1) of n sorted
// samples by the nearest-rank method.
func nearestRank(n int, p float64) int {
	i := int(math.Ceil(p*float64(n))) - 1
	return max(0, min(i, n-1))
}

// ratio returns a / b, or NaN when b is zero.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// formatDuration prints d with three significant digits in the unit that
// suits it: 842 µs, 1.23 ms, 16.4 ms, 1.52 s.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	}
	return sig3(d.Seconds()) + " s"
}

// formatRatio prints r as a factor: 1.03×, 16.2×, 540×.
func formatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "n/a"
	}
	return sig3(r) + "×"
}

// sig3 prints v with three significant digits, and without a fraction from
// 100 up.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// formatBytes prints n bytes in KiB or MiB with three significant digits.
func formatBytes(n int64) string {
	sign := ""
	if n == 0 {
		return "0"
	}
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n < 1<<20:
		return sign + sig3(float64(n)/(1<<10)) + " KiB"
	case n < 1<<30:
		return sign + sig3(float64(n)/(1<<20)) + " MiB"
	}
	return sign + sig3(float64(n)/(1<<30)) + " GiB"
}

// formatCount prints n with thousands separators: 1,000 and 10,000.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural returns "1 sample" or "n samples".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%s %ss", formatCount(n), noun)
}

// capitalize upper-cases the first byte of an ASCII sentence.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
