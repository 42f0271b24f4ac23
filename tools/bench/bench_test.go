package main

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"odd", []time.Duration{5, 1, 3}, 3},
		{"even", []time.Duration{4, 1, 3, 2}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseGoBench(t *testing.T) {
	out := "goos: linux\nBenchmarkDecideHealthy-2   \t49260396\t        26.13 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkLoad-2 7442 40926 ns/op 18292 B/op 281 allocs/op\nPASS\n"
	got := parseGoBench(out)
	if g := got["BenchmarkDecideHealthy"]; g.nsPerOp != 26.13 || g.allocsOp != 0 {
		t.Errorf("DecideHealthy = %+v", g)
	}
	if g := got["BenchmarkLoad"]; g.nsPerOp != 40926 || g.bPerOp != 18292 || g.allocsOp != 281 {
		t.Errorf("Load = %+v", g)
	}
	if len(got) != 2 {
		t.Errorf("parsed %d benchmarks, want 2: %v", len(got), got)
	}
}

func TestParseInittrace(t *testing.T) {
	out := "init runtime @0.026 ms, 0.05 ms clock, 0 bytes, 0 allocs\n" +
		"init extcloud-failover/internal/config @7.6 ms, 1.0 ms clock, 313728 bytes, 4064 allocs\n" +
		"extcloud-failover: configuration ok\n"
	total, per := parseInittrace(out)
	if total < 1.049 || total > 1.051 || per["extcloud-failover/internal/config"] != 1.0 {
		t.Errorf("parseInittrace = %v, %v; want 1.05 total, config 1.0", total, per)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 14000: "14,000", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}
