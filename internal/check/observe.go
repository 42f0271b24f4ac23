// This file holds observing: probing the active region, the local-network
// guard and its differential verdict, and the pre-flight probes of the
// failover candidates.

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

type latencyFigure struct {
	ms float64
	at time.Time
}

// observe probes the active region and, when it fails, tells our own
// network's failure from the region's. It returns pre-flight candidates
// when it had to probe them for the differential verdict.
func (r *runner) observe(ctx context.Context, s state.State) (Observation, []Candidate) {
	region, ok := r.cfg.Cloud(s.ActiveRegion)
	var pr probe.Result
	if !ok {
		pr = probe.Result{Region: s.ActiveRegion, Err: fmt.Errorf("active region %q is not in EXT_CLOUD_FAILOVER_LIST: counted as down until a failover (or failover --to) moves to a listed region", s.ActiveRegion)}
	} else {
		pr = r.d.Prober.Probe(ctx, config.Region{Name: s.ActiveRegion, Cloud: region})
	}
	r.recordProbe(pr)
	obs := Observation{Healthy: pr.Healthy}

	mode := r.cfg.LatencyCheck
	always := mode == config.LatencyAlways && r.now().Sub(s.LatencyAt) >= r.cfg.LatencyInterval
	if r.d.Guard == nil || mode == config.LatencyOff || (pr.Healthy && !always) {
		return obs, nil
	}
	g := r.d.Guard.Check(ctx)
	if g.Latency > 0 {
		ms := float64(g.Latency) / float64(time.Millisecond)
		r.d.Metrics.Gauge("extcloud.latency.ms", ms)
		if always {
			r.latency = &latencyFigure{ms: ms, at: r.now()}
		}
	}
	if pr.Healthy || g.OK {
		return obs, nil
	}
	// Our network looks down. If other regions answer, the outage is real
	// whatever the guard says (a differential verdict).
	candidates := r.preflight(ctx, s.ActiveRegion)
	for _, c := range candidates {
		if c.Healthy {
			r.log.Warn("local-network guard failed but other regions answer: outage is real", "error", errString(g.Err))
			return obs, candidates
		}
	}
	r.log.Warn("local network unavailable: outage clock not advanced", "error", errString(g.Err), "action", string(ActionInconclusive))
	obs.Inconclusive = true
	return obs, nil
}

func (r *runner) recordProbe(pr probe.Result) {
	r.probeMS = float64(pr.Duration) / float64(time.Millisecond)
	r.status = pr.Status
	r.probeErr = pr.Err
	status := "ok"
	if !pr.Healthy {
		status = "fail"
	}
	r.d.Metrics.Gauge("extcloud.probe.latency", r.probeMS, "region:"+pr.Region, "status:"+status)
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
			attrs := []any{"region", reg.Name, "healthy", pr.Healthy, "probe_ms", float64(pr.Duration) / float64(time.Millisecond), "status", pr.Status}
			if pr.Err != nil {
				attrs = append(attrs, "error", pr.Err.Error())
			}
			r.log.Info("pre-flight probe", attrs...)
		})
	}
	wg.Wait()
	return out
}
