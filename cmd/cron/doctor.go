package main

// This file holds the doctor command: a read-only readiness check of the
// whole failover path, printed as a checklist.

import (
	"context"
	"fmt"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/doctor"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// probesFor builds doctor's network checks from the same prober and guard
// parts a check uses.
func probesFor(cfg *config.Config) doctor.Probes {
	prober := check.NewProber(cfg)
	p := doctor.Probes{Probe: func(ctx context.Context, r config.Region) error { return prober.Probe(ctx, r).Err }}
	if cfg.WitnessURL != "" {
		g := check.NewLatencyGuard(check.LatencyOptions{WitnessURL: cfg.WitnessURL, Timeout: cfg.LatencyTimeout})
		p.Witness = func(ctx context.Context) error { return g.Check(ctx).Err }
	}
	if cfg.LatencyServer != "" {
		g := check.NewLatencyGuard(check.LatencyOptions{ServerURL: cfg.LatencyServer, Timeout: cfg.LatencyTimeout})
		p.LatencyServer = func(ctx context.Context) error { return g.Check(ctx).Err }
	}
	return p
}

func (a *app) doctor(ctx context.Context) int {
	cfg := a.cfg
	sv, err := remote.NewSupervisor(remote.SupervisorConfig{
		URLs: cfg.SupervisorURLs, Username: cfg.SupervisorUsername, Password: cfg.SupervisorPassword,
		Programs: cfg.SupervisorPrograms, EnvFile: cfg.EnvFile, Concurrency: cfg.PushConcurrency,
	})
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	user, _ := a.lookupEnv("USER")
	h := doctor.Host{
		Config:      cfg,
		Probes:      probesFor(cfg),
		Supervisors: sv,
		ReadState:   func() (state.State, error) { return readState(cfg.StateFile) },
		User:        user,
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	defer cancel()
	rep := h.Run(ctx)
	if err := rep.WriteText(a.stdout); err != nil {
		return exitRuntime
	}
	if rep.Failed() {
		return exitRuntime
	}
	return exitOK
}
