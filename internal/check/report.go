// This file holds reporting: the Result of one invocation, the event line
// for what changed, the outage metric and the one `check complete` summary
// line.

package check

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"extcloud-failover/internal/state"
)

func (r *runner) result(s state.State, action Action) Result {
	res := Result{Region: s.ActiveRegion, Action: action, Generation: s.Generation, PendingHosts: []string{}, DryRun: r.cfg.DryRun}
	if s.Pending != nil {
		res.PendingHosts = pendingHosts(s.Pending)
	}
	return res
}

func pendingHosts(p *state.Pending) []string {
	if len(p.Hosts) == 0 {
		return []string{"*"}
	}
	return slices.Clone(p.Hosts)
}

// event logs the line for what changed, besides the summary.
func (r *runner) event(d Decision, active string) {
	secs := d.Outage.Seconds()
	switch d.Action {
	case ActionOutageStarted:
		r.log.Warn(d.Reason, "region", active, "error", errString(r.probeErr), "status", r.status, "action", string(d.Action))
	case ActionRecovered:
		r.log.Info(fmt.Sprintf("recovered after %.0fs", secs), "region", active, "outage_seconds", secs, "action", string(d.Action))
	case ActionFailover:
		r.switchLine(active, d.To, fmt.Sprintf("%s down for %.0fs (threshold %s)", active, secs, r.cfg.FailoverThreshold), d.State.Generation, secs)
	case ActionPaused:
		r.log.Warn("failover held: "+d.Reason, "region", active, "outage_seconds", secs, "action", string(d.Action))
	case ActionAllDown:
		r.log.Error("all regions unavailable", "region", active, "outage_seconds", secs, "action", string(d.Action))
	}
	r.d.Metrics.Gauge("extcloud.outage.seconds", secs, "region:"+active)
}

// summary writes the one decision record of the invocation.
func (r *runner) summary(res Result, err error) {
	attrs := []any{
		"region", res.Region, "healthy", res.Healthy, "action", string(res.Action),
		"outage_seconds", res.OutageSeconds, "generation", res.Generation,
		"probe_ms", r.probeMS, "status", r.status, "pending_hosts", res.PendingHosts,
	}
	if res.To != "" {
		attrs = append(attrs, "from", res.From, "to", res.To)
	}
	if res.Reason != "" {
		attrs = append(attrs, "reason", res.Reason)
	}
	if r.probeErr != nil {
		attrs = append(attrs, "probe_error", r.probeErr.Error())
	}
	if r.latency != nil {
		attrs = append(attrs, "latency_ms", r.latency.ms)
	}
	if res.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	if !res.PausedUntil.IsZero() {
		attrs = append(attrs, "paused_until", res.PausedUntil.UTC().Format(time.RFC3339), "pause_reason", res.PauseReason)
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, "error", err.Error())
	}
	r.log.Log(context.Background(), level, "check complete", attrs...)
}

// switchLine logs a failover: a warning "failover from A to B", or in a dry
// run the info line "would fail over from A to B".
func (r *runner) switchLine(from, to, reason string, generation int64, secs float64) {
	level, msg := slog.LevelWarn, fmt.Sprintf("failover from %s to %s", from, to)
	if r.cfg.DryRun {
		level, msg = slog.LevelInfo, fmt.Sprintf("would fail over from %s to %s", from, to)
	}
	r.log.Log(context.Background(), level, msg, "region", to, "from", from, "reason", reason,
		"outage_seconds", secs, "generation", generation, "action", string(wouldAct(r.cfg.DryRun, ActionFailover)))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
