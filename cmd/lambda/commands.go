// This file holds the on-call's event commands: {"command": "pause",
// "for": "2h", "reason": "..."}, {"command": "resume"}, {"command":
// "status"} and {"command": "doctor"}, the Lambda form of the host's
// subcommands of the same names.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/doctor"
	"extcloud-failover/internal/remote/ssmpush"
)

// The commands an event may name.
const (
	cmdPause  = "pause"
	cmdResume = "resume"
	cmdStatus = "status"
	cmdDoctor = "doctor"
)

// CommandResponse is what a command event returns.
type CommandResponse struct {
	Command string `json:"command"`
	// Message says what the command did, in words.
	Message string `json:"message"`
	// Status is the state after the command (pause, resume, status).
	Status *check.Status `json:"status,omitempty"`
	// Doctor is the checklist (doctor).
	Doctor *doctor.Report `json:"doctor,omitempty"`
}

// DoctorError means doctor found a fault: the invocation fails, so that a
// scheduled doctor shows in the function's Errors metric and alarms. The
// message lists the failed checks.
type DoctorError struct{ Report doctor.Report }

func (e *DoctorError) Error() string {
	var fails []string
	for _, r := range e.Report.Results {
		if r.Mark == doctor.Fail {
			fails = append(fails, r.Part+": "+r.Detail)
		}
	}
	return fmt.Sprintf("doctor: %d of %d checks failed: %s", len(fails), len(e.Report.Results), strings.Join(fails, "; "))
}

// checkCommand refuses a command event that cannot be carried out, before
// anything is read or written.
func (a *app) checkCommand(ev Event) (time.Duration, error) {
	if ev.FailoverTo != "" || ev.Force {
		return 0, errors.New("event: failover_to and command: send one of them")
	}
	switch ev.Command {
	case cmdPause:
	case cmdResume, cmdStatus, cmdDoctor:
		if ev.For != "" || ev.Reason != "" {
			return 0, fmt.Errorf("event: for, reason: only for the pause command (got command %q)", ev.Command)
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("event: command: unknown %.40q (want pause, resume, status or doctor)", ev.Command)
	}
	d := check.DefaultPause
	if ev.For != "" {
		var err error
		if d, err = time.ParseDuration(ev.For); err != nil {
			return 0, fmt.Errorf("event: for: %.40q is not a duration (want e.g. \"2h\" or \"30m\")", ev.For)
		}
		if p := check.PauseDurationProblem(ev.For, d); p != "" {
			return 0, fmt.Errorf("event: for: %s", p)
		}
	}
	if p := check.TextProblem(ev.Reason, check.MaxReasonBytes); p != "" {
		return 0, fmt.Errorf("event: reason: %s", p)
	}
	if p := check.TextProblem(ev.By, check.MaxByBytes); p != "" {
		return 0, fmt.Errorf("event: by: %s", p)
	}
	return d, nil
}

// checkFailoverEvent refuses what only a failover_to event may carry, and
// a "by" that cannot reach a log line.
func checkFailoverEvent(ev Event) error {
	if ev.Force && ev.FailoverTo == "" {
		return errors.New("event: force: only with failover_to (e.g. {\"failover_to\": \"EU\", \"force\": true})")
	}
	if ev.For != "" || ev.Reason != "" {
		return errors.New("event: for, reason: only for the pause command")
	}
	if p := check.TextProblem(ev.By, check.MaxByBytes); p != "" {
		return fmt.Errorf("event: by: %s", p)
	}
	return nil
}

// command carries out a checked command event.
func (a *app) command(ctx context.Context, ev Event, pauseFor time.Duration, deps check.Deps) (Response, error) {
	by := a.caller(ctx, ev)
	res := CommandResponse{Command: ev.Command}
	switch ev.Command {
	case cmdPause:
		s, err := check.Pause(ctx, a.cfg, deps, check.PauseRequest{For: pauseFor, Reason: ev.Reason, By: by})
		if err != nil {
			return nil, classify(err)
		}
		st := check.NewStatus(a.cfg, s, a.now())
		res.Status = &st
		res.Message = "automatic failover paused until " + s.Pause.Until.Format(time.RFC3339)
	case cmdResume:
		s, err := check.Resume(ctx, a.cfg, deps, by)
		res.Message = "automatic failover resumed"
		if errors.Is(err, check.ErrNotPaused) {
			res.Message, err = "not paused: nothing to resume", nil
			if s, err = deps.Store.Load(ctx); err != nil {
				return nil, classify(err)
			}
		}
		if err != nil {
			return nil, classify(err)
		}
		st := check.NewStatus(a.cfg, s, a.now())
		res.Status = &st
	case cmdStatus:
		store := deps.Store
		if a.cfg.DryRun {
			store = deps.DryRunStore // the dry run's own state
		}
		s, err := store.Load(ctx)
		if err != nil {
			return nil, classify(err)
		}
		st := check.NewStatus(a.cfg, s, a.now())
		res.Status = &st
		res.Message = "status of " + a.cfg.StateKey
	case cmdDoctor:
		if a.doctor == nil {
			return nil, &CheckError{Err: errors.New("doctor: not available in this build")}
		}
		rep := a.doctor(ctx, deps)
		for _, r := range rep.Results {
			level := slog.LevelInfo
			switch r.Mark {
			case doctor.Fail:
				level = slog.LevelError
			case doctor.Warn:
				level = slog.LevelWarn
			}
			deps.Log.Log(ctx, level, "doctor: "+r.Part+": "+r.Detail, "mark", string(r.Mark), "part", r.Part, "fix", r.Fix, "action", cmdDoctor)
		}
		if rep.Failed() {
			return nil, &DoctorError{Report: rep}
		}
		res.Doctor = &rep
		res.Message = fmt.Sprintf("doctor: all %d checks passed", len(rep.Results))
	}
	deps.Log.Info(res.Message, "command", ev.Command, "by", by)
	return res, nil
}

// caller names who sent ev, for the audit trail: the event's "by", else
// the request ID.
func (a *app) caller(ctx context.Context, ev Event) string {
	if ev.By != "" {
		return ev.By
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return "lambda request " + lc.AwsRequestID
	}
	return "lambda"
}

func (a *app) now() time.Time {
	if a.deps.Now != nil {
		return a.deps.Now()
	}
	return time.Now()
}

// doctorFor wires the function's doctor: the state store of the
// invocation, the prober and guard parts a check uses, and SSM's
// DescribeInstanceInformation for the targets.
func doctorFor(cfg *config.Config, api ssmpush.DescribeAPI) func(context.Context, check.Deps) doctor.Report {
	probes := doctor.NewProbes(cfg)
	targets := ssmConfig(cfg).Targets
	return func(ctx context.Context, deps check.Deps) doctor.Report {
		l := doctor.Lambda{Config: cfg, Probes: probes, Store: deps.Store, Describe: func(ctx context.Context) []doctor.Instances {
			var out []doctor.Instances
			for _, t := range ssmpush.Describe(ctx, api, targets) {
				out = append(out, doctor.Instances{Target: t.Target, Online: t.Online, NotOnline: t.NotOnline, Err: t.Err})
			}
			return out
		}}
		return l.Run(ctx)
	}
}
