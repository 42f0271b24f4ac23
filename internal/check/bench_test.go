package check

import (
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

// sinkDecision keeps the compiler from discarding benchmarked work.
var sinkDecision Decision

// TestDecideHealthyAllocationFree pins the healthy path, run every 10
// seconds forever, to zero allocations.
func TestDecideHealthyAllocationFree(t *testing.T) {
	tests := []struct {
		name string
		s    state.State
		obs  Observation
	}{
		{"healthy", state.State{ActiveRegion: "NAM", Generation: 3, Version: 9}, Observation{Healthy: true}},
		{"healthy with a pending push", state.State{ActiveRegion: "EU", Generation: 4, Version: 12,
			Pending: &state.Pending{Generation: 4, Region: "EU", Cloud: "eu.example.com", Hosts: []string{"a", "b"}}}, Observation{Healthy: true}},
		{"failing below the threshold", state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(50 * time.Second)}, Observation{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(time.Minute)
			if n := testing.AllocsPerRun(100, func() { sinkDecision = Decide(tc.s, tc.obs, now, policy) }); n != 0 {
				t.Errorf("Decide allocates %v times per call, want 0", n)
			}
		})
	}
}

func BenchmarkDecideOutage(b *testing.B) {
	s := state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(50 * time.Second)}
	now := t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		sinkDecision = Decide(s, Observation{}, now, policy)
	}
	if sinkDecision.Action != ActionNone || !sinkDecision.Write {
		b.Fatalf("decision %+v, want a write below the threshold", sinkDecision)
	}
}

// BenchmarkDecideBaselineCopy is the least any Decide can do: copy the
// state into a Decision. BenchmarkDecideHealthy is compared with it.
func BenchmarkDecideBaselineCopy(b *testing.B) {
	s := state.State{ActiveRegion: "NAM", Generation: 3, Version: 9}
	b.ReportAllocs()
	for b.Loop() {
		sinkDecision = Decision{State: s, Action: ActionNone}
	}
}
