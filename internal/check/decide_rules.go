// This file holds the rules Decide applies besides the outage clock: each
// region's health, the choice of a candidate, the one gate of automatic
// switches (minimum interval, budget), when a failback is due, and the
// sanity of stored times.
package check

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"extcloud-failover/internal/state"
)

// observeRegions returns regions updated with every result of obs, and
// whether anything changed. A flip starts a new streak at 1; a streak grows
// up to limit and then stays, so a steady state changes nothing (and
// allocates nothing). A region without an entry has never been seen down:
// it gets one when it first fails, so a fleet that has always been healthy
// never writes; keep names a region that gets an entry anyway (the primary,
// while a failback may be due, needs its Since). The input map is never
// modified.
func observeRegions(regions map[string]state.RegionHealth, obs Observation, now time.Time, limit int, keep string) (map[string]state.RegionHealth, bool) {
	var out map[string]state.RegionHealth
	for _, r := range obs.Regions {
		h, known := regions[r.Region]
		switch {
		case !known && r.Healthy && r.Region != keep:
			continue
		case !known || h.Healthy != r.Healthy:
			h = state.RegionHealth{Healthy: r.Healthy, Since: now, Streak: 1}
		case h.Streak < limit:
			h.Streak++
		default:
			continue
		}
		if out == nil {
			out = make(map[string]state.RegionHealth, max(len(regions), len(obs.Regions)))
			maps.Copy(out, regions)
		}
		out[r.Region] = h
	}
	if out == nil {
		return regions, false
	}
	return out, true
}

// candidate returns the first region after the active one (in list order,
// wrapping) that is healthy now and stably so: RecoveryProbes healthy probes
// in a row, or, for a region never seen down before this observation, a
// passed pre-flight.
func candidate(s state.State, before map[string]state.RegionHealth, obs Observation, p Policy) (RegionResult, bool) {
	start := 0
	for i, r := range obs.Regions {
		if r.Region == s.ActiveRegion {
			start = i + 1
		}
	}
	for i := range obs.Regions {
		r := obs.Regions[(start+i)%len(obs.Regions)]
		if !r.Healthy || r.Region == s.ActiveRegion {
			continue
		}
		if _, known := before[r.Region]; !known || s.Regions[r.Region].Streak >= p.recoveryProbes() {
			return r, true
		}
	}
	return RegionResult{}, false
}

// hold is mayAutoSwitch's verdict.
type hold struct {
	held   bool
	action Action // what the invocation reports instead of the switch
	reason string
	budget []state.Event // the switches that used the budget
}

// mayAutoSwitch is the one gate of automatic switches, failovers and
// failbacks alike: every rule that can hold one back is a case here. A
// forced failover does not pass through it.
func mayAutoSwitch(s state.State, now time.Time, p Policy) hold {
	if paused, reason := pauseHold(s, now); paused {
		return hold{held: true, action: ActionPaused, reason: reason}
	}
	if !s.LastFailoverAt.IsZero() && now.Sub(s.LastFailoverAt) < p.MinInterval {
		return hold{held: true, action: ActionNone, reason: "last switch within FAILOVER_MIN_INTERVAL"}
	}
	if p.Budget > 0 {
		if used := budgetUsed(s.History, now); len(used) >= p.Budget {
			return hold{held: true, action: ActionBudgetExhausted, budget: used,
				reason: fmt.Sprintf("FAILOVER_BUDGET used: %d automatic switches in the last %s", len(used), BudgetWindow)}
		}
	}
	return hold{}
}

// budgetUsed returns the automatic switches of history that count against
// FAILOVER_BUDGET at now: failovers and failbacks of the last BudgetWindow,
// after the last resume (an operator's resume restores the budget).
func budgetUsed(history []state.Event, now time.Time) []state.Event {
	from := 0
	for i, e := range history {
		if e.Kind == state.EventResume {
			from = i + 1
		}
	}
	var used []state.Event
	for _, e := range history[from:] {
		if (e.Kind == state.EventFailover || e.Kind == state.EventFailback) && now.Sub(e.At) < BudgetWindow {
			used = append(used, e)
		}
	}
	return used
}

// FailbackDue returns when a failback to the primary becomes due, and
// whether one is on the way at all: FAILBACK=primary, the active region is
// not the primary, and the primary's last probe was healthy. It is due
// FAILBACK_AFTER after the primary turned healthy, and not before
// FAILOVER_MIN_INTERVAL after the last switch. `status` shows it.
func FailbackDue(s state.State, p Policy) (time.Time, bool) {
	if !p.FailbackPrimary || p.Primary == "" || s.ActiveRegion == p.Primary {
		return time.Time{}, false
	}
	h, ok := s.Regions[p.Primary]
	if !ok || !h.Healthy {
		return time.Time{}, false
	}
	due := h.Since.Add(p.FailbackAfter)
	if !s.LastFailoverAt.IsZero() {
		if after := s.LastFailoverAt.Add(p.MinInterval); after.After(due) {
			due = after
		}
	}
	return due, true
}

// saneTimes returns s with every stored time that lies further than skew
// ahead of now (another checker's skewed clock, a restored file) set to now,
// and the names of those fields; nil names when all were sane. Push claims
// are checked by Claim.
func saneTimes(s state.State, now time.Time, skew time.Duration) (state.State, []string) {
	limit := now.Add(skew)
	var skewed []string
	fix := func(t time.Time, name string) time.Time {
		if t.After(limit) {
			skewed = append(skewed, name)
			return now
		}
		return t
	}
	s.OutageStartedAt = fix(s.OutageStartedAt, "outage_started_at")
	s.LastProbeAt = fix(s.LastProbeAt, "last_probe_at")
	s.LastFailoverAt = fix(s.LastFailoverAt, "last_failover_at")
	s.LatencyAt = fix(s.LatencyAt, "latency_at")
	var names []string
	for name, h := range s.Regions {
		if h.Since.After(limit) {
			names = append(names, name)
		}
	}
	if names != nil {
		slices.Sort(names)
		s.Regions = maps.Clone(s.Regions)
		for _, name := range names {
			h := s.Regions[name]
			h.Since = now
			s.Regions[name] = h
			skewed = append(skewed, "regions."+name+".since")
		}
	}
	cloned := false
	for i, e := range s.History {
		if e.At.After(limit) {
			if !cloned {
				s.History, cloned = slices.Clone(s.History), true
			}
			s.History[i].At = now
			skewed = append(skewed, fmt.Sprintf("history[%d].at", i))
		}
	}
	return s, skewed
}
