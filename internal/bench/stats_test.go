package bench

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []time.Duration
		want    Summary
	}{
		{"none", nil, Summary{}},
		{"one", []time.Duration{3 * ms}, Summary{N: 1, Median: 3 * ms, P90: 3 * ms, Max: 3 * ms}},
		{"odd count", []time.Duration{5 * ms, 1 * ms, 3 * ms}, Summary{N: 3, Median: 3 * ms, P90: 5 * ms, Max: 5 * ms}},
		{"even count", []time.Duration{4 * ms, 1 * ms, 2 * ms, 3 * ms}, Summary{N: 4, Median: 2500 * time.Microsecond, P90: 4 * ms, Max: 4 * ms}},
		{"ten", []time.Duration{10 * ms, 9 * ms, 8 * ms, 7 * ms, 6 * ms, 5 * ms, 4 * ms, 3 * ms, 2 * ms, 1 * ms},
			Summary{N: 10, Median: 5500 * time.Microsecond, P90: 9 * ms, Max: 10 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(tt.samples)); diff != "" {
				t.Errorf("summarize(%v) (-want +got):\n%s", tt.samples, diff)
			}
		})
	}
}

func TestSummarizeKeepsSampleOrder(t *testing.T) {
	samples := []time.Duration{3, 1, 2}
	summarize(samples)
	if diff := cmp.Diff([]time.Duration{3, 1, 2}, samples); diff != "" {
		t.Errorf("summarize changed its input (-want +got):\n%s", diff)
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatDuration(842 * time.Microsecond), "842 µs"},
		{formatDuration(40900 * time.Nanosecond), "40.9 µs"},
		{formatDuration(1234 * time.Microsecond), "1.23 ms"},
		{formatDuration(16400 * time.Microsecond), "16.4 ms"},
		{formatDuration(1520 * time.Millisecond), "1.52 s"},
		{formatRatio(1.034), "1.03×"},
		{formatRatio(540.4), "540×"},
		{formatRatio(math.NaN()), "n/a"},
		{formatBytes(0), "0"},
		{formatBytes(512), "0.50 KiB"},
		{formatBytes(9_600_000), "9.16 MiB"},
		{formatBytes(-3 << 20), "-3.00 MiB"},
		{formatBytes(1 << 30), "1.00 GiB"},
		{formatCount(0), "0"},
		{formatCount(999), "999"},
		{formatCount(1000), "1,000"},
		{formatCount(10000), "10,000"},
		{formatCount(-1234567), "-1,234,567"},
		{plural(1, "sample"), "1 sample"},
		{plural(200, "sample"), "200 samples"},
		{capitalize("3 samples"), "3 samples"},
		{capitalize("one sample"), "One sample"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestRatioOfZero(t *testing.T) {
	if r := ratio(time.Second, 0); !math.IsNaN(r) {
		t.Errorf("ratio(1s, 0) = %v, want NaN", r)
	}
}
