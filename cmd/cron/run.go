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
	// lookupEnv is the environment the configuration came from (watch reads
	// supervisord's SUPERVISOR_* variables in it).
	lookupEnv func(string) (string, bool)
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
	return body(ctx, &app{cfg: cfg, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv})
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
	if _, err := a.cfg.CheckRegion("--to", to); err != nil {
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
	p, err := a.hostParts()
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	defer p.close()
	runCtx, cancel := context.WithTimeout(ctx, a.cfg.CheckTimeout)
	err = p.once(runCtx, body)
	cancel()
	if err != nil {
		return exitRuntime
	}
	return exitOK
}

// hostParts are the host's parts of an invocation, built once: a check
// builds them for itself, a watch reuses them for every invocation.
type hostParts struct {
	deps   check.Deps
	local  slog.Handler // stdout only
	intake *telemetry.Intake
	close  func()
}

// once runs body with the parts, then sends the buffered log events to
// the Datadog intake; that never changes the outcome.
func (p *hostParts) once(ctx context.Context, body func(context.Context, check.Deps) (check.Result, error)) error {
	_, err := body(ctx, p.deps)
	if p.intake != nil {
		// Not under ctx: the check is done, and Flush keeps to its own
		// short timeout. Its failure is logged locally only.
		if ferr := p.intake.Flush(context.Background()); ferr != nil {
			slog.New(p.local).Warn("datadog logs intake failed; events dropped", "error", ferr.Error())
		}
	}
	return err
}

// hostParts wires the host parts; an error is a configuration error.
func (a *app) hostParts() (*hostParts, error) {
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
	closeMetrics := func() {}
	if addr := telemetry.StatsdAddr(cfg.DDAgentHost, cfg.DDDogstatsdURL); addr != "" {
		sd, err := telemetry.NewStatsd(addr, "", []string{"service:" + cfg.DDService})
		if err != nil {
			log.Warn("dogstatsd unavailable; metrics dropped", "error", err.Error())
		} else {
			closeMetrics = func() { _ = sd.Close() }
			metrics = sd
		}
	}

	pusher, err := remote.NewSupervisor(remote.SupervisorConfig{
		URLs: cfg.SupervisorURLs, Username: cfg.SupervisorUsername, Password: cfg.SupervisorPassword,
		Programs: cfg.SupervisorPrograms, EnvFile: cfg.EnvFile, Format: remote.EnvFormat(cfg.EnvFileFormat),
		Concurrency: cfg.PushConcurrency,
	})
	if err != nil {
		closeMetrics()
		return nil, err
	}
	deps := check.Deps{
		Store:     state.NewFileStore(cfg.StateFile),
		Pusher:    pusher,
		Env:       pusher,
		Prober:    probe.New(cfg),
		Preflight: probe.NewPreflight(cfg),
		Guard:     probe.GuardFor(cfg),
		Metrics:   metrics,
		Log:       log,
		Recover: func(context.Context) (string, int64, error) {
			env, err := remote.ReadEnvFile(cfg.EnvFile)
			return env.Region, env.Generation, err
		},
	}

	return &hostParts{deps: deps, local: local, intake: intake, close: closeMetrics}, nil
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
	EnvFile         envStatus      `json:"env_file"`
	// FailbackDueAt is when FAILBACK=primary returns to the primary; zero
	// when no failback is on the way.
	FailbackDueAt time.Time `json:"failback_due_at,omitzero"`
}

// envStatus is what the hosts' env file says, next to the state.
type envStatus struct {
	Path       string `json:"path"`
	Region     string `json:"region,omitempty"`
	Cloud      string `json:"cloud,omitempty"`
	Generation int64  `json:"generation"`
	// Matches is true when the file says what the state says; otherwise
	// Problem says how it differs, and the next check rewrites it.
	Matches bool   `json:"matches"`
	Problem string `json:"problem,omitempty"`
}

// readEnvStatus reads the env file for status, without writing and
// without opening anything but a regular file, and compares it with t.
func readEnvStatus(path string, t remote.Target) envStatus {
	st := envStatus{Path: path}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.Problem = "missing"
		return st
	case err == nil && !fi.Mode().IsRegular():
		st.Problem = "not a regular file"
		return st
	case err != nil:
		st.Problem = err.Error()
		return st
	}
	e, err := remote.ReadEnvFile(path)
	if err != nil {
		st.Problem = err.Error()
		return st
	}
	st.Region, st.Cloud, st.Generation = e.Region, e.Cloud, e.Generation
	st.Matches = e.Means(t)
	if !st.Matches {
		st.Problem = fmt.Sprintf("names %s; the state says region %s, cloud %s, generation %d", e.Describe(), t.Region, t.Cloud, t.Generation)
	}
	return st
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
	if s.Version == 0 && s.ActiveRegion == "" {
		// No state yet: a check starts from the region the env file names
		// (when it names a listed one), else the primary.
		if fi, err := os.Stat(a.cfg.EnvFile); err == nil && fi.Mode().IsRegular() {
			if e, err := remote.ReadEnvFile(a.cfg.EnvFile); err == nil {
				if _, known := a.cfg.Cloud(e.Region); known {
					s.ActiveRegion, s.Generation = e.Region, e.Generation
				}
			}
		}
	}
	if s.ActiveRegion == "" {
		s.ActiveRegion = a.cfg.Primary()
	}
	cloud, _ := a.cfg.Cloud(s.ActiveRegion)
	rep := statusReport{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation, OutageStartedAt: s.OutageStartedAt,
		LastFailoverAt: s.LastFailoverAt, PreviousRegion: s.PreviousRegion, Pending: s.Pending, StateVersion: s.Version,
		EnvFile: readEnvStatus(a.cfg.EnvFile, remote.Target{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation})}
	if !s.OutageStartedAt.IsZero() {
		rep.OutageSeconds = time.Since(s.OutageStartedAt).Seconds()
	}
	if due, ok := check.FailbackDue(s, check.PolicyOf(a.cfg)); ok {
		rep.FailbackDueAt = due
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
	switch env := rep.EnvFile; {
	case env.Matches:
		fmt.Fprintf(w, "env file:       %s, generation %d (%s)\n", env.Region, env.Generation, env.Path)
	case env.Region != "":
		fmt.Fprintf(w, "env file:       %s, generation %d (%s): MISMATCH, it %s; the next check rewrites it and restarts the programs\n",
			env.Region, env.Generation, env.Path, env.Problem)
	default:
		fmt.Fprintf(w, "env file:       %s (%s): the next check writes it and restarts the programs\n", env.Problem, env.Path)
	}
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
	switch {
	case a.cfg.Failback != config.FailbackPrimary:
		fmt.Fprintf(w, "failback:       off (FAILBACK=off)\n")
	case rep.FailbackDueAt.IsZero():
		fmt.Fprintf(w, "failback:       none due\n")
	case !rep.FailbackDueAt.After(time.Now()):
		fmt.Fprintf(w, "failback:       due now, to %s (next check)\n", a.cfg.Primary())
	default:
		fmt.Fprintf(w, "failback:       due at %s, to %s, if it stays healthy\n", rep.FailbackDueAt.UTC().Format(time.RFC3339), a.cfg.Primary())
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
