// This file holds the pause and resume commands: an operator's hold on
// automatic switches, stored in the state for every checker sharing it.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"extcloud-failover/internal/check"
)

// operator names who runs the command, for the audit trail: $USER@hostname.
func (a *app) operator() string {
	user, _ := a.lookupEnv("USER")
	if user == "" {
		user = fmt.Sprintf("uid%d", os.Getuid())
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return user + "@" + host
}

// pauseFlags is pause's own flags, --for and --reason, and its body.
func pauseFlags(fs *flag.FlagSet) body {
	dur := fs.String("for", "", "how long to hold automatic switches (default 1h, at most 7 days)")
	reason := fs.String("reason", "", "why, for status and the logs")
	return func(ctx context.Context, a *app) int { return a.pause(ctx, *dur, *reason) }
}

func (a *app) pause(ctx context.Context, dur, reason string) int {
	d, err := parsePauseFor(dur)
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	if p := check.TextProblem(reason, check.MaxReasonBytes); p != "" {
		fmt.Fprintln(a.stderr, "extcloud-failover: --reason: "+p)
		return exitUsage
	}
	req := check.PauseRequest{For: d, Reason: reason, By: a.operator()}
	return a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		_, err := check.Pause(ctx, a.cfg, deps, req)
		return check.Result{}, err
	})
}

func (a *app) resume(ctx context.Context) int {
	by := a.operator()
	return a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		_, err := check.Resume(ctx, a.cfg, deps, by)
		if errors.Is(err, check.ErrNotPaused) {
			deps.Log.Info("not paused: nothing to resume", "action", "resume")
			return check.Result{}, nil
		}
		return check.Result{}, err
	})
}

// parsePauseFor reads --for; empty means check.DefaultPause.
func parsePauseFor(s string) (time.Duration, error) {
	if s == "" {
		return check.DefaultPause, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--for: %.40q is not a duration (want e.g. 2h or 30m)", s)
	}
	if p := check.PauseDurationProblem(s, d); p != "" {
		return 0, fmt.Errorf("--for: %s", p)
	}
	return d, nil
}
