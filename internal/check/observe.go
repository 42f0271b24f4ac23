// This file holds observing: probing the active region, the local-network
// guard and its differential verdict, the pre-flight probes of the failover
// candidates and the probe of a forced failover's target. Each returns what
// it saw as an observed value.

package check

import (
	"context"
	"fmt"
	"sync"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/state"
)

// observed is what one invocation saw: the Observation Decide takes and the
// figures the report logs.
type observed struct {
	obs Observation
	// probe is the probe the summary reports: the active region's, or a
	// forced failover's target's.
	probe probe.Result
	// candidates are the pre-flight probes made for the differential
	// verdict, in failover order; nil when none were made.
	candidates []Candidate
	// latency is the guard's figure to store (LATENCY_CHECK=always, when
	// due); nil otherwise.
	latency *latencyFigure
}

type latencyFigure struct {
	ms float64
	at time.Time
}

// observe probes the active region and, when it fails, tells our own
// network's failure from the region's. When the guard says our network is
// down it probes the candidates too: if any answers, the outage is real.
func (r *runner) observe(ctx context.Context, s state.State) observed {
	var seen observed
	if cloud, ok := r.cfg.Cloud(s.ActiveRegion); ok {
		seen.probe = r.d.Prober.Probe(ctx, config.Region{Name: s.ActiveRegion, Cloud: cloud})
	} else {
		seen.probe = probe.Result{Region: s.ActiveRegion, Err: fmt.Errorf("active region %q is not in EXT_CLOUD_FAILOVER_LIST: counted as down until a failover (or failover --to) moves to a listed region", s.ActiveRegion)}
	}
	r.probeMetrics(seen.probe)
	seen.obs.Healthy = seen.probe.Healthy

	mode := r.cfg.LatencyCheck
	always := mode == config.LatencyAlways && r.now().Sub(s.LatencyAt) >= r.cfg.LatencyInterval
	if r.d.Guard == nil || mode == config.LatencyOff || (seen.probe.Healthy && !always) {
		return seen
	}
	g := r.d.Guard.Check(ctx)
	if g.Latency > 0 {
		r.d.Metrics.Gauge("extcloud.latency.ms", ms(g.Latency))
		if always {
			seen.latency = &latencyFigure{ms: ms(g.Latency), at: r.now()}
		}
	}
	if seen.probe.Healthy || g.OK {
		return seen
	}
	// Our network looks down. If other regions answer, the outage is real
	// whatever the guard says (a differential verdict).
	candidates := r.preflight(ctx, s.ActiveRegion)
	for _, c := range candidates {
		if c.Healthy {
			r.log.Warn("local-network guard failed but other regions answer: outage is real", "error", errString(g.Err))
			seen.candidates = candidates
			return seen
		}
	}
	r.log.Warn("local network unavailable: outage clock not advanced", "error", errString(g.Err), "action", string(ActionInconclusive))
	seen.obs.Inconclusive = true
	return seen
}

// preflight probes every candidate except active, concurrently, and returns
// them in failover order.
func (r *runner) preflight(ctx context.Context, active string) []Candidate {
	order := r.cfg.FailoverOrder(active)
	out := make([]Candidate, len(order))
	var wg sync.WaitGroup
	for i, reg := range order {
		wg.Go(func() {
			pr := r.d.Prober.Probe(ctx, reg)
			out[i] = Candidate{Region: reg.Name, Cloud: reg.Cloud, Healthy: pr.Healthy}
			r.preflightEvent(pr)
		})
	}
	wg.Wait()
	return out
}

// probeTarget probes a forced failover's target. A failed pre-flight is
// logged and does not stop the failover.
func (r *runner) probeTarget(ctx context.Context, target config.Region) observed {
	seen := observed{probe: r.d.Prober.Probe(ctx, target)}
	r.probeMetrics(seen.probe)
	seen.obs.Healthy = seen.probe.Healthy
	if !seen.probe.Healthy {
		r.log.Warn("forced failover target failed its pre-flight; switching anyway", append([]any{"region", target.Name, "error", errString(seen.probe.Err)}, phaseAttrs(seen.probe)...)...)
	}
	return seen
}
