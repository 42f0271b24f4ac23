package check

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"extcloud-failover/internal/state"
)

var (
	t0     = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	policy = Policy{Threshold: 4 * time.Minute, MinInterval: 10 * time.Minute, ProbeInterval: 10 * time.Second}
)

func healthyCandidates(names ...string) []Candidate {
	var cs []Candidate
	for _, n := range names {
		cs = append(cs, Candidate{Region: n, Cloud: n + ".example.com", Healthy: true})
	}
	return cs
}

func TestDecide(t *testing.T) {
	outage := state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(230 * time.Second)}
	tests := []struct {
		name       string
		s          state.State
		obs        Observation
		now        time.Time
		wantAction Action
		wantWrite  bool
		check      func(t *testing.T, d Decision)
	}{
		{
			name: "healthy and no outage writes nothing",
			s:    state.State{ActiveRegion: "NAM"}, obs: Observation{Healthy: true}, now: t0,
			wantAction: ActionNone,
		},
		{
			name: "first failure starts the clock",
			s:    state.State{ActiveRegion: "NAM"}, obs: Observation{}, now: t0,
			wantAction: ActionOutageStarted, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.Equal(t0) || !d.State.LastProbeAt.Equal(t0) {
					t.Errorf("outage clock = %v/%v, want %v", d.State.OutageStartedAt, d.State.LastProbeAt, t0)
				}
			},
		},
		{
			name: "failure below threshold advances the clock only",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(100 * time.Second)},
			obs:  Observation{}, now: t0.Add(110 * time.Second),
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.Outage != 110*time.Second || !d.State.LastProbeAt.Equal(t0.Add(110*time.Second)) {
					t.Errorf("outage %v last probe %v", d.Outage, d.State.LastProbeAt)
				}
			},
		},
		{
			name: "recovery clears the outage and says how long",
			s:    outage, obs: Observation{Healthy: true}, now: t0.Add(240 * time.Second),
			wantAction: ActionRecovered, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.IsZero() || d.Outage != 230*time.Second {
					t.Errorf("state %+v outage %v", d.State, d.Outage)
				}
			},
		},
		{
			name: "a gap of more than three intervals restarts the clock",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: t0.Add(10 * time.Second)},
			obs:  Observation{}, now: t0.Add(300 * time.Second),
			wantAction: ActionOutageStarted, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.Equal(t0.Add(300 * time.Second)) {
					t.Errorf("outage start %v, want restarted", d.State.OutageStartedAt)
				}
			},
		},
		{
			name: "inconclusive neither starts nor advances the clock",
			s:    state.State{ActiveRegion: "NAM"}, obs: Observation{Inconclusive: true}, now: t0,
			wantAction: ActionInconclusive,
		},
		{
			name: "past threshold without candidates asks for a pre-flight",
			s:    outage, obs: Observation{}, now: t0.Add(240 * time.Second),
			wantAction: ActionPreflight,
		},
		{
			name: "past threshold fails over to the first healthy candidate, skipping a down one",
			s:    outage,
			obs:  Observation{Candidates: []Candidate{{Region: "EU", Cloud: "eu"}, {Region: "APAC", Cloud: "apac", Healthy: true}}},
			now:  t0.Add(240 * time.Second), wantAction: ActionFailover, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				s := d.State
				if s.ActiveRegion != "APAC" || s.Generation != 1 || s.PreviousRegion != "NAM" || s.Pending == nil ||
					s.Pending.Region != "APAC" || s.Pending.Cloud != "apac" || s.Pending.Generation != 1 || !s.OutageStartedAt.IsZero() {
					t.Errorf("state after failover = %+v (pending %+v)", s, s.Pending)
				}
			},
		},
		{
			name: "no healthy candidate stays and says all regions unavailable",
			s:    outage, obs: Observation{Candidates: []Candidate{{Region: "EU"}, {Region: "APAC"}}},
			now: t0.Add(240 * time.Second), wantAction: ActionAllDown, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.State.ActiveRegion != "NAM" || d.State.Generation != 0 || d.Reason != "all regions unavailable" {
					t.Errorf("state %+v reason %q", d.State, d.Reason)
				}
			},
		},
		{
			name: "within the minimum interval of the last failover stays",
			s: state.State{ActiveRegion: "EU", Generation: 1, LastFailoverAt: t0, OutageStartedAt: t0.Add(time.Minute),
				LastProbeAt: t0.Add(5*time.Minute + 50*time.Second)},
			obs: Observation{Candidates: healthyCandidates("APAC", "NAM")}, now: t0.Add(6 * time.Minute),
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.State.ActiveRegion != "EU" || d.Reason != "last failover within FAILOVER_MIN_INTERVAL" {
					t.Errorf("state %+v reason %q", d.State, d.Reason)
				}
			},
		},
		{
			name: "clock stepping backwards restarts the outage",
			s:    outage, obs: Observation{}, now: t0.Add(-time.Minute),
			wantAction: ActionOutageStarted, wantWrite: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.s, tt.obs, tt.now, policy)
			if d.Action != tt.wantAction || d.Write != tt.wantWrite {
				t.Fatalf("Decide = action %q write %v (reason %q), want %q write %v", d.Action, d.Write, d.Reason, tt.wantAction, tt.wantWrite)
			}
			if !d.Write && !stateEqual(d.State, tt.s) {
				t.Errorf("no write, but state changed: %+v -> %+v", tt.s, d.State)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func stateEqual(a, b state.State) bool {
	return a.ActiveRegion == b.ActiveRegion && a.Generation == b.Generation && a.OutageStartedAt.Equal(b.OutageStartedAt) &&
		a.LastProbeAt.Equal(b.LastProbeAt) && a.LastFailoverAt.Equal(b.LastFailoverAt) && a.Pending == b.Pending
}

func TestClaim(t *testing.T) {
	s := state.State{Pending: &state.Pending{Generation: 2, ClaimedUntil: t0.Add(30 * time.Second)}}
	if _, ok := Claim(s, t0, t0.Add(time.Minute)); ok {
		t.Fatal("claimed a push whose claim has not expired")
	}
	c, ok := Claim(s, t0.Add(30*time.Second), t0.Add(time.Minute))
	if !ok || !c.Pending.ClaimedUntil.Equal(t0.Add(time.Minute)) || c.Pending.Attempts != 1 {
		t.Fatalf("Claim after expiry = %+v, %v", c.Pending, ok)
	}
	if !s.Pending.ClaimedUntil.Equal(t0.Add(30 * time.Second)) {
		t.Error("Claim modified its input")
	}
	if _, ok := Claim(state.State{}, t0, t0); ok {
		t.Error("claimed with nothing pending")
	}
}

// TestDecideProperties drives Decide with random probe sequences and clock
// steps, the way Run does, and checks the promises of the design.
func TestDecideProperties(t *testing.T) {
	regions := []string{"NAM", "EU", "APAC"}
	rapid.Check(t, func(t *rapid.T) {
		p := Policy{
			Threshold:     time.Duration(rapid.IntRange(1, 300).Draw(t, "threshold_s")) * time.Second,
			MinInterval:   time.Duration(rapid.IntRange(0, 900).Draw(t, "min_interval_s")) * time.Second,
			ProbeInterval: 10 * time.Second,
		}
		s := state.State{ActiveRegion: "NAM"}
		now := t0
		var lastFailover time.Time
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			now = now.Add(time.Duration(rapid.IntRange(0, 45).Draw(t, "step_s")) * time.Second)
			obs := Observation{
				Healthy:      rapid.Float64Range(0, 1).Draw(t, "p") < 0.3,
				Inconclusive: rapid.Float64Range(0, 1).Draw(t, "q") < 0.1,
			}
			d := Decide(s, obs, now, p)
			if d.Action == ActionPreflight {
				if d.Write {
					t.Fatalf("pre-flight request writes state")
				}
				obs.Candidates = []Candidate{}
				for _, r := range regions {
					if r != s.ActiveRegion {
						obs.Candidates = append(obs.Candidates, Candidate{Region: r, Cloud: r, Healthy: rapid.Bool().Draw(t, "cand_"+r)})
					}
				}
				d = Decide(s, obs, now, p)
			}
			if d.Action == ActionPreflight {
				t.Fatalf("second Decide with candidates asked for a pre-flight again")
			}
			if obs.Inconclusive && !obs.Healthy && (d.Write || !stateEqual(d.State, s)) {
				t.Fatalf("inconclusive observation changed state: %+v -> %+v", s, d.State)
			}
			if d.Action == ActionFailover {
				if s.OutageStartedAt.IsZero() || now.Sub(s.OutageStartedAt) < p.Threshold {
					t.Fatalf("failover at %v with outage started %v: younger than threshold %v", now, s.OutageStartedAt, p.Threshold)
				}
				if !lastFailover.IsZero() && now.Sub(lastFailover) < p.MinInterval {
					t.Fatalf("failover %v after the last, min interval %v", now.Sub(lastFailover), p.MinInterval)
				}
				if d.State.Generation != s.Generation+1 {
					t.Fatalf("generation %d -> %d, want +1", s.Generation, d.State.Generation)
				}
				ok := false
				for _, c := range obs.Candidates {
					if c.Region == d.To && c.Healthy {
						ok = true
					}
				}
				if !ok || d.To == s.ActiveRegion {
					t.Fatalf("failover to %s, which did not pass its pre-flight (%+v)", d.To, obs.Candidates)
				}
				lastFailover = now
			} else if d.State.Generation != s.Generation || d.State.ActiveRegion != s.ActiveRegion {
				t.Fatalf("action %s changed region or generation", d.Action)
			}
			if d.Write {
				s = d.State
				s.Pending = nil // the push converged
			}
		}
	})
}

func BenchmarkDecideHealthy(b *testing.B) {
	s := state.State{ActiveRegion: "NAM", Generation: 3, Version: 9}
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(s, Observation{Healthy: true}, t0, policy)
		if d.Write {
			b.Fatal("healthy decision writes")
		}
	}
}
