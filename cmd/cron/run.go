// This file holds the check and validate bodies, the exit codes and the
// wiring of the host parts for one invocation; the other subcommands have
// a file each (status.go, failover.go, pause.go, doctor.go).

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

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
	// lookupEnv is the environment the configuration came from: watch reads
	// supervisord's SUPERVISOR_* variables in it, the audit trail $USER.
	lookupEnv func(string) (string, bool)
	// environ lists that environment (KEY=VALUE), for validate's near
	// misses; nil when the caller cannot list it.
	environ func() []string
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	return runEnv(ctx, args, lookupEnv, nil, stdout, stderr)
}

// runEnv is run with environ, which lists the environment lookupEnv reads
// (os.Environ), so that validate can name variables set but not read.
func runEnv(ctx context.Context, args []string, lookupEnv func(string) (string, bool), environ func() []string, stdout, stderr io.Writer) int {
	cmd, body, cfg, err := parseArgs(args, lookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, cmd)
		return exitOK
	}
	if err == nil && !decisionOnly[cmd.name] {
		err = cfg.ValidateHost()
	}
	if err != nil {
		fmt.Fprintln(stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	return body(ctx, &app{cfg: cfg, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv, environ: environ})
}

func (a *app) validate(context.Context) int {
	// Only the configuration: a missing folder or a supervisord that is down
	// is found by doctor, which the line names.
	fmt.Fprintf(a.stdout, "configuration ok: %d regions, primary %s, state %s, env file %s (doctor checks the folders, supervisord and regions)\n",
		len(a.cfg.Regions), a.cfg.Primary(), a.cfg.StateFile, a.cfg.EnvFile)
	if a.environ != nil {
		// A warning, not an error: another tool may read a name that is
		// near one of ours (DD_AGENT_PORT).
		for _, m := range config.NearMisses(a.environ()) {
			fmt.Fprintln(a.stderr, "extcloud-failover: warning: "+nearMissText(m))
		}
	}
	return exitOK
}

// nearMissText is the warning of a variable set with a typo, as validate
// prints it and watch logs it.
func nearMissText(m config.NearMiss) string {
	return fmt.Sprintf("%s is set but not read: did you mean %s? (%[2]s keeps its default)", m.Name, m.Variable)
}

func (a *app) check(ctx context.Context) int {
	return a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		return check.Run(ctx, a.cfg, deps)
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
		Store:       state.NewFileStore(cfg.StateFile),
		DryRunStore: state.NewFileStore(cfg.StateFile + config.DryRunSuffix),
		Pusher:      pusher,
		Env:         pusher,
		Prober:      probe.New(cfg),
		Preflight:   probe.NewPreflight(cfg),
		Guard:       probe.GuardFor(cfg),
		Metrics:     metrics,
		Log:         log,
		Recover: func(context.Context) (string, int64, error) {
			env, err := remote.ReadEnvFile(cfg.EnvFile)
			return env.Region, env.Generation, err
		},
	}

	return &hostParts{deps: deps, local: local, intake: intake, close: closeMetrics}, nil
}
