// This file holds the decision engine's types and Decide, which applies the
// rules of decide_rules.go to one observation.
package check

import (
	"fmt"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// Action is what one invocation did, as logged in the `action` field.
type Action string

// The actions of DESIGN.md.
const (
	ActionNone            Action = "none"
	ActionOutageStarted   Action = "outage_started"
	ActionRecovering      Action = "recovering"
	ActionRecovered       Action = "recovered"
	ActionFailover        Action = "failover"
	ActionFailback        Action = "failback"
	ActionAllDown         Action = "all_down"
	ActionBudgetExhausted Action = "budget_exhausted"
	ActionPendingPush     Action = "pending_push"
	ActionInconclusive    Action = "inconclusive"
)

// BudgetWindow is the sliding window FAILOVER_BUDGET counts switches in.
const BudgetWindow = 24 * time.Hour

// RegionResult is one region's probe result in one invocation.
type RegionResult struct {
	Region  string
	Cloud   string
	Healthy bool
}

// Observation is what one invocation saw: every region probed at once.
type Observation struct {
	// Regions holds every region's result in EXT_CLOUD_FAILOVER_LIST order;
	// the active region's entry is its CLOUDLOOKUP_URL probe, the others'
	// their pre-flight. An active region missing from it counts as down.
	Regions []RegionResult
	// Inconclusive means the active region failed, no other region answered
	// and our own network is down too: nothing is learnt, the outage clock
	// neither starts nor advances.
	Inconclusive bool
}

// result returns the result of region in o, and false when o has none.
func (o Observation) result(region string) (RegionResult, bool) {
	for _, r := range o.Regions {
		if r.Region == region {
			return r, true
		}
	}
	return RegionResult{}, false
}

// Policy holds the rules of Decide, one field per setting.
type Policy struct {
	Threshold      time.Duration // FAILOVER_THRESHOLD
	MinInterval    time.Duration // FAILOVER_MIN_INTERVAL: least time between two automatic switches
	MaxGap         time.Duration // OUTAGE_MAX_GAP: a longer gap without probes restarts the outage clock
	RecoveryProbes int           // RECOVERY_PROBES: healthy probes in a row that end an outage (at least 1)
	// FailbackPrimary is FAILBACK=primary: return to Primary once it has been
	// healthy for FailbackAfter.
	FailbackPrimary bool
	FailbackAfter   time.Duration // FAILBACK_AFTER
	Primary         string        // the primary region (-r/--region, else the first of the list)
	Budget          int           // FAILOVER_BUDGET: automatic switches per BudgetWindow; 0 is unlimited
	// MaxSkew is CHECK_TIMEOUT: a stored time further ahead than this is
	// another clock's mistake and counts as now.
	MaxSkew time.Duration
}

// PolicyOf returns the policy cfg sets.
func PolicyOf(cfg *config.Config) Policy {
	return Policy{
		Threshold:       cfg.FailoverThreshold,
		MinInterval:     cfg.FailoverMinInterval,
		MaxGap:          cfg.OutageMaxGap,
		RecoveryProbes:  cfg.RecoveryProbes,
		FailbackPrimary: cfg.Failback == config.FailbackPrimary,
		FailbackAfter:   cfg.FailbackAfter,
		Primary:         cfg.Primary(),
		Budget:          cfg.FailoverBudget,
		MaxSkew:         cfg.CheckTimeout,
	}
}

// recoveryProbes is RecoveryProbes, at least 1.
func (p Policy) recoveryProbes() int { return max(p.RecoveryProbes, 1) }

// Decision is the outcome of Decide.
type Decision struct {
	// State is the next state; store it (with compare-and-swap) when Write.
	State  state.State
	Write  bool
	Action Action
	// Outage is how long the active region has been failing, including this
	// probe; for ActionRecovered, how long it had failed.
	Outage time.Duration
	// To and Cloud name the target of ActionFailover and ActionFailback.
	To    string
	Cloud string
	// Reason says why, in words for the log line.
	Reason string
	// Recovering counts the healthy probes in a row of an active region
	// whose outage has not ended yet (ActionRecovering): "recovering (1/3)".
	Recovering int
	// Gap is the time without probes that restarted (or dropped) the outage
	// clock, longer than OUTAGE_MAX_GAP; zero when none did.
	Gap time.Duration
	// Skewed names the stored times that lay further than MaxSkew ahead and
	// were taken as now (outage_started_at, regions.EU.since, ...).
	Skewed []string
	// Budget lists the automatic switches of the window when
	// ActionBudgetExhausted holds one back.
	Budget []state.Event
}

// Decide is the pure decision engine: from the stored state, one observation
// of every region and the time, it returns the next state and the action. It
// never reads a clock, a file or the network. s.ActiveRegion must be set.
//
// The outage of the active region starts at its first failed probe and ends
// only after RecoveryProbes healthy probes in a row; a gap without probes
// longer than MaxGap restarts it. Past Threshold it switches, through
// mayAutoSwitch, to the first stably healthy region after the active one;
// with FailbackPrimary it returns to the primary after FailbackAfter of its
// health.
func Decide(s state.State, obs Observation, now time.Time, p Policy) Decision {
	d := Decision{State: s, Action: ActionNone}
	if fixed, skewed := saneTimes(s, now, p.MaxSkew); skewed != nil {
		d.State, d.Skewed, d.Write = fixed, skewed, true
	}
	if obs.Inconclusive {
		d.Action = ActionInconclusive
		d.Reason = "local network unavailable"
		if o := d.State.OutageStartedAt; !o.IsZero() {
			d.Outage = max(now.Sub(o), 0)
		}
		return d
	}
	before := d.State.Regions
	keep := ""
	if p.FailbackPrimary && d.State.ActiveRegion != p.Primary {
		keep = p.Primary
	}
	if regions, changed := observeRegions(before, obs, now, p.recoveryProbes(), keep); changed {
		d.State.Regions, d.Write = regions, true
	}
	active, _ := obs.result(d.State.ActiveRegion)
	if active.Healthy {
		decideHealthy(&d, obs, now, p)
	} else {
		decideFailing(&d, before, obs, now, p)
	}
	d.Outage = max(d.Outage, 0) // a clock stepped back makes no negative outage
	return d
}

// decideHealthy handles a healthy probe of the active region: the steady
// state, a recovery that needs more probes, a recovery, or a failback.
func decideHealthy(d *Decision, obs Observation, now time.Time, p Policy) {
	s := &d.State
	if s.OutageStartedAt.IsZero() {
		d.Reason = "healthy"
		decideFailback(d, obs, now, p)
		return
	}
	if gap := now.Sub(s.LastProbeAt); gap > p.MaxGap {
		d.Gap = gap
		d.Outage = s.LastProbeAt.Sub(s.OutageStartedAt)
		s.OutageStartedAt, s.LastProbeAt = time.Time{}, time.Time{}
		d.Write = true
		d.Action = ActionRecovered
		d.Reason = fmt.Sprintf("outage dropped after %s without probes (longer than OUTAGE_MAX_GAP %s)", gap, p.MaxGap)
		return
	}
	h := s.Regions[s.ActiveRegion]
	if n := p.recoveryProbes(); h.Streak < n {
		s.LastProbeAt = now
		d.Write = true
		d.Outage = max(now.Sub(s.OutageStartedAt), 0)
		d.Action = ActionRecovering
		d.Recovering = h.Streak
		d.Reason = fmt.Sprintf("recovering (%d/%d)", h.Streak, n)
		return
	}
	// The outage lasted until the first probe of the healthy streak.
	end := h.Since
	if end.Before(s.OutageStartedAt) || end.After(now) {
		end = s.LastProbeAt
	}
	d.Outage = end.Sub(s.OutageStartedAt)
	s.OutageStartedAt, s.LastProbeAt = time.Time{}, time.Time{}
	d.Write = true
	d.Action = ActionRecovered
	d.Reason = "recovered"
}

// decideFailing handles a failed probe of the active region: the outage
// clock starts, restarts after a gap, or advances; past the threshold a
// failover to the first stably healthy candidate.
func decideFailing(d *Decision, before map[string]state.RegionHealth, obs Observation, now time.Time, p Policy) {
	s := &d.State
	d.Write = true
	if s.OutageStartedAt.IsZero() {
		s.OutageStartedAt, s.LastProbeAt = now, now
		d.Action = ActionOutageStarted
		d.Reason = "outage started"
		return
	}
	if gap := now.Sub(s.LastProbeAt); gap > p.MaxGap {
		s.OutageStartedAt, s.LastProbeAt = now, now
		d.Gap = gap
		d.Action = ActionOutageStarted
		d.Reason = fmt.Sprintf("outage clock restarted after %s without probes (longer than OUTAGE_MAX_GAP %s)", gap, p.MaxGap)
		return
	}
	s.LastProbeAt = now
	d.Outage = max(now.Sub(s.OutageStartedAt), 0)
	if d.Outage < p.Threshold {
		d.Reason = "outage below FAILOVER_THRESHOLD"
		return
	}
	target, ok := candidate(d.State, before, obs, p)
	if !ok {
		d.Action = ActionAllDown
		d.Reason = "all regions unavailable"
		return
	}
	reason := fmt.Sprintf("%s down for %s (FAILOVER_THRESHOLD %s)", s.ActiveRegion, d.Outage.Round(time.Second), p.Threshold)
	switchTo(d, target, ActionFailover, reason, now, p)
}

// decideFailback switches back to the primary when FAILBACK=primary, the
// active region is healthy and not the primary, and the primary has been
// healthy for FAILBACK_AFTER and RECOVERY_PROBES probes.
func decideFailback(d *Decision, obs Observation, now time.Time, p Policy) {
	s := d.State
	due, ok := FailbackDue(s, p)
	if !ok || now.Before(due) || s.Pending != nil {
		return
	}
	primary := s.Regions[p.Primary]
	if primary.Streak < p.recoveryProbes() {
		return
	}
	cur, ok := obs.result(p.Primary)
	if !ok || !cur.Healthy {
		return
	}
	reason := fmt.Sprintf("primary %s healthy for %s (FAILBACK_AFTER %s)", p.Primary, now.Sub(primary.Since).Round(time.Second), p.FailbackAfter)
	switchTo(d, cur, ActionFailback, reason, now, p)
}

// switchTo writes the intent of an automatic switch to target, unless
// mayAutoSwitch holds it back.
func switchTo(d *Decision, target RegionResult, action Action, reason string, now time.Time, p Policy) {
	if h := mayAutoSwitch(d.State, now, p); h.held {
		d.Action, d.Reason, d.Budget = h.action, h.reason, h.budget
		return
	}
	from := d.State.ActiveRegion
	kind := state.EventFailover
	if action == ActionFailback {
		kind = state.EventFailback
	}
	next := Intent(d.State, target.Region, target.Cloud, now)
	next = next.Record(state.Event{At: now, Kind: kind, From: from, To: target.Region, Reason: reason, Generation: next.Generation})
	d.State, d.Write = next, true
	d.Action, d.Reason = action, reason
	d.To, d.Cloud = target.Region, target.Cloud
}

// Intent returns s switched to region: the next generation, a pending push
// of it to every host, and a fresh outage clock. Automatic and forced
// switches all start here.
func Intent(s state.State, region, cloud string, now time.Time) state.State {
	next := s
	next.PreviousRegion = s.ActiveRegion
	next.ActiveRegion = region
	next.Generation = s.Generation + 1
	next.LastFailoverAt = now
	next.OutageStartedAt, next.LastProbeAt = time.Time{}, time.Time{}
	next.Pending = &state.Pending{Generation: next.Generation, Region: region, Cloud: cloud}
	return next
}

// Claim returns s with the pending push claimed until deadline, and whether
// the claim was free to take: no claim, an expired one, or one further than
// horizon ahead of now (a skewed clock wrote it; it counts as now). The
// claim it takes never extends past now plus horizon.
func Claim(s state.State, now, deadline time.Time, horizon time.Duration) (state.State, bool) {
	if s.Pending == nil {
		return s, false
	}
	if until := s.Pending.ClaimedUntil; now.Before(until) && !until.After(now.Add(horizon)) {
		return s, false
	}
	p := *s.Pending
	p.ClaimedUntil = minTime(deadline, now.Add(horizon))
	p.Attempts++
	s.Pending = &p
	return s, true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
