package check

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

var (
	t0     = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	policy = Policy{Threshold: 4 * time.Minute, MinInterval: 10 * time.Minute, MaxGap: 90 * time.Second,
		RecoveryProbes: 3, FailbackAfter: 30 * time.Minute, Primary: "NAM", Budget: 3, MaxSkew: 30 * time.Second}
	testRegions = []string{"NAM", "EU", "APAC"}
)

// see builds an observation of NAM, EU and APAC from one character each:
// '+' healthy, '-' down.
func see(marks string) Observation {
	obs := Observation{Regions: make([]RegionResult, len(testRegions))}
	for i, r := range testRegions {
		obs.Regions[i] = RegionResult{Region: r, Cloud: strings.ToLower(r) + ".example.com", Healthy: marks[i] == '+'}
	}
	return obs
}

// steady returns the per-region health of regions that have shown marks
// (as in see) for long enough: since t0-1h, streaks at the cap.
func steady(marks string) map[string]state.RegionHealth {
	m := map[string]state.RegionHealth{}
	for i, r := range testRegions {
		m[r] = state.RegionHealth{Healthy: marks[i] == '+', Since: t0.Add(-time.Hour), Streak: policy.RecoveryProbes}
	}
	return m
}

func with(m map[string]state.RegionHealth, region string, h state.RegionHealth) map[string]state.RegionHealth {
	m[region] = h
	return m
}

func TestDecide(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// NAM has been failing since t0, last probed at 230 s; EU and APAC are up.
	outage := state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(230), Regions: steady("-++")}
	onEU := state.State{ActiveRegion: "EU", Generation: 1, LastFailoverAt: at(-3600), Regions: steady("+++")}
	tests := []struct {
		name       string
		s          state.State
		obs        Observation
		now        time.Time
		p          func(*Policy)
		wantAction Action
		wantWrite  bool
		check      func(t *testing.T, d Decision)
	}{
		{
			name: "healthy steady state writes nothing",
			s:    state.State{ActiveRegion: "NAM", Regions: steady("+++")}, obs: see("+++"), now: t0,
			wantAction: ActionNone,
		},
		{
			name: "a fleet that has always been healthy never writes, from the first run on",
			s:    state.State{ActiveRegion: "NAM"}, obs: see("+++"), now: t0,
			wantAction: ActionNone,
		},
		{
			name: "on a backup region with FAILBACK=primary, the primary's health is recorded for its Since",
			s:    state.State{ActiveRegion: "EU", Generation: 1}, obs: see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if h := d.State.Regions["NAM"]; len(d.State.Regions) != 1 || !h.Healthy || !h.Since.Equal(t0) {
					t.Errorf("regions %+v, want NAM healthy since t0 only", d.State.Regions)
				}
			},
		},
		{
			name: "the first observation records the regions seen down",
			s:    state.State{ActiveRegion: "NAM"}, obs: see("++-"), now: t0,
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				want := map[string]state.RegionHealth{"APAC": {Since: t0, Streak: 1}}
				if !reflect.DeepEqual(d.State.Regions, want) {
					t.Errorf("regions = %+v, want %+v", d.State.Regions, want)
				}
			},
		},
		{
			name: "a streak grows to RECOVERY_PROBES and no further",
			s:    state.State{ActiveRegion: "NAM", Regions: with(steady("+++"), "EU", state.RegionHealth{Healthy: true, Since: at(-20), Streak: 2})},
			obs:  see("+++"), now: t0, wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if h := d.State.Regions["EU"]; h.Streak != 3 || !h.Since.Equal(at(-20)) {
					t.Errorf("EU = %+v, want streak 3 since -20s", h)
				}
			},
		},
		{
			name: "a flip starts a new streak",
			s:    state.State{ActiveRegion: "NAM", Regions: steady("+++")}, obs: see("++-"), now: t0,
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if h := d.State.Regions["APAC"]; h.Healthy || h.Streak != 1 || !h.Since.Equal(t0) {
					t.Errorf("APAC = %+v", h)
				}
			},
		},
		{
			name: "first failure starts the clock",
			s:    state.State{ActiveRegion: "NAM", Regions: steady("+++")}, obs: see("-++"), now: t0,
			wantAction: ActionOutageStarted, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.Equal(t0) || !d.State.LastProbeAt.Equal(t0) {
					t.Errorf("outage clock = %v/%v, want %v", d.State.OutageStartedAt, d.State.LastProbeAt, t0)
				}
			},
		},
		{
			name: "failure below threshold advances the clock only",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(100), Regions: steady("-++")},
			obs:  see("-++"), now: at(110),
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.Outage != 110*time.Second || !d.State.LastProbeAt.Equal(at(110)) || d.Reason != "outage below FAILOVER_THRESHOLD" {
					t.Errorf("outage %v last probe %v reason %q", d.Outage, d.State.LastProbeAt, d.Reason)
				}
			},
		},
		{
			name: "a healthy probe inside an outage keeps its start: recovering (1/3)",
			s:    outage, obs: see("+++"), now: at(240),
			wantAction: ActionRecovering, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.Equal(t0) || d.Reason != "recovering (1/3)" || d.Recovering != 1 || d.Outage != 240*time.Second {
					t.Errorf("start %v reason %q recovering %d outage %v", d.State.OutageStartedAt, d.Reason, d.Recovering, d.Outage)
				}
			},
		},
		{
			name: "the third healthy probe in a row ends the outage, which lasted until the first",
			s: state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(250),
				Regions: with(steady("-++"), "NAM", state.RegionHealth{Healthy: true, Since: at(240), Streak: 2})},
			obs: see("+++"), now: at(260),
			wantAction: ActionRecovered, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.IsZero() || !d.State.LastProbeAt.IsZero() || d.Outage != 240*time.Second {
					t.Errorf("state %+v outage %v", d.State, d.Outage)
				}
			},
		},
		{
			name: "a failure during recovery keeps the outage and its start",
			s: state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(250),
				Regions: with(steady("-++"), "NAM", state.RegionHealth{Healthy: true, Since: at(240), Streak: 2})},
			obs: see("-++"), now: at(260),
			wantAction: ActionFailover, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.Outage != 260*time.Second || d.To != "EU" {
					t.Errorf("outage %v to %q", d.Outage, d.To)
				}
			},
		},
		{
			name: "a gap within OUTAGE_MAX_GAP (a once-a-minute run) keeps the clock",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(60), Regions: steady("-++")},
			obs:  see("-++"), now: at(120),
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.Outage != 120*time.Second || d.Gap != 0 {
					t.Errorf("outage %v gap %v", d.Outage, d.Gap)
				}
			},
		},
		{
			name: "a gap longer than OUTAGE_MAX_GAP restarts the clock and says so",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(10), Regions: steady("-++")},
			obs:  see("-++"), now: at(300),
			wantAction: ActionOutageStarted, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.Equal(at(300)) || d.Gap != 290*time.Second ||
					d.Reason != "outage clock restarted after 4m50s without probes (longer than OUTAGE_MAX_GAP 1m30s)" {
					t.Errorf("start %v gap %v reason %q", d.State.OutageStartedAt, d.Gap, d.Reason)
				}
			},
		},
		{
			name: "a healthy probe after a long gap drops the outage",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(30), Regions: steady("-++")},
			obs:  see("+++"), now: at(3600),
			wantAction: ActionRecovered, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if !d.State.OutageStartedAt.IsZero() || d.Gap == 0 || !strings.Contains(d.Reason, "OUTAGE_MAX_GAP") {
					t.Errorf("state %+v gap %v reason %q", d.State, d.Gap, d.Reason)
				}
			},
		},
		{
			name: "inconclusive neither starts nor advances the clock, nor learns region health",
			s:    state.State{ActiveRegion: "NAM", Regions: steady("+++")}, obs: Observation{Regions: see("---").Regions, Inconclusive: true}, now: t0,
			wantAction: ActionInconclusive,
		},
		{
			name: "past threshold fails over to the first stably healthy region, skipping a down one, and records it",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(230), Regions: steady("--+")},
			obs:  see("--+"), now: at(240), wantAction: ActionFailover, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				s := d.State
				if s.ActiveRegion != "APAC" || s.Generation != 1 || s.PreviousRegion != "NAM" || s.Pending == nil ||
					s.Pending.Region != "APAC" || s.Pending.Cloud != "apac.example.com" || s.Pending.Generation != 1 || !s.OutageStartedAt.IsZero() {
					t.Errorf("state after failover = %+v (pending %+v)", s, s.Pending)
				}
				want := []state.Event{{At: at(240), Kind: state.EventFailover, From: "NAM", To: "APAC", Generation: 1,
					Reason: "NAM down for 4m0s (FAILOVER_THRESHOLD 4m0s)"}}
				if !reflect.DeepEqual(s.History, want) || d.Reason != want[0].Reason {
					t.Errorf("history %+v reason %q", s.History, d.Reason)
				}
			},
		},
		{
			name: "a candidate healthy for fewer than RECOVERY_PROBES probes is passed over",
			s: state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(230),
				Regions: with(steady("-++"), "EU", state.RegionHealth{Healthy: true, Since: at(230), Streak: 1})},
			obs: see("-++"), now: at(240), wantAction: ActionFailover, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.To != "APAC" || d.State.Regions["EU"].Streak != 2 {
					t.Errorf("to %q, EU %+v: want APAC while EU is at 2/3", d.To, d.State.Regions["EU"])
				}
			},
		},
		{
			name: "without history a candidate passes on its pre-flight",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(230)},
			obs:  see("-++"), now: at(240), wantAction: ActionFailover, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.To != "EU" {
					t.Errorf("to %q, want EU", d.To)
				}
			},
		},
		{
			name: "no healthy candidate stays and says all regions unavailable",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: t0, LastProbeAt: at(230), Regions: steady("---")},
			obs:  see("---"), now: at(240), wantAction: ActionAllDown, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.State.ActiveRegion != "NAM" || d.State.Generation != 0 || d.Reason != "all regions unavailable" {
					t.Errorf("state %+v reason %q", d.State, d.Reason)
				}
			},
		},
		{
			name: "within the minimum interval of the last switch stays",
			s: state.State{ActiveRegion: "EU", Generation: 1, LastFailoverAt: t0, OutageStartedAt: at(60),
				LastProbeAt: at(350), Regions: steady("+-+")},
			obs: see("+-+"), now: at(360),
			wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.State.ActiveRegion != "EU" || d.Reason != "last switch within FAILOVER_MIN_INTERVAL" {
					t.Errorf("state %+v reason %q", d.State, d.Reason)
				}
			},
		},
		{
			name: "a spent budget holds the failover and lists the switches that spent it",
			s: func() state.State {
				s := outage
				for i, h := range []int{-20, -10, -5} {
					s = s.Record(state.Event{At: t0.Add(time.Duration(h) * time.Hour), Kind: state.EventFailover, Generation: int64(i + 1)})
				}
				return s.Record(state.Event{At: t0.Add(-2 * time.Hour), Kind: state.EventForced, Generation: 4})
			}(),
			obs: see("-++"), now: at(240), wantAction: ActionBudgetExhausted, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.State.ActiveRegion != "NAM" || len(d.Budget) != 3 || d.Budget[0].Generation != 1 ||
					d.Reason != "FAILOVER_BUDGET used: 3 automatic switches in the last 24h0m0s" {
					t.Errorf("region %s budget %+v reason %q", d.State.ActiveRegion, d.Budget, d.Reason)
				}
			},
		},
		{
			name: "the budget counts only the last 24 hours",
			s: func() state.State {
				s := outage
				for i, h := range []int{-25, -10, -5} {
					s = s.Record(state.Event{At: t0.Add(time.Duration(h) * time.Hour), Kind: state.EventFailback, Generation: int64(i + 1)})
				}
				return s
			}(),
			obs: see("-++"), now: at(240), wantAction: ActionFailover, wantWrite: true,
		},
		{
			name: "a resume restores the budget",
			s: func() state.State {
				s := outage
				for i, h := range []int{-20, -10, -5} {
					s = s.Record(state.Event{At: t0.Add(time.Duration(h) * time.Hour), Kind: state.EventFailover, Generation: int64(i + 1)})
				}
				return s.Record(state.Event{At: t0.Add(-time.Hour), Kind: state.EventResume})
			}(),
			obs: see("-++"), now: at(240), wantAction: ActionFailover, wantWrite: true,
		},
		{
			name: "FAILBACK=off stays on the backup region",
			s:    onEU, obs: see("+++"), now: t0, wantAction: ActionNone,
		},
		{
			name: "FAILBACK=primary returns once the primary has been healthy for FAILBACK_AFTER",
			s:    onEU, obs: see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionFailback, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				s := d.State
				if s.ActiveRegion != "NAM" || s.Generation != 2 || s.Pending == nil || s.Pending.Cloud != "nam.example.com" ||
					len(s.History) != 1 || s.History[0].Kind != state.EventFailback || d.Reason != "primary NAM healthy for 1h0m0s (FAILBACK_AFTER 30m0s)" {
					t.Errorf("state %+v history %+v reason %q", s, s.History, d.Reason)
				}
			},
		},
		{
			name: "no failback before FAILBACK_AFTER of the primary's health",
			s:    state.State{ActiveRegion: "EU", Generation: 1, Regions: with(steady("+++"), "NAM", state.RegionHealth{Healthy: true, Since: at(-1790), Streak: 3})},
			obs:  see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionNone,
		},
		{
			name: "no failback while the active region is in an outage",
			s: state.State{ActiveRegion: "EU", Generation: 1, OutageStartedAt: at(-20), LastProbeAt: at(-10),
				Regions: with(steady("++-"), "EU", state.RegionHealth{Healthy: true, Since: at(-10), Streak: 1})},
			obs: see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionRecovering, wantWrite: true,
		},
		{
			name: "no failback within FAILOVER_MIN_INTERVAL of the last switch",
			s:    state.State{ActiveRegion: "EU", Generation: 1, LastFailoverAt: at(-300), Regions: steady("+++")},
			obs:  see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionNone,
		},
		{
			name: "a failback is a switch: the budget holds it too",
			s: func() state.State {
				s := onEU
				for i := range 3 {
					s = s.Record(state.Event{At: t0.Add(-time.Duration(3+i) * time.Hour), Kind: state.EventFailover})
				}
				return s
			}(),
			obs: see("+++"), now: t0, p: func(p *Policy) { p.FailbackPrimary = true },
			wantAction: ActionBudgetExhausted,
		},
		{
			name: "times further than CHECK_TIMEOUT ahead count as now, and say which",
			s: state.State{ActiveRegion: "NAM", OutageStartedAt: t0.Add(3 * time.Hour), LastProbeAt: t0.Add(3 * time.Hour),
				LastFailoverAt: t0.Add(3 * time.Hour), Regions: with(steady("-++"), "EU", state.RegionHealth{Healthy: true, Since: t0.Add(3 * time.Hour), Streak: 3}),
				History: []state.Event{{At: t0.Add(-time.Hour), Kind: state.EventFailover}, {At: t0.Add(3 * time.Hour), Kind: state.EventFailover}}},
			obs: see("-++"), now: t0, wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				want := []string{"outage_started_at", "last_probe_at", "last_failover_at", "regions.EU.since", "history[1].at"}
				s := d.State
				if !reflect.DeepEqual(d.Skewed, want) || !s.OutageStartedAt.Equal(t0) || !s.LastFailoverAt.Equal(t0) ||
					!s.Regions["EU"].Since.Equal(t0) || !s.History[1].At.Equal(t0) || !s.History[0].At.Equal(t0.Add(-time.Hour)) {
					t.Errorf("skewed %v, state %+v", d.Skewed, s)
				}
			},
		},
		{
			name: "a time less than CHECK_TIMEOUT ahead is kept",
			s:    state.State{ActiveRegion: "NAM", OutageStartedAt: at(20), LastProbeAt: at(20), Regions: steady("-++")},
			obs:  see("-++"), now: t0, wantAction: ActionNone, wantWrite: true,
			check: func(t *testing.T, d Decision) {
				if d.Skewed != nil || !d.State.OutageStartedAt.Equal(at(20)) || d.Outage != 0 {
					t.Errorf("skewed %v start %v outage %v", d.Skewed, d.State.OutageStartedAt, d.Outage)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if tt.p != nil {
				tt.p(&p)
			}
			before := cloneState(tt.s)
			d := Decide(tt.s, tt.obs, tt.now, p)
			if d.Action != tt.wantAction || d.Write != tt.wantWrite {
				t.Fatalf("Decide = action %q write %v (reason %q), want %q write %v", d.Action, d.Write, d.Reason, tt.wantAction, tt.wantWrite)
			}
			if !d.Write && !reflect.DeepEqual(d.State, tt.s) {
				t.Errorf("no write, but state changed: %+v -> %+v", tt.s, d.State)
			}
			if !reflect.DeepEqual(before, tt.s) {
				t.Errorf("Decide modified its input: %+v -> %+v", before, tt.s)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// cloneState deep-copies what Decide must not modify.
func cloneState(s state.State) state.State {
	c := s
	if s.Regions != nil {
		c.Regions = map[string]state.RegionHealth{}
		for k, v := range s.Regions {
			c.Regions[k] = v
		}
	}
	c.History = append([]state.Event(nil), s.History...)
	if s.History == nil {
		c.History = nil
	}
	return c
}

func TestFailbackDue(t *testing.T) {
	p := policy
	p.FailbackPrimary = true
	s := state.State{ActiveRegion: "EU", LastFailoverAt: t0, Regions: with(steady("++-"), "NAM", state.RegionHealth{Healthy: true, Since: t0.Add(time.Minute)})}
	if due, ok := FailbackDue(s, p); !ok || !due.Equal(t0.Add(31*time.Minute)) {
		t.Errorf("FailbackDue = %v, %v; want 30m after the primary came back", due, ok)
	}
	p.FailbackAfter = time.Minute
	if due, ok := FailbackDue(s, p); !ok || !due.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("FailbackDue = %v, %v; want FAILOVER_MIN_INTERVAL after the last switch", due, ok)
	}
	s.Regions["NAM"] = state.RegionHealth{Since: t0}
	if _, ok := FailbackDue(s, p); ok {
		t.Error("a failback is due to a primary that is down")
	}
	p.FailbackPrimary = false
	s.Regions = steady("+++")
	if _, ok := FailbackDue(s, p); ok {
		t.Error("a failback is due with FAILBACK=off")
	}
}

func TestClaim(t *testing.T) {
	const horizon = 30 * time.Second
	s := state.State{Pending: &state.Pending{Generation: 2, ClaimedUntil: t0.Add(30 * time.Second)}}
	if _, ok := Claim(s, t0, t0.Add(time.Minute), horizon); ok {
		t.Fatal("claimed a push whose claim has not expired")
	}
	c, ok := Claim(s, t0.Add(30*time.Second), t0.Add(50*time.Second), horizon)
	if !ok || !c.Pending.ClaimedUntil.Equal(t0.Add(50*time.Second)) || c.Pending.Attempts != 1 {
		t.Fatalf("Claim after expiry = %+v, %v", c.Pending, ok)
	}
	if !s.Pending.ClaimedUntil.Equal(t0.Add(30 * time.Second)) {
		t.Error("Claim modified its input")
	}
	if _, ok := Claim(state.State{}, t0, t0, horizon); ok {
		t.Error("claimed with nothing pending")
	}
	skewed := state.State{Pending: &state.Pending{Generation: 2, ClaimedUntil: t0.Add(3 * time.Hour)}}
	c, ok = Claim(skewed, t0, t0.Add(time.Hour), horizon)
	if !ok || !c.Pending.ClaimedUntil.Equal(t0.Add(horizon)) {
		t.Errorf("Claim of a claim 3h ahead = %+v, %v; want it free, and the new claim within the horizon", c.Pending, ok)
	}
}
