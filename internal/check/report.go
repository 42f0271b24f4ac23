// This file holds reporting: the Result of one invocation, the event lines
// for what changed (outage, recovery, region health, switches, push), the
// metrics, and the one `check complete` summary line. Nothing here decides
// or writes state.

package check

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

func (r *runner) result(s state.State, action Action) Result {
	return Result{Region: s.ActiveRegion, Action: action, Generation: s.Generation, PendingHosts: pendingHosts(s.Pending), DryRun: r.cfg.DryRun}
}

// pendingHosts lists p's hosts for the log and the Result: none without a
// pending push, "*" for every target.
func pendingHosts(p *state.Pending) []string {
	switch {
	case p == nil:
		return []string{}
	case len(p.Hosts) == 0:
		return []string{"*"}
	}
	return slices.Clone(p.Hosts)
}

// decisionResult is the Result of a check that decided d about active.
func (r *runner) decisionResult(d Decision, active string, seen observed, repushed bool) Result {
	res := r.result(d.State, d.Action)
	if switches(d.Action) {
		res.From, res.To = active, d.To
	}
	res.Region = active
	res.OutageSeconds = d.Outage.Seconds()
	res.Reason = d.Reason
	if repushed && d.Action == ActionNone {
		res.Action = ActionPendingPush
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// probeMetrics sends one probe's figures: its latency and, as
// blackbox_exporter does, the time of each phase that happened.
func (r *runner) probeMetrics(pr probe.Result) {
	status := "ok"
	if !pr.Healthy {
		status = "fail"
	}
	r.d.Metrics.Gauge("extcloud.probe.latency", ms(pr.Duration), "region:"+pr.Region, "status:"+status)
	for _, ph := range phases(pr.Timings) {
		r.d.Metrics.Gauge("extcloud.probe.phase_ms", ms(ph.d), "region:"+pr.Region, "phase:"+ph.name)
	}
}

type phase struct {
	name string
	d    time.Duration
}

// phases lists the phases of a probe that happened, in request order.
func phases(t probe.Timings) []phase {
	var out []phase
	for _, ph := range []phase{{"dns", t.DNS}, {"connect", t.Connect}, {"tls", t.TLS}, {"first_byte", t.FirstByte}} {
		if ph.d > 0 {
			out = append(out, ph)
		}
	}
	return out
}

// phaseAttrs is the probe_phase_ms group of a failed probe's log line: the
// milliseconds of each phase that happened, so a slow DNS tells itself from
// a slow connect. Nothing for a healthy probe or one that timed nothing.
func phaseAttrs(pr probe.Result) []any {
	if pr.Err == nil {
		return nil
	}
	var g []any
	for _, ph := range phases(pr.Timings) {
		g = append(g, ph.name, ms(ph.d))
	}
	if g == nil {
		return nil
	}
	return []any{slog.Group("probe_phase_ms", g...)}
}

// event logs the lines for what changed, besides the summary: the outage
// clock, recovery, region health flips, stored times taken as now, and
// what holds a switch back; and the outage metric. A switch is logged by
// switched, once its intent is stored.
func (r *runner) event(before state.State, d Decision, active string, pr probe.Result) {
	secs := d.Outage.Seconds()
	if len(d.Skewed) > 0 {
		r.log.Warn(fmt.Sprintf("state time %s lies more than CHECK_TIMEOUT (%s) ahead (another checker's clock, a restored file): taken as now",
			strings.Join(d.Skewed, ", "), r.cfg.CheckTimeout), "fields", d.Skewed, "region", active)
	}
	r.flips(before, d.State)
	switch {
	case d.Gap > 0:
		r.log.Warn(d.Reason, append([]any{"region", active, "gap_seconds", d.Gap.Seconds(), "setting", "OUTAGE_MAX_GAP",
			"error", errString(pr.Err), "status", pr.Status, "action", string(d.Action)}, phaseAttrs(pr)...)...)
	case d.Action == ActionOutageStarted:
		r.log.Warn(d.Reason, append([]any{"region", active, "error", errString(pr.Err), "status", pr.Status, "action", string(d.Action)}, phaseAttrs(pr)...)...)
	case d.Action == ActionRecovering:
		r.log.Info(d.Reason, "region", active, "outage_seconds", secs, "action", string(d.Action))
	case d.Action == ActionRecovered:
		r.log.Info(fmt.Sprintf("recovered after %.0fs", secs), "region", active, "outage_seconds", secs, "action", string(d.Action))
	case d.Action == ActionPaused:
		r.log.Warn("failover held: "+d.Reason, "region", active, "outage_seconds", secs, "action", string(d.Action))
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

// flips logs each region whose health flipped between two states; a region
// seen healthy for the first time is not news.
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
//
// A dry run says what it would have done instead, at info: "would fail
// over from A to B", action would_failover, metric extcloud.would_failover;
// never a `failover from` warning.
func (r *runner) switched(res Result, generation int64) {
	level, msg := slog.LevelWarn, fmt.Sprintf("%s from %s to %s", verb(res.Action), res.From, res.To)
	if r.cfg.DryRun {
		level, msg = slog.LevelInfo, fmt.Sprintf("would %s from %s to %s", wouldVerb(res.Action), res.From, res.To)
	}
	action := wouldAct(r.cfg.DryRun, res.Action)
	r.log.Log(context.Background(), level, msg, "region", res.To, "from", res.From,
		"reason", res.Reason, "outage_seconds", res.OutageSeconds, "generation", generation, "action", string(action))
	r.d.Metrics.Count("extcloud."+string(action), 1, "region:"+res.To, "from:"+res.From)
}

// wouldVerb names a switch in a dry run's message.
func wouldVerb(a Action) string {
	if a == ActionFailback {
		return "fail back"
	}
	return "fail over"
}

// verb names a switch in a log message.
func verb(a Action) string {
	if a == ActionFailback {
		return "failback"
	}
	return "failover"
}

// reportPush logs and counts what push p achieved, before it is recorded.
func (r *runner) reportPush(p state.Pending, result remote.Result, perr error, out pushOutcome) {
	if perr != nil {
		r.log.Error("push failed", "generation", p.Generation, "region", p.Region, "error", perr.Error())
	}
	for _, h := range result.Converged {
		r.log.Info("host converged", "host", h, "generation", p.Generation, "region", p.Region)
	}
	for _, f := range out.hosts {
		switch f.fate {
		case hostNewer:
			r.log.Warn("host runs a newer generation; not retried", "host", f.host, "generation", p.Generation, "error", f.err.Error())
		case hostGone:
			r.log.Warn("pending host is no longer configured; dropped", "host", f.host, "generation", p.Generation)
		default:
			r.log.Error("host did not converge", "host", f.host, "generation", p.Generation, "region", p.Region, "error", f.err.Error())
		}
	}
	r.d.Metrics.Count("extcloud.push.hosts", int64(len(result.Converged)), "region:"+p.Region, "status:converged")
	r.d.Metrics.Count("extcloud.push.hosts", int64(out.failed), "region:"+p.Region, "status:failed")
	if out.running {
		r.log.Info("push still running on hosts; later checks poll it", "hosts", len(out.inProgress), "generation", p.Generation,
			"region", p.Region, "commands", len(result.Commands))
	}
	if out.tooMany > 0 {
		r.log.Warn("many hosts not converged; the next push goes to every target", "hosts", out.tooMany, "generation", p.Generation)
	}
}

// summary completes res from what was probed (every region's report; the
// dry run's action names; healthy only when the region res names was
// probed), writes it as the one decision record of the invocation and
// returns it.
func (r *runner) summary(res Result, seen observed, err error) Result {
	pr := seen.probe
	res.Regions = seen.regionReports()
	res.Action = wouldAct(r.cfg.DryRun, res.Action)
	res.Healthy = nil
	if rep, ok := res.Regions[res.Region]; ok {
		res.Healthy = &rep.Healthy
	}
	attrs := []any{"region", res.Region}
	if res.Healthy != nil {
		attrs = append(attrs, "healthy", *res.Healthy)
	}
	attrs = append(attrs, "action", string(res.Action),
		"outage_seconds", res.OutageSeconds, "generation", res.Generation,
		"probe_ms", ms(pr.Duration), "status", pr.Status, "pending_hosts", res.PendingHosts,
		"regions", res.Regions)
	if res.To != "" {
		attrs = append(attrs, "from", res.From, "to", res.To)
	}
	if res.Reason != "" {
		attrs = append(attrs, "reason", res.Reason)
	}
	if pr.Err != nil {
		attrs = append(attrs, "probe_error", pr.Err.Error())
		attrs = append(attrs, phaseAttrs(pr)...)
	}
	if seen.latency != nil {
		attrs = append(attrs, "latency_ms", seen.latency.ms)
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
	// The heartbeat and the hosts a push left behind, every invocation: the
	// monitors in deploy/datadog alert on their absence and persistence.
	r.d.Metrics.Count("extcloud.check.complete", 1, "action:"+string(res.Action), "region:"+res.Region)
	r.d.Metrics.Gauge("extcloud.push.pending", float64(len(res.PendingHosts)), "region:"+res.Region)
	return res
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
