package check

import (
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

// sinkDecision keeps the compiler from discarding benchmarked work.
var sinkDecision Decision

// TestDecideHealthyAllocationFree pins the steady paths, run every 10
// seconds forever, to zero allocations.
func TestDecideHealthyAllocationFree(t *testing.T) {
	tests := []struct {
		name string
		s    state.State
		obs  Observation
	}{
		{"healthy", state.State{ActiveRegion: "NAM", Generation: 3, Version: 9, Regions: steady("+++")}, see("+++")},
		{"healthy with a pending push", state.State{ActiveRegion: "EU", Generation: 4, Version: 12, Regions: steady("+++"),
			Pending: &state.Pending{Generation: 4, Region: "EU", Cloud: "eu.example.com", Hosts: []string{"a", "b"}}}, see("+++")},
		{"failing below the threshold", state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(50 * time.Second), Regions: steady("-++")}, see("-++")},
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

func BenchmarkDecideHealthy(b *testing.B) {
	s := state.State{ActiveRegion: "NAM", Generation: 3, Version: 9, Regions: steady("+++")}
	obs := see("+++")
	b.ReportAllocs()
	for b.Loop() {
		sinkDecision = Decide(s, obs, t0, policy)
	}
	if sinkDecision.Write {
		b.Fatal("healthy decision writes")
	}
}

func BenchmarkDecideOutage(b *testing.B) {
	s := state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(50 * time.Second), Regions: steady("-++")}
	obs := see("-++")
	now := t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		sinkDecision = Decide(s, obs, now, policy)
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
