// This file holds the doctor command: a read-only readiness check of the
// whole failover path, printed as a checklist.

package main

import (
	"context"
	"fmt"

	"extcloud-failover/internal/doctor"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

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
		Probes:      doctor.NewProbes(cfg),
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
