package check

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"extcloud-failover/internal/state"
)

// seenProbe is one conclusive probe of a region, as the model remembers it.
type seenProbe struct {
	at      time.Time
	healthy bool
}

// model is an independent record of what Decide was shown, against which
// each of its switches is checked.
type model struct {
	p        Policy
	seen     map[string][]seenProbe // conclusive probes per region, since the start
	active   []seenProbe            // conclusive probes of the active region since the last switch
	switches []time.Time            // automatic switches
}

// outageAge returns how long the active region has failed continuously as
// the rules define it, judged from its probes since the last switch: back
// from the current probe, until RecoveryProbes healthy probes in a row or a
// gap longer than MaxGap.
func (m *model) outageAge(now time.Time) (time.Duration, bool) {
	run, found := 0, false
	var earliest time.Time
	for j := len(m.active) - 1; j >= 0; j-- {
		if j < len(m.active)-1 && m.active[j+1].at.Sub(m.active[j].at) > m.p.MaxGap {
			break
		}
		if m.active[j].healthy {
			if run++; run >= m.p.recoveryProbes() {
				break
			}
			continue
		}
		run, earliest, found = 0, m.active[j].at, true
	}
	return now.Sub(earliest), found
}

// stablyHealthy reports whether region's last RecoveryProbes conclusive
// probes (including the current one) were healthy, or, for a region never
// seen down, whether the current one was (the pre-flight decides).
func (m *model) stablyHealthy(region string) bool {
	ps := m.seen[region]
	if !slices.ContainsFunc(ps, func(p seenProbe) bool { return !p.healthy }) {
		return len(ps) > 0
	}
	if len(ps) < m.p.recoveryProbes() {
		return false
	}
	for _, pr := range ps[len(ps)-m.p.recoveryProbes():] {
		if !pr.healthy {
			return false
		}
	}
	return true
}

// healthySince returns the first probe of region's current healthy run.
func (m *model) healthySince(region string) (time.Time, bool) {
	ps := m.seen[region]
	if len(ps) == 0 || !ps[len(ps)-1].healthy {
		return time.Time{}, false
	}
	i := len(ps) - 1
	for i > 0 && ps[i-1].healthy {
		i--
	}
	return ps[i].at, true
}

func drawPolicy(t *rapid.T) Policy {
	return Policy{
		Threshold:       time.Duration(rapid.IntRange(10, 300).Draw(t, "threshold_s")) * time.Second,
		MinInterval:     time.Duration(rapid.IntRange(0, 900).Draw(t, "min_interval_s")) * time.Second,
		MaxGap:          time.Duration(rapid.IntRange(15, 200).Draw(t, "max_gap_s")) * time.Second,
		RecoveryProbes:  rapid.IntRange(1, 5).Draw(t, "recovery_probes"),
		FailbackPrimary: rapid.Bool().Draw(t, "failback"),
		FailbackAfter:   time.Duration(rapid.IntRange(0, 1800).Draw(t, "failback_after_s")) * time.Second,
		Primary:         "NAM",
		Budget:          rapid.IntRange(0, 4).Draw(t, "budget"),
		MaxSkew:         30 * time.Second,
	}
}

// TestDecideProperties drives Decide the way Run does, with random probe
// sequences, missed runs and long gaps, and checks every switch against the
// model: never before the threshold of continuous failure (healthy probes
// short of RECOVERY_PROBES do not end it), never to a region that is not
// stably healthy, never more than FAILOVER_BUDGET automatic switches in 24 h,
// never a failback before FAILBACK_AFTER of continuous primary health, one
// generation per switch, and nothing learnt from an inconclusive probe.
func TestDecideProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawPolicy(t)
		m := &model{p: p, seen: map[string][]seenProbe{}}
		s := state.State{ActiveRegion: "NAM"}
		now := t0
		// A bias per region, redrawn now and then, makes long outages,
		// long healthy runs and flapping all likely.
		odds := rapid.SampledFrom([]float64{0, 0.1, 0.5, 0.9, 1})
		upOdds := map[string]float64{}
		for _, r := range testRegions {
			upOdds[r] = odds.Draw(t, "up_odds_"+r)
		}
		steps := rapid.IntRange(1, 400).Draw(t, "steps")
		for range steps {
			step := 10 * time.Second
			switch rapid.IntRange(0, 19).Draw(t, "cadence") {
			case 0:
				step = time.Duration(rapid.IntRange(0, 300).Draw(t, "missed_s")) * time.Second
			case 1:
				step = time.Duration(rapid.IntRange(1, 4*3600).Draw(t, "gap_s")) * time.Second
			}
			now = now.Add(step)
			if rapid.IntRange(0, 49).Draw(t, "phase") == 0 {
				r := rapid.SampledFrom(testRegions).Draw(t, "phase_region")
				upOdds[r] = odds.Draw(t, "phase_odds")
			}
			obs := Observation{}
			allDown := true
			for _, r := range testRegions {
				up := rapid.Float64Range(0, 1).Draw(t, "u_"+r) < upOdds[r]
				obs.Regions = append(obs.Regions, RegionResult{Region: r, Cloud: r + ".example.com", Healthy: up})
				allDown = allDown && !up
			}
			obs.Inconclusive = allDown && rapid.IntRange(0, 3).Draw(t, "dark") == 0

			d := Decide(s, obs, now, p)
			if obs.Inconclusive {
				if d.Write || !reflect.DeepEqual(d.State, s) {
					t.Fatalf("inconclusive observation changed state: %+v -> %+v", s, d.State)
				}
				continue
			}
			for _, r := range obs.Regions {
				m.seen[r.Region] = append(m.seen[r.Region], seenProbe{now, r.Healthy})
				if r.Region == s.ActiveRegion {
					m.active = append(m.active, seenProbe{now, r.Healthy})
				}
			}
			switch d.Action {
			case ActionFailover, ActionFailback:
				checkSwitch(t, m, s, d, now)
			default:
				if d.State.Generation != s.Generation || d.State.ActiveRegion != s.ActiveRegion || d.To != "" {
					t.Fatalf("action %s changed region or generation: %+v -> %+v", d.Action, s, d.State)
				}
			}
			if !d.Write && !reflect.DeepEqual(d.State, s) {
				t.Fatalf("no write, but the state changed: %+v -> %+v", s, d.State)
			}
			if d.Write {
				s = d.State
				s.Pending = nil // the push converged
			}
		}
	})
}

func checkSwitch(t *rapid.T, m *model, s state.State, d Decision, now time.Time) {
	p := m.p
	if d.State.Generation != s.Generation+1 || d.State.ActiveRegion != d.To || d.To == s.ActiveRegion {
		t.Fatalf("%s from %s to %s: generation %d -> %d", d.Action, s.ActiveRegion, d.To, s.Generation, d.State.Generation)
	}
	if last := d.State.History[len(d.State.History)-1]; last.To != d.To || last.From != s.ActiveRegion || !last.At.Equal(now) {
		t.Fatalf("%s not recorded: %+v", d.Action, last)
	}
	if !m.stablyHealthy(d.To) {
		t.Fatalf("%s to %s, which is not stably healthy: %+v", d.Action, d.To, m.seen[d.To])
	}
	if len(m.switches) > 0 && now.Sub(m.switches[len(m.switches)-1]) < p.MinInterval {
		t.Fatalf("%s %v after the last switch, FAILOVER_MIN_INTERVAL %v", d.Action, now.Sub(m.switches[len(m.switches)-1]), p.MinInterval)
	}
	if p.Budget > 0 {
		n := 1
		for _, at := range m.switches {
			if now.Sub(at) < BudgetWindow {
				n++
			}
		}
		if n > p.Budget {
			t.Fatalf("switch number %d within 24h, FAILOVER_BUDGET %d", n, p.Budget)
		}
	}
	switch d.Action {
	case ActionFailover:
		age, ok := m.outageAge(now)
		if !ok || age < p.Threshold {
			t.Fatalf("failover at %v after %v of continuous failure (found %v), threshold %v; probes %+v", now, age, ok, p.Threshold, m.active)
		}
	case ActionFailback:
		since, ok := m.healthySince(p.Primary)
		if !p.FailbackPrimary || d.To != p.Primary || !ok || now.Sub(since) < p.FailbackAfter {
			t.Fatalf("failback to %s at %v, primary healthy since %v (%v), FAILBACK_AFTER %v", d.To, now, since, ok, p.FailbackAfter)
		}
		if m.active[len(m.active)-1].healthy != true {
			t.Fatalf("failback while the active region is failing")
		}
	}
	m.switches = append(m.switches, now)
	m.active = nil
}

// TestDecideSwitchesWhenDue is the other half: with the active region
// failing, healthy at most RECOVERY_PROBES-1 times in a row (a flapping
// region), probed at most OUTAGE_MAX_GAP apart, and the others up, a
// failover happens at the first failed probe past the threshold (a property
// test that finds no switch at all would pass the one above).
func TestDecideSwitchesWhenDue(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawPolicy(t)
		p.Budget, p.FailbackPrimary = 0, false
		s := state.State{ActiveRegion: "NAM", Regions: steady("+++")}
		now := t0
		var start time.Time
		run := 0
		for range 2000 {
			up := start != (time.Time{}) && run < p.recoveryProbes()-1 && rapid.Bool().Draw(t, "up")
			marks := "-++"
			if up {
				marks, run = "+++", run+1
			} else {
				run = 0
			}
			d := Decide(s, see(marks), now, p)
			if d.Action == ActionOutageStarted {
				if start != (time.Time{}) {
					t.Fatalf("outage restarted at %v: %s", now, d.Reason)
				}
				start = now
			}
			if d.Action == ActionRecovered {
				t.Fatalf("recovered after %d healthy probes, RECOVERY_PROBES %d", run, p.RecoveryProbes)
			}
			if !up && start != (time.Time{}) && now.Sub(start) >= p.Threshold {
				if d.Action != ActionFailover || d.To != "EU" {
					t.Fatalf("%v into the outage (threshold %v): action %s (%s), want a failover to EU", now.Sub(start), p.Threshold, d.Action, d.Reason)
				}
				return
			}
			if d.Action == ActionFailover {
				t.Fatalf("failover %v into the outage, threshold %v", now.Sub(start), p.Threshold)
			}
			if d.Write {
				s = d.State
			}
			now = now.Add(time.Duration(rapid.IntRange(0, int(p.MaxGap/time.Second)).Draw(t, "step_s")) * time.Second)
		}
		t.Fatalf("no failover after 2000 probes")
	})
}

// TestDecideFutureTimesBlockAtMostMaxSkew checks clock sanity: a state whose
// times lie ahead (a skewed clock, a restored file) delays a failover by at
// most MaxSkew (CHECK_TIMEOUT) compared with the same state written at now.
func TestDecideFutureTimesBlockAtMostMaxSkew(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawPolicy(t)
		p.FailbackPrimary = false
		ahead := func(label string) time.Duration {
			if rapid.Bool().Draw(t, label+"_set") {
				return time.Duration(rapid.Int64Range(0, int64(5*time.Hour)).Draw(t, label))
			}
			return -1
		}
		events := rapid.IntRange(0, 2).Draw(t, "history")
		build := func(offsets []time.Duration, clamp bool) state.State {
			at := func(i int) time.Time {
				if offsets[i] < 0 {
					return time.Time{}
				}
				if clamp {
					return t0
				}
				return t0.Add(offsets[i])
			}
			s := state.State{ActiveRegion: "NAM", OutageStartedAt: at(0), LastProbeAt: at(1), LastFailoverAt: at(2), Regions: steady("-++")}
			if !s.OutageStartedAt.IsZero() && s.LastProbeAt.IsZero() {
				s.LastProbeAt = s.OutageStartedAt
			}
			if offsets[3] >= 0 {
				h := s.Regions["EU"]
				h.Since = at(3)
				s.Regions["EU"] = h
			}
			for range events {
				s = s.Record(state.Event{At: at(4), Kind: state.EventFailover})
			}
			return s
		}
		offsets := []time.Duration{ahead("outage_started"), ahead("last_probe"), ahead("last_failover"), ahead("since"), ahead("history")}
		if offsets[4] < 0 {
			offsets[4] = 0
		}
		failoverAt := func(s state.State) time.Time {
			now := t0
			for range 10000 {
				d := Decide(s, see("-++"), now, p)
				if d.Action == ActionFailover {
					return now
				}
				if d.Write {
					s = d.State
				}
				now = now.Add(10 * time.Second)
			}
			return now
		}
		skewed, sane := failoverAt(build(offsets, false)), failoverAt(build(offsets, true))
		if skewed.Sub(sane) > p.MaxSkew+10*time.Second {
			t.Fatalf("future times delayed the failover from %v to %v (more than MaxSkew %v)", sane, skewed, p.MaxSkew)
		}
	})
}

// TestClaimFutureBlocksAtMostHorizon: a stored claim lying ahead holds a
// re-push back until it expires or, when it lies beyond the horizon, not at
// all; a taken claim never lies beyond now plus the horizon.
func TestClaimFutureBlocksAtMostHorizon(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		horizon := time.Duration(rapid.IntRange(1, 120).Draw(t, "horizon_s")) * time.Second
		until := t0.Add(time.Duration(rapid.Int64Range(0, int64(5*time.Hour)).Draw(t, "ahead")))
		deadline := t0.Add(time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "deadline")))
		s := state.State{Pending: &state.Pending{Generation: 1, ClaimedUntil: until}}
		c, ok := Claim(s, t0, deadline, horizon)
		if wantFree := !until.After(t0) || until.After(t0.Add(horizon)); ok != wantFree {
			t.Fatalf("claim until %v at %v (horizon %v): free %v, want %v", until, t0, horizon, ok, wantFree)
		}
		if ok && c.Pending.ClaimedUntil.After(t0.Add(horizon)) {
			t.Fatalf("claim taken until %v, beyond now + %v", c.Pending.ClaimedUntil, horizon)
		}
	})
}

// TestDecideClockSteps lets the clock jump back and forth (NTP steps,
// checkers with different clocks sharing one state) and checks what must
// hold whatever the clock does: no stored time ends up further than MaxSkew
// ahead, an outage is never negative, a switch goes to a region healthy
// now, past the threshold by the engine's own clock, one generation at a
// time.
func TestDecideClockSteps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawPolicy(t)
		s := state.State{ActiveRegion: "NAM"}
		now := t0
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(-600, 600).Draw(t, "step_s")) * time.Second)
			var obs Observation
			for _, r := range testRegions {
				obs.Regions = append(obs.Regions, RegionResult{Region: r, Cloud: r, Healthy: rapid.Bool().Draw(t, "up_"+r)})
			}
			d := Decide(s, obs, now, p)
			if d.Outage < 0 {
				t.Fatalf("outage %v", d.Outage)
			}
			limit := now.Add(p.MaxSkew)
			ns := d.State
			times := map[string]time.Time{"outage_started_at": ns.OutageStartedAt, "last_probe_at": ns.LastProbeAt, "last_failover_at": ns.LastFailoverAt}
			for name, h := range ns.Regions {
				times["regions."+name+".since"] = h.Since
			}
			for i, e := range ns.History {
				times[fmt.Sprintf("history[%d].at", i)] = e.At
			}
			for name, at := range times {
				if at.After(limit) {
					t.Fatalf("%s = %v after Decide at %v: more than MaxSkew ahead", name, at, now)
				}
			}
			if switches(d.Action) {
				target, _ := obs.result(d.To)
				if !target.Healthy || d.State.Generation != s.Generation+1 {
					t.Fatalf("%s to %s (healthy %v), generation %d -> %d", d.Action, d.To, target.Healthy, s.Generation, d.State.Generation)
				}
				if d.Action == ActionFailover && d.Outage < p.Threshold {
					t.Fatalf("failover after %v, threshold %v", d.Outage, p.Threshold)
				}
			} else if d.State.Generation != s.Generation {
				t.Fatalf("%s changed the generation", d.Action)
			}
			if d.Write {
				s = d.State
				s.Pending = nil
			}
		}
	})
}
