// This file holds the subcommands' bodies (check, status, failover,
// validate), the exit codes and the wiring of the host parts for one
// invocation.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/telemetry"
)

// Exit codes, part of the contract in README.md.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// app is one invocation of the binary: the loaded configuration and where
// to write.
type app struct {
	cfg    *config.Config
	stdout io.Writer
	stderr io.Writer
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cmd, body, cfg, err := parseArgs(args, lookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, cmd)
		return exitOK
	}
	if err == nil {
		err = cfg.ValidateHost()
	}
	if err != nil {
		fmt.Fprintln(stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	return body(ctx, &app{cfg: cfg, stdout: stdout, stderr: stderr})
}

func (a *app) validate(context.Context) int {
	fmt.Fprintf(a.stdout, "configuration ok: %d regions, primary %s, state %s, env file %s\n",
		len(a.cfg.Regions), a.cfg.Primary(), a.cfg.StateFile, a.cfg.EnvFile)
	return exitOK
}

func (a *app) check(ctx context.Context) int {
	return a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		return check.Run(ctx, a.cfg, deps)
	})
}

// failoverFlags is failover's own flag, --to, and its body.
func failoverFlags(fs *flag.FlagSet) body {
	to := fs.String("to", "", "the region to switch to (required)")
	return func(ctx context.Context, a *app) int { return a.failover(ctx, *to) }
}

func (a *app) failover(ctx context.Context, to string) int {
	if to == "" {
		fmt.Fprintln(a.stderr, "extcloud-failover: --to: required with failover (e.g. failover --to EU)")
		return exitUsage
	}
	if _, err := a.cfg.CloudOf("--to", to); err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	return a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		return check.Failover(ctx, a.cfg, deps, to)
	})
}

// invoke wires the host parts, runs body within CHECK_TIMEOUT and sends the
// telemetry, which never changes the exit code.
func (a *app) invoke(ctx context.Context, body func(context.Context, check.Deps) (check.Result, error)) int {
	cfg := a.cfg
	secrets := cfg.Secrets()
	local := telemetry.NewHandler(a.stdout, telemetry.HandlerOptions{Service: cfg.DDService, Secrets: secrets})
	handler := local
	var intake *telemetry.Intake
	if cfg.DDAPIKey != "" {
		host, _ := os.Hostname()
		intake = telemetry.NewIntake(telemetry.IntakeOptions{
			APIKey: cfg.DDAPIKey, Site: cfg.DDSite, URL: cfg.DDLogsIntakeURL,
			Service: cfg.DDService, Hostname: host, Tags: cfg.DDTags, Secrets: secrets,
		})
		handler = intake.Handler(handler)
	}
	log := slog.New(handler)

	var metrics check.Metrics
	if addr := telemetry.StatsdAddr(cfg.DDAgentHost, cfg.DDDogstatsdURL); addr != "" {
		sd, err := telemetry.NewStatsd(addr, "", []string{"service:" + cfg.DDService})
		if err != nil {
			log.Warn("dogstatsd unavailable; metrics dropped", "error", err.Error())
		} else {
			defer sd.Close()
			metrics = sd
		}
	}

	pusher, err := remote.NewSupervisor(remote.SupervisorConfig{
		URLs: cfg.SupervisorURLs, Username: cfg.SupervisorUsername, Password: cfg.SupervisorPassword,
		Programs: cfg.SupervisorPrograms, EnvFile: cfg.EnvFile, Concurrency: cfg.PushConcurrency,
	})
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	deps := check.Deps{
		Store:   state.NewFileStore(cfg.StateFile),
		Pusher:  pusher,
		Prober:  probe.New(cfg),
		Guard:   probe.GuardFor(cfg),
		Metrics: metrics,
		Log:     log,
		Recover: func(context.Context) (string, int64, error) {
			env, err := remote.ReadEnvFile(cfg.EnvFile)
			return env.Region, env.Generation, err
		},
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	_, err = body(runCtx, deps)
	cancel()

	if intake != nil {
		// Not under runCtx: the check is done, and Flush keeps to its own
		// short timeout. Its failure is logged locally only.
		if ferr := intake.Flush(context.Background()); ferr != nil {
			slog.New(local).Warn("datadog logs intake failed; events dropped", "error", ferr.Error())
		}
	}
	if err != nil {
		return exitRuntime
	}
	return exitOK
}

// statusReport is what status prints.
type statusReport struct {
	Region          string         `json:"region"`
	Cloud           string         `json:"cloud"`
	Generation      int64          `json:"generation"`
	OutageStartedAt time.Time      `json:"outage_started_at,omitzero"`
	OutageSeconds   float64        `json:"outage_seconds"`
	LastFailoverAt  time.Time      `json:"last_failover_at,omitzero"`
	PreviousRegion  string         `json:"previous_region,omitempty"`
	Pending         *state.Pending `json:"pending,omitempty"`
	StateVersion    int64          `json:"state_version"`
}

// statusFlags is status's own flag, --json, and its body.
func statusFlags(fs *flag.FlagSet) body {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, a *app) int { return a.status(*asJSON) }
}

func (a *app) status(asJSON bool) int {
	// status only reads: a corrupt file is reported, not moved aside.
	var s state.State
	data, err := os.ReadFile(a.cfg.StateFile)
	if err == nil {
		s, err = state.Decode(data)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(a.stderr, "extcloud-failover: state "+a.cfg.StateFile+": "+err.Error())
		return exitRuntime
	}
	if s.ActiveRegion == "" {
		s.ActiveRegion = a.cfg.Primary()
	}
	cloud, _ := a.cfg.Cloud(s.ActiveRegion)
	rep := statusReport{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation, OutageStartedAt: s.OutageStartedAt,
		LastFailoverAt: s.LastFailoverAt, PreviousRegion: s.PreviousRegion, Pending: s.Pending, StateVersion: s.Version}
	if !s.OutageStartedAt.IsZero() {
		rep.OutageSeconds = time.Since(s.OutageStartedAt).Seconds()
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitRuntime
		}
		return exitOK
	}
	w := a.stdout
	fmt.Fprintf(w, "active region:  %s (%s)\n", rep.Region, rep.Cloud)
	fmt.Fprintf(w, "generation:     %d\n", rep.Generation)
	if rep.OutageStartedAt.IsZero() {
		fmt.Fprintf(w, "outage:         none\n")
	} else {
		fmt.Fprintf(w, "outage:         since %s (%.0fs)\n", rep.OutageStartedAt.UTC().Format(time.RFC3339), rep.OutageSeconds)
	}
	if rep.LastFailoverAt.IsZero() {
		fmt.Fprintf(w, "last failover:  never\n")
	} else {
		fmt.Fprintf(w, "last failover:  %s from %s\n", rep.LastFailoverAt.UTC().Format(time.RFC3339), rep.PreviousRegion)
	}
	if p := rep.Pending; p == nil {
		fmt.Fprintf(w, "pending push:   none\n")
	} else {
		hosts := "all hosts"
		if len(p.Hosts) > 0 {
			hosts = fmt.Sprint(p.Hosts)
		}
		fmt.Fprintf(w, "pending push:   generation %d to %s, %s, %d attempts, last error: %s\n", p.Generation, p.Region, hosts, p.Attempts, p.LastError)
	}
	return exitOK
}
