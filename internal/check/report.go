// This file holds reporting: the Result of one invocation, the event line
// for what changed, the outage metric and the one `check complete` summary
// line.

package check

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
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

// event logs the lines for what changed, besides the summary: the outage
// clock, recovery, region health flips, stored times taken as now, and
// what holds a switch back. The switch itself is logged by switched, once
// its intent is stored.
func (r *runner) event(before state.State, d Decision, active string) {
	secs := d.Outage.Seconds()
	if len(d.Skewed) > 0 {
		r.log.Warn(fmt.Sprintf("state time %s lies more than CHECK_TIMEOUT (%s) ahead (another checker's clock, a restored file): taken as now",
			strings.Join(d.Skewed, ", "), r.cfg.CheckTimeout), "fields", d.Skewed, "region", active)
	}
	r.flips(before, d.State)
	switch {
	case d.Gap > 0:
		r.log.Warn(d.Reason, "region", active, "gap_seconds", d.Gap.Seconds(), "setting", "OUTAGE_MAX_GAP",
			"error", errString(r.probeErr), "status", r.status, "action", string(d.Action))
	case d.Action == ActionOutageStarted:
		r.log.Warn(d.Reason, "region", active, "error", errString(r.probeErr), "status", r.status, "action", string(d.Action))
	case d.Action == ActionRecovering:
		r.log.Info(d.Reason, "region", active, "outage_seconds", secs, "action", string(d.Action))
	case d.Action == ActionRecovered:
		r.log.Info(fmt.Sprintf("recovered after %.0fs", secs), "region", active, "outage_seconds", secs, "action", string(d.Action))
	case d.Action == ActionAllDown:
		r.log.Error("all regions unavailable", "region", active, "outage_seconds", secs, "action", string(d.Action))
	case d.Action == ActionBudgetExhausted:
		used := make([]string, len(d.Budget))
		for i, e := range d.Budget {
			used[i] = fmt.Sprintf("%s %s %s->%s", e.At.UTC().Format(time.RFC3339), e.Kind, e.From, e.To)
		}
		r.log.Error("failover budget exhausted: no automatic switch until the oldest leaves the 24h window (or resume)",
			"region", active, "reason", d.Reason, "switches", used, "budget", r.cfg.FailoverBudget,
			"outage_seconds", secs, "action", string(d.Action))
		r.d.Metrics.Count("extcloud.budget_exhausted", 1, "region:"+active)
	}
	r.d.Metrics.Gauge("extcloud.outage.seconds", secs, "region:"+active)
}

// flips logs each region whose health flipped between two states.
func (r *runner) flips(before, after state.State) {
	if len(after.Regions) == 0 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(after.Regions)) {
		h := after.Regions[name]
		was, known := before.Regions[name]
		if h.Streak != 1 || (known && was.Healthy == h.Healthy) || (!known && h.Healthy) {
			continue
		}
		word := "down"
		if h.Healthy {
			word = "up"
		}
		r.log.Info(fmt.Sprintf("region %s is %s", name, word), "region", name, "healthy", h.Healthy)
	}
}

// switched logs and counts a switch whose intent this invocation stored:
// exactly once per generation, so a monitor counting `failover from` lines
// counts failovers.
func (r *runner) switched(res Result, generation int64) {
	r.log.Warn(fmt.Sprintf("%s from %s to %s", verb(res.Action), res.From, res.To), "region", res.To, "from", res.From,
		"reason", res.Reason, "outage_seconds", res.OutageSeconds, "generation", generation, "action", string(res.Action))
	metric := "extcloud.failover"
	if res.Action == ActionFailback {
		metric = "extcloud.failback"
	}
	r.d.Metrics.Count(metric, 1, "region:"+res.To, "from:"+res.From)
}

// verb names a switch in a log message.
func verb(a Action) string {
	if a == ActionFailback {
		return "failback"
	}
	return "failover"
}

// summary writes the one decision record of the invocation.
func (r *runner) summary(res Result, err error) {
	attrs := []any{
		"region", res.Region, "healthy", res.Healthy, "action", string(res.Action),
		"outage_seconds", res.OutageSeconds, "generation", res.Generation,
		"probe_ms", r.probeMS, "status", r.status, "pending_hosts", res.PendingHosts,
	}
	attrs = append(attrs, "regions", res.Regions)
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

// regionReports returns every probed region's result for the summary
// line; empty (never nil, so the field is always there) when nothing was
// probed.
func (r *runner) regionReports() map[string]RegionReport {
	out := make(map[string]RegionReport, len(r.probes))
	for _, pr := range r.probes {
		out[pr.Region] = RegionReport{Healthy: pr.Healthy, Status: pr.Status, MS: ms(pr.Duration)}
	}
	return out
}
