// This file holds reporting: the Result of one invocation, the event line
// for what changed, the outage metric and the one `check complete` summary
// line.

package check

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

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
		r.log.Warn(fmt.Sprintf("failover from %s to %s", active, d.To), "region", d.To, "from", active,
			"reason", fmt.Sprintf("%s down for %.0fs (threshold %s)", active, secs, r.cfg.FailoverThreshold),
			"outage_seconds", secs, "generation", d.State.Generation, "action", string(d.Action))
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
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, "error", err.Error())
	}
	r.log.Log(context.Background(), level, "check complete", attrs...)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
