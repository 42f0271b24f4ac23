// This file holds observing: probing every region at once, the
// local-network guard and its differential verdict, and the probe of a
// forced failover's target. Each returns what it saw as an observed value.

package check

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

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
	// probes are every region's probes, in list order; the summary line's
	// `regions` field.
	probes []probe.Result
	// latency is the guard's figure to store (LATENCY_CHECK=always, when
	// due); nil otherwise.
	latency *latencyFigure
}

type latencyFigure struct {
	ms float64
	at time.Time
}

// RegionReport is one region's probe result in the `regions` field of the
// summary line, which `simulate --log` replays.
type RegionReport struct {
	Healthy bool    `json:"healthy"`
	Status  int     `json:"status"`
	MS      float64 `json:"ms"`
}

// observe probes every region at once and, when the active one fails and
// no other answers, tells our own network's failure from the region's.
func (r *runner) observe(ctx context.Context, s state.State) observed {
	seen := observed{probes: r.probeAll(ctx, s.ActiveRegion)}
	seen.obs.Regions = make([]RegionResult, 0, len(seen.probes))
	othersUp := false
	for _, pr := range seen.probes {
		cloud, _ := r.cfg.Cloud(pr.Region)
		seen.obs.Regions = append(seen.obs.Regions, RegionResult{Region: pr.Region, Cloud: cloud, Healthy: pr.Healthy})
		switch {
		case pr.Region == s.ActiveRegion:
			seen.probe = pr
		case pr.Healthy:
			othersUp = true
		}
	}
	r.probeMetrics(seen.probe)

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
	if othersUp {
		r.log.Warn("local-network guard failed but other regions answer: outage is real", "error", errString(g.Err))
		return seen
	}
	r.log.Warn("local network unavailable: outage clock not advanced", "error", errString(g.Err), "action", string(ActionInconclusive))
	seen.obs.Inconclusive = true
	return seen
}

// probeAll probes every region of the list at once, within ctx: the active
// one through Deps.Prober (CLOUDLOOKUP_URL), the others through
// Deps.Preflight (the pre-flight URL). An active region missing from the
// list counts as down. The results keep the list's order.
func (r *runner) probeAll(ctx context.Context, active string) []probe.Result {
	regions := r.cfg.Regions
	out := make([]probe.Result, len(regions), len(regions)+1)
	var g errgroup.Group
	for i, reg := range regions {
		g.Go(func() error {
			prober := r.d.Prober
			if reg.Name != active {
				prober = r.preflightProber()
			}
			out[i] = prober.Probe(ctx, reg)
			out[i].Region = reg.Name
			return nil
		})
	}
	_ = g.Wait() // a probe reports its failure in its result, never as an error
	if _, ok := r.cfg.Cloud(active); !ok {
		out = append(out, probe.Result{Region: active, Err: fmt.Errorf("active region %q is not in EXT_CLOUD_FAILOVER_LIST: counted as down until a failover (or failover --to) moves to a listed region", active)})
	}
	return out
}

// regionReports returns every probed region's result for the summary
// line and the Result; empty (never nil, so the field is always there)
// when nothing was probed.
func (seen observed) regionReports() map[string]RegionReport {
	out := make(map[string]RegionReport, len(seen.probes))
	for _, pr := range seen.probes {
		out[pr.Region] = RegionReport{Healthy: pr.Healthy, Status: pr.Status, MS: ms(pr.Duration)}
	}
	return out
}

// probeTarget probes a forced failover's target; the caller refuses or
// forces past a failed pre-flight, and logs which.
func (r *runner) probeTarget(ctx context.Context, target config.Region) observed {
	seen := observed{probe: r.preflightProber().Probe(ctx, target)}
	r.probeMetrics(seen.probe)
	seen.probes = []probe.Result{seen.probe}
	return seen
}

// preflightProber probes the regions that are not active: Deps.Preflight,
// else Deps.Prober.
func (r *runner) preflightProber() RegionProber {
	if r.d.Preflight != nil {
		return r.d.Preflight
	}
	return r.d.Prober
}
