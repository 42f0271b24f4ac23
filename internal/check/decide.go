package check

import (
	"time"

	"extcloud-failover/internal/state"
)

// Action is what one invocation did, as logged in the `action` field.
type Action string

// The actions of DESIGN.md; ActionPreflight is internal: Decide asks the
// caller to probe the candidates and decide again.
const (
	ActionNone          Action = "none"
	ActionOutageStarted Action = "outage_started"
	ActionRecovered     Action = "recovered"
	ActionFailover      Action = "failover"
	ActionAllDown       Action = "all_down"
	ActionPendingPush   Action = "pending_push"
	ActionInconclusive  Action = "inconclusive"
	ActionPreflight     Action = "preflight"
)

// Candidate is the pre-flight result of one failover candidate.
type Candidate struct {
	Region  string
	Cloud   string
	Healthy bool
}

// Observation is what one invocation saw of the active region.
type Observation struct {
	// Healthy is the active region's probe result.
	Healthy bool
	// Inconclusive means the probe failed but our own network is down too:
	// the outage clock neither starts nor advances.
	Inconclusive bool
	// Candidates are the pre-flight probes in failover order; nil when they
	// have not been probed.
	Candidates []Candidate
}

// Policy holds the timing rules of Decide.
type Policy struct {
	Threshold     time.Duration // FAILOVER_THRESHOLD
	MinInterval   time.Duration // FAILOVER_MIN_INTERVAL
	ProbeInterval time.Duration // PROBE_INTERVAL; a gap over 3x restarts the outage clock
}

// Decision is the outcome of Decide.
type Decision struct {
	// State is the next state; store it (with compare-and-swap) when Write.
	State  state.State
	Write  bool
	Action Action
	// Outage is how long the active region has been failing, including this
	// probe; for ActionRecovered, how long it had been failing.
	Outage time.Duration
	// To and Cloud name the failover target for ActionFailover.
	To    string
	Cloud string
	// Reason says why, in words for the log line.
	Reason string
}

// Decide is the pure decision engine: from the stored state, one observation
// and the time, it returns the next state and the action. It never reads a
// clock, a file or the network. s.ActiveRegion must be set.
func Decide(s state.State, obs Observation, now time.Time, p Policy) Decision {
	d := Decision{State: s, Action: ActionNone}
	switch {
	case obs.Inconclusive && !obs.Healthy:
		d.Action = ActionInconclusive
		d.Reason = "local network unavailable"
		if !s.OutageStartedAt.IsZero() {
			d.Outage = now.Sub(s.OutageStartedAt)
		}
		return d
	case obs.Healthy:
		if s.OutageStartedAt.IsZero() {
			d.Reason = "healthy"
			return d
		}
		d.Outage = s.LastProbeAt.Sub(s.OutageStartedAt)
		d.State.OutageStartedAt = time.Time{}
		d.State.LastProbeAt = time.Time{}
		d.Write = true
		d.Action = ActionRecovered
		d.Reason = "recovered"
		return d
	}

	// The active region failed.
	d.Write = true
	gap := 3 * p.ProbeInterval
	if s.OutageStartedAt.IsZero() || now.Before(s.LastProbeAt) || now.Sub(s.LastProbeAt) > gap {
		restarted := !s.OutageStartedAt.IsZero()
		d.State.OutageStartedAt = now
		d.State.LastProbeAt = now
		d.Action = ActionOutageStarted
		d.Reason = "outage started"
		if restarted {
			d.Reason = "outage clock restarted after a gap without probes"
		}
		return d
	}
	d.State.LastProbeAt = now
	d.Outage = now.Sub(s.OutageStartedAt)
	switch {
	case d.Outage < p.Threshold:
		d.Reason = "outage below FAILOVER_THRESHOLD"
		return d
	case !s.LastFailoverAt.IsZero() && now.Sub(s.LastFailoverAt) < p.MinInterval:
		d.Reason = "last failover within FAILOVER_MIN_INTERVAL"
		return d
	case obs.Candidates == nil:
		d.Write = false
		d.State = s
		d.Action = ActionPreflight
		d.Reason = "outage past FAILOVER_THRESHOLD: pre-flight the candidates"
		return d
	}
	for _, c := range obs.Candidates {
		if !c.Healthy || c.Region == s.ActiveRegion {
			continue
		}
		d.State = Intent(s, c.Region, c.Cloud, now)
		d.Action = ActionFailover
		d.To, d.Cloud = c.Region, c.Cloud
		d.Reason = "outage past FAILOVER_THRESHOLD"
		return d
	}
	d.Action = ActionAllDown
	d.Reason = "all regions unavailable"
	return d
}

// Intent returns s switched to region: the next generation, a pending push
// of it to every host, and a fresh outage clock. Automatic and forced
// failovers both start here.
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
// the claim was free to take (no pending push, or its claim has expired).
func Claim(s state.State, now, deadline time.Time) (state.State, bool) {
	if s.Pending == nil || now.Before(s.Pending.ClaimedUntil) {
		return s, false
	}
	p := *s.Pending
	p.ClaimedUntil = deadline
	p.Attempts++
	s.Pending = &p
	return s, true
}
