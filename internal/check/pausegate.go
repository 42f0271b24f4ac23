// This file holds the pause gate: while an operator's pause is in force the
// decision engine's one gate (mayAutoSwitch) holds every automatic switch;
// the probes, the logs, the metrics and the outage clock go on, so an
// outage past the threshold switches at the first run after resume or the
// pause's end.

package check

import (
	"time"

	"extcloud-failover/internal/state"
)

// ActionPaused is the action of a run whose automatic switch a pause held.
const ActionPaused Action = "paused"

// pauseHold says whether a pause in force holds automatic switches at now,
// and why, in the words of the summary line: until when, by whom, why.
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
