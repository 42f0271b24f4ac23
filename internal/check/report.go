// This file holds reporting: the Result of one invocation, the event lines
// for what changed (outage, recovery, failover, pre-flight, push), the
// metrics, and the one `check complete` summary line. Nothing here decides
// or writes state.

package check

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	if d.Action == ActionFailover {
		res.From, res.To = active, d.To
	}
	res.Region = active
	res.Healthy = seen.obs.Healthy
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

// event logs the line for what changed, besides the summary, and the
// outage metric.
func (r *runner) event(d Decision, active string, pr probe.Result) {
	secs := d.Outage.Seconds()
	switch d.Action {
	case ActionOutageStarted:
		r.log.Warn(d.Reason, append([]any{"region", active, "error", errString(pr.Err), "status", pr.Status, "action", string(d.Action)}, phaseAttrs(pr)...)...)
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

// forcedEvent logs a forced failover about to be stored as generation gen.
func (r *runner) forcedEvent(res Result, gen int64) {
	r.log.Warn(fmt.Sprintf("failover from %s to %s", res.From, res.To), "region", res.To, "from", res.From,
		"reason", res.Reason, "generation", gen, "action", string(ActionFailover))
}

// preflightEvent logs one candidate's pre-flight probe.
func (r *runner) preflightEvent(pr probe.Result) {
	attrs := []any{"region", pr.Region, "healthy", pr.Healthy, "probe_ms", ms(pr.Duration), "status", pr.Status}
	if pr.Err != nil {
		attrs = append(attrs, "error", pr.Err.Error())
	}
	r.log.Info("pre-flight probe", append(attrs, phaseAttrs(pr)...)...)
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

// summary writes the one decision record of the invocation.
func (r *runner) summary(res Result, seen observed, err error) {
	pr := seen.probe
	attrs := []any{
		"region", res.Region, "healthy", res.Healthy, "action", string(res.Action),
		"outage_seconds", res.OutageSeconds, "generation", res.Generation,
		"probe_ms", ms(pr.Duration), "status", pr.Status, "pending_hosts", res.PendingHosts,
	}
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
