// This file holds the checks both paths share: every region's probe and the
// local-network guard.

package doctor

import (
	"context"
	"sync"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
)

// Probes are the network checks of both paths.
type Probes struct {
	// Probe probes the active region as a check does (CLOUDLOOKUP_URL);
	// nil error means healthy.
	Probe func(ctx context.Context, r config.Region) error
	// Preflight probes a failover candidate as a check does (PREFLIGHT_URL);
	// nil means Probe.
	Preflight func(ctx context.Context, r config.Region) error
	// Witness asks WITNESS_URL and LatencyServer measures LATENCY_SERVER,
	// each alone; nil when the URL is not configured.
	Witness       func(ctx context.Context) error
	LatencyServer func(ctx context.Context) error
}

// checkRegions probes every region at once, as a check does: the active
// one through CLOUDLOOKUP_URL, the others through their pre-flight URL.
// The active region down is a failure; another region down is reported,
// not failed: it only narrows where a failover can go.
func (p Probes) checkRegions(ctx context.Context, rep *Report, cfg *config.Config, active string) {
	preflight := p.Preflight
	if preflight == nil {
		preflight = p.Probe
	}
	errs := make([]error, len(cfg.Regions))
	var wg sync.WaitGroup
	for i, r := range cfg.Regions {
		probe := preflight
		if r.Name == active {
			probe = p.Probe
		}
		wg.Go(func() { errs[i] = probe(ctx, r) })
	}
	wg.Wait()
	down := 0
	for i, r := range cfg.Regions {
		part := "region " + r.Name
		if r.Name == active {
			part += " (active)"
		}
		switch {
		case errs[i] == nil && r.Name == active:
			rep.ok(part, "answers at %s", cfg.ProbeURL(r))
		case errs[i] == nil:
			rep.ok(part, "pre-flight answers at %s", cfg.PreflightProbeURL(r))
		case r.Name == active:
			down++
			rep.add(Fail, part, "down right now: "+errs[i].Error(),
				"the next checks count an outage and fail over after FAILOVER_THRESHOLD; if the cloud is up, check CLOUDLOOKUP_URL and the tunnel")
		default:
			down++
			rep.add(Warn, part, "down right now: "+errs[i].Error()+" (not active: reported, not failed)",
				"a failover skips it while it is down")
		}
	}
	if down == len(cfg.Regions) {
		rep.add(Fail, "regions", "every region is down: nowhere to fail over to", "check our own network and CLOUDLOOKUP_URL")
	}
}

// checkGuard asks the guard's witness and latency server, each on its own,
// since the guard itself is satisfied by either.
func (p Probes) checkGuard(ctx context.Context, rep *Report, cfg *config.Config) {
	if cfg.LatencyCheck == config.LatencyOff {
		rep.ok("local-network guard", "off (LATENCY_CHECK=off)")
		return
	}
	if p.Witness == nil && p.LatencyServer == nil {
		rep.add(Warn, "local-network guard", "neither WITNESS_URL nor LATENCY_SERVER is set: a failure of our own network counts as an outage unless other regions answer",
			"set WITNESS_URL to a neutral URL that always answers")
		return
	}
	var wg sync.WaitGroup
	var witnessErr, serverErr error
	if p.Witness != nil {
		wg.Go(func() { witnessErr = p.Witness(ctx) })
	}
	if p.LatencyServer != nil {
		wg.Go(func() { serverErr = p.LatencyServer(ctx) })
	}
	wg.Wait()
	if p.Witness != nil {
		if witnessErr != nil {
			rep.add(Fail, "guard witness", cfg.WitnessURL+": "+witnessErr.Error(), "set WITNESS_URL to a URL this host can reach")
		} else {
			rep.ok("guard witness", "%s answers", cfg.WitnessURL)
		}
	}
	if p.LatencyServer != nil {
		if serverErr != nil {
			rep.add(Fail, "guard latency server", cfg.LatencyServer+": "+serverErr.Error(), "set LATENCY_SERVER to a speedtest server this host can reach")
		} else {
			rep.ok("guard latency server", "%s answers", cfg.LatencyServer)
		}
	}
}

// NewProbes builds the network checks from the prober and guard a check
// uses, the guard split in two so that each reference is asked alone.
func NewProbes(cfg *config.Config) Probes {
	prober, preflight := probe.New(cfg), probe.NewPreflight(cfg)
	p := Probes{
		Probe:     func(ctx context.Context, r config.Region) error { return prober.Probe(ctx, r).Err },
		Preflight: func(ctx context.Context, r config.Region) error { return preflight.Probe(ctx, r).Err },
	}
	if cfg.WitnessURL != "" {
		g := probe.NewGuard(probe.GuardOptions{WitnessURL: cfg.WitnessURL, Timeout: cfg.LatencyTimeout})
		p.Witness = func(ctx context.Context) error { return g.Check(ctx).Err }
	}
	if cfg.LatencyServer != "" {
		g := probe.NewGuard(probe.GuardOptions{ServerURL: cfg.LatencyServer, Timeout: cfg.LatencyTimeout})
		p.LatencyServer = func(ctx context.Context) error { return g.Check(ctx).Err }
	}
	return p
}
