package main

import (
	"context"
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

// Exit codes, part of the contract in DESIGN.md.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

const usageText = `usage: extcloud-failover [command] [flags]

commands:
  check              run one invocation (the default)
  status [--json]    print the active region, outage, last failover and pending hosts
  failover --to R [--force]
                     force a switch to region R (same compare-and-swap and push);
                     refused when R fails its pre-flight, unless --force
  pause [--for D] [--reason T]
                     hold automatic switches for D (default 1h, at most 7 days)
  resume             lift a pause
  doctor             check the whole failover path without changing anything
  validate           check the configuration and exit

flags (each overrides the environment variable of the same name):
`

// commands maps command names to their bodies.
var commands = map[string]func(a *app, ctx context.Context) int{
	"check":    (*app).check,
	"status":   (*app).status,
	"failover": (*app).failover,
	"validate": (*app).validate,
	"pause":    (*app).pause,
	"resume":   (*app).resume,
	"doctor":   (*app).doctor,
}

// app is one invocation of the binary with its parsed flags.
type app struct {
	cfg       *config.Config
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	json      bool
	to        string
	force     bool
	pauseFor  time.Duration
	reason    string
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	name := "check"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	a := &app{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	pauseFor := ""
	cfg, rest, err := config.Load(args, lookupEnv, func(fs *flag.FlagSet) {
		fs.BoolVar(&a.json, "json", false, "status: print JSON")
		fs.StringVar(&a.to, "to", "", "failover: the region to switch to")
		fs.BoolVar(&a.force, "force", false, "failover: switch even when the region fails its pre-flight")
		fs.StringVar(&pauseFor, "for", "", "pause: how long to hold automatic switches")
		fs.StringVar(&a.reason, "reason", "", "pause: why, for status and the logs")
	})
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		config.Usage(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	if len(rest) > 0 && name == "check" && commands[rest[0]] != nil {
		name, rest = rest[0], rest[1:]
	}
	cmd, ok := commands[name]
	if ok && len(rest) > 0 {
		ok, name = false, rest[0] // a stray argument after a known command
	}
	if !ok {
		fmt.Fprintf(stderr, "extcloud-failover: unknown command or argument %q (want check, status, failover --to REGION, pause, resume, doctor or validate; --help lists the flags)\n", name)
		return exitUsage
	}
	if a.json && name != "status" {
		fmt.Fprintln(stderr, "extcloud-failover: --json: only for status")
		return exitUsage
	}
	if (a.to != "") != (name == "failover") {
		fmt.Fprintln(stderr, "extcloud-failover: --to: required with failover, and only with failover (e.g. failover --to EU)")
		return exitUsage
	}
	if a.force && name != "failover" {
		fmt.Fprintln(stderr, "extcloud-failover: --force: only with failover --to REGION")
		return exitUsage
	}
	if (pauseFor != "" || a.reason != "") && name != "pause" {
		fmt.Fprintln(stderr, "extcloud-failover: --for, --reason: only for pause (e.g. pause --for 2h --reason maintenance)")
		return exitUsage
	}
	if name == "pause" {
		if a.pauseFor, err = parsePauseFor(pauseFor); err != nil {
			fmt.Fprintln(stderr, "extcloud-failover: "+err.Error())
			return exitUsage
		}
		if p := check.TextProblem(a.reason, check.MaxReasonBytes); p != "" {
			fmt.Fprintln(stderr, "extcloud-failover: --reason: "+p)
			return exitUsage
		}
	}
	if err := cfg.ValidateHost(); err != nil {
		fmt.Fprintln(stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	a.cfg = cfg
	return cmd(a, ctx)
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
		Store:       state.NewFileStore(cfg.StateFile),
		DryRunStore: state.NewFileStore(cfg.StateFile + config.DryRunSuffix),
		Pusher:      pusher,
		Prober:      probe.New(cfg),
		Guard:       probe.GuardFor(cfg),
		Metrics:     metrics,
		Log:         log,
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
