// This file holds the pause gate: while an operator's pause is in force an
// automatic switch is held (the probes, the logs, the metrics and the
// outage clock go on), and the first run after the pause has ended lifts it
// and records that in the audit trail.

package check

import (
	"fmt"
	"time"

	"extcloud-failover/internal/state"
)

// ActionPaused is the action of a run whose automatic switch a pause held.
const ActionPaused Action = "paused"

// pauseHold says whether a pause in force holds automatic switches at now,
// and why, in the words of the summary line.
func pauseHold(s state.State, now time.Time) (bool, string) {
	if !Paused(s, now) {
		return false, ""
	}
	p := s.Pause
	reason := "paused until " + p.Until.UTC().Format(time.RFC3339)
	if p.By != "" {
		reason += " by " + p.By
	}
	if p.Reason != "" {
		reason += ": " + p.Reason
	}
	return true, reason
}

// gatePause applies the pause to d, Decide's verdict on s at now: a switch
// (failover or failback) while paused becomes ActionPaused, keeping the
// outage clock as a held switch does, so the switch happens at the first
// run after the pause ends; a pause that has ended is lifted with a resume
// event. Decide's caller applies it until the decision engine's own gate
// does.
func gatePause(s state.State, d Decision, now time.Time) Decision {
	if s.Pause != nil && !Paused(s, now) && d.State.Pause != nil {
		ended := *s.Pause
		d.State.Pause = nil
		d.State = d.State.Record(state.Event{At: now, Kind: state.EventResume, By: ended.By,
			Reason: fmt.Sprintf("pause ended at %s", ended.Until.UTC().Format(time.RFC3339)), Generation: d.State.Generation})
		d.Write = true
		return d
	}
	held, reason := pauseHold(s, now)
	if !held || (d.Action != ActionFailover && d.Action != actionFailback) {
		return d
	}
	next := s
	next.LastProbeAt = now // the failed probe of this run: the outage goes on
	return Decision{State: next, Write: true, Action: ActionPaused, Outage: d.Outage, Reason: reason}
}

// recordSwitch adds the audit event of an automatic switch that d stores,
// unless the decision engine has recorded it already.
func recordSwitch(d Decision, from string, now time.Time) Decision {
	if d.Action != ActionFailover && d.Action != actionFailback {
		return d
	}
	for _, e := range d.State.History {
		if e.Generation == d.State.Generation && (e.Kind == state.EventFailover || e.Kind == state.EventFailback) {
			return d
		}
	}
	kind := state.EventFailover
	if d.Action == actionFailback {
		kind = state.EventFailback
	}
	d.State = d.State.Record(state.Event{At: now, Kind: kind, From: from, To: d.To, Reason: d.Reason, Generation: d.State.Generation})
	return d
}

// actionFailback is the decision engine's failback action, as logged.
const actionFailback Action = "failback"
