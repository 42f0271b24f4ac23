// This file holds observing: probing every region at once, the
// local-network guard and its differential verdict, and the per-region
// results the summary line carries.

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
// no other answers, tells our own network's failure from the region's. It
// returns the observation and whether the active region was healthy.
func (r *runner) observe(ctx context.Context, s state.State) (Observation, bool) {
	results := r.probeAll(ctx, s.ActiveRegion)
	obs := Observation{Regions: make([]RegionResult, 0, len(results))}
	var active probe.Result
	othersUp := false
	for _, pr := range results {
		cloud, _ := r.cfg.Cloud(pr.Region)
		obs.Regions = append(obs.Regions, RegionResult{Region: pr.Region, Cloud: cloud, Healthy: pr.Healthy})
		switch {
		case pr.Region == s.ActiveRegion:
			active = pr
		case pr.Healthy:
			othersUp = true
		}
	}
	r.recordProbe(active)

	mode := r.cfg.LatencyCheck
	always := mode == config.LatencyAlways && r.now().Sub(s.LatencyAt) >= r.cfg.LatencyInterval
	if r.d.Guard == nil || mode == config.LatencyOff || (active.Healthy && !always) {
		return obs, active.Healthy
	}
	g := r.d.Guard.Check(ctx)
	if g.Latency > 0 {
		ms := float64(g.Latency) / float64(time.Millisecond)
		r.d.Metrics.Gauge("extcloud.latency.ms", ms)
		if always {
			r.latency = &latencyFigure{ms: ms, at: r.now()}
		}
	}
	if active.Healthy || g.OK {
		return obs, active.Healthy
	}
	// Our network looks down. If other regions answer, the outage is real
	// whatever the guard says (a differential verdict).
	if othersUp {
		r.log.Warn("local-network guard failed but other regions answer: outage is real", "error", errString(g.Err))
		return obs, false
	}
	r.log.Warn("local network unavailable: outage clock not advanced", "error", errString(g.Err), "action", string(ActionInconclusive))
	obs.Inconclusive = true
	return obs, false
}

// probeAll probes every region of the list at once, within ctx: the active
// one through CLOUDLOOKUP_URL, the others through the pre-flight URL. An
// active region missing from the list counts as down. The results keep the
// list's order and are kept for the summary line.
func (r *runner) probeAll(ctx context.Context, active string) []probe.Result {
	regions := r.cfg.Regions
	out := make([]probe.Result, len(regions), len(regions)+1)
	var g errgroup.Group
	for i, reg := range regions {
		g.Go(func() error {
			out[i] = r.d.Prober.Probe(ctx, reg)
			out[i].Region = reg.Name
			return nil
		})
	}
	_ = g.Wait() // a probe reports its failure in its result, never as an error
	if _, ok := r.cfg.Cloud(active); !ok {
		out = append(out, probe.Result{Region: active, Err: fmt.Errorf("active region %q is not in EXT_CLOUD_FAILOVER_LIST: counted as down until a failover (or failover --to) moves to a listed region", active)})
	}
	r.probes = out
	return out
}

func (r *runner) recordProbe(pr probe.Result) {
	r.probeMS = ms(pr.Duration)
	r.status = pr.Status
	r.probeErr = pr.Err
	status := "ok"
	if !pr.Healthy {
		status = "fail"
	}
	r.d.Metrics.Gauge("extcloud.probe.latency", r.probeMS, "region:"+pr.Region, "status:"+status)
}

// ms is d in milliseconds, the unit of the log's probe figures.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
