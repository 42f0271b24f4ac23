// slowhosts.go: a failover of 1,000 SSM hosts of which 5 % take 60 s to
// restart, driven as the Lambda runs it (one check every 10 s, 9 s each),
// with the command polled across checks against the behaviour before
// (executionTimeout the function's remaining time, re-sent once the claim
// expired).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv/dynalite"
	"extcloud-failover/internal/testenv/localssm"
)

const (
	slowFleet   = 1000
	slowEvery   = 20 // every 20th host: 5 %
	slowRestart = 60 * time.Second
	fastRestart = time.Second
	cadence     = 10 * time.Second // the state machine's
	fnTimeout   = 9 * time.Second  // template.yaml's Timeout
)

// pushOnly hides the pusher's Poll: the checker then behaves as before
// command polling, waiting out a command it cannot follow and re-sending.
type pushOnly struct{ p check.Pusher }

func (p pushOnly) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	return p.p.Push(ctx, t, hosts)
}

// slowRun is what one scenario measured.
type slowRun struct {
	converged  time.Duration // failover to the state recording every host converged; 0 if never
	lastHost   time.Duration // failover to the last host finishing its push successfully
	sends      int
	lists      int
	checks     int
	pendingEnd int // hosts still pending when the window closed
}

// slowHosts runs the scenario as built, then as before command polling, one
// after the other: each takes minutes of real time, so interleaving repeated
// runs (as the timings elsewhere do) would not fit; the figures are counts
// and a ratio within one run.
func (b *bench) slowHosts(ctx context.Context) error {
	dyn, err := b.dynalite(ctx)
	if err != nil {
		return err
	}
	regions, err := b.startRegions()
	if err != nil {
		return err
	}
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=" + regions[0].Cloud() + ",EU=" + regions[1].Cloud() + ",APAC=" + regions[2].Cloud(),
		"CLOUDLOOKUP_URL":             "http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"STATE_TABLE":                 benchTable,
		"SSM_TARGETS":                 "tag:ExtCloudFailover=app",
		"SUPERVISOR_PROGRAMS":         "app",
		"LATENCY_CHECK":               "off",
		"PROBE_TIMEOUT":               "3s",
	}
	ours, err := b.slowScenario(ctx, dyn, env, "slow-ours", ssmpush.DefaultCommandTimeout, true, 5*time.Minute)
	if err != nil {
		return err
	}
	if ours.converged == 0 {
		return fmt.Errorf("the fleet did not converge in 5 minutes (%d hosts pending, %d SendCommand)", ours.pendingEnd, ours.sends)
	}
	window := max(ours.converged+time.Minute, 3*time.Minute)
	before, err := b.slowScenario(ctx, dyn, env, "slow-before", fnTimeout, false, window)
	if err != nil {
		return err
	}

	sec := "SSM: slow hosts"
	cmd := "make bench (slowHosts)"
	b.report.add(row{section: sec,
		figure:   fmt.Sprintf("failover to the last host recorded converged: %s hosts by tag, %d %% restarting in %.0f s, the rest in %.0f s; one check every 10 s (9 s each), MaxConcurrency 50", thousands(slowFleet), 100/slowEvery, slowRestart.Seconds(), fastRestart.Seconds()),
		ours:     fmt.Sprintf("%.0f s (%d checks)", ours.converged.Seconds(), ours.checks),
		baseline: fmt.Sprintf("the last host's own finish, %.0f s after the failover", ours.lastHost.Seconds()),
		ratio:    ratio(float64(ours.converged), float64(ours.lastHost)), goal: "≤ 1.20×", met: float64(ours.converged) <= 1.2*float64(ours.lastHost),
		command: cmd})
	b.report.add(row{section: sec,
		figure:   "SendCommands spent on that failover",
		ours:     fmt.Sprintf("%d SendCommand (%d ListCommandInvocations while polling)", ours.sends, ours.lists),
		baseline: "one command for the tag", ratio: ratio(float64(ours.sends), 1), goal: "1 SendCommand", met: ours.sends == 1,
		command: cmd})
	beforeFig := fmt.Sprintf("never converged: %d hosts still pending after %.0f s", before.pendingEnd, window.Seconds())
	if before.converged > 0 {
		beforeFig = fmt.Sprintf("converged after %.0f s", before.converged.Seconds())
	}
	b.report.add(row{section: sec,
		figure:   fmt.Sprintf("the same failover as before command polling: executionTimeout the function's remaining time (%.0f s), no polling, re-sent once the command's time is up", fnTimeout.Seconds()),
		ours:     fmt.Sprintf("%s; %d SendCommand", beforeFig, before.sends),
		baseline: fmt.Sprintf("as built: %.0f s, %d SendCommand", ours.converged.Seconds(), ours.sends),
		ratio:    ratio(float64(before.sends), float64(ours.sends)) + " SendCommands",
		command:  cmd})
	b.report.note(sec, fmt.Sprintf("Simulated hosts on the local SSM endpoint (internal/testenv/localssm), the real ssmpush and check code in process, DynamoDB on dynalite, real time. As built, the failover's check sends one command with executionTimeout %.0f s and later checks poll it (ListCommands, ListCommandInvocations) until every host has ended; a host that fails, times out or never receives it is sent again, alone. Before, a restart longer than the check was killed at its executionTimeout, so a slow host never finished, and every re-send (after the 30 s delivery timeout plus the execution timeout) killed it again.", ssmpush.DefaultCommandTimeout.Seconds()))
	b.figs["slow.converged"] = ours.converged.Seconds()
	b.figs["slow.sends"] = float64(ours.sends)
	b.figs["slow.before.sends"] = float64(before.sends)
	return nil
}

// slowScenario fails the fleet over to EU at once (check.Failover), then runs
// a check every 10 s until the state records every host converged or window
// has passed.
func (b *bench) slowScenario(ctx context.Context, dyn string, env map[string]string, key string, commandTimeout time.Duration, poll bool, window time.Duration) (slowRun, error) {
	var out slowRun
	srv, _, err := b.simulatedFleet(slowFleet, func(id string) time.Duration {
		var n int
		if _, err := fmt.Sscanf(id, "i-%x", &n); err == nil && n%slowEvery == slowEvery-1 {
			return slowRestart
		}
		return fastRestart
	})
	if err != nil {
		return out, err
	}
	defer srv.Close()
	env["STATE_KEY"] = key
	env["SSM_COMMAND_TIMEOUT"] = fmt.Sprintf("%ds", int(commandTimeout/time.Second))
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return out, err
	}
	if err := cfg.ValidateLambda(); err != nil {
		return out, err
	}
	var pusher check.Pusher = ssmpush.New(localssm.Client(srv.URL), ssmpush.Config{
		Targets: cfg.SSMTargets, EnvFile: cfg.EnvFile, Programs: cfg.SupervisorPrograms, CommandTimeout: cfg.SSMCommandTimeout,
	})
	if !poll {
		pusher = pushOnly{pusher}
	}
	store := dynamo.NewStore(dynalite.Client(dyn), benchTable, key)
	deps := check.Deps{Store: store, Pusher: pusher, Prober: probe.New(cfg), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}

	start := time.Now()
	invoke := func(f func(context.Context) error) error {
		ictx, cancel := context.WithTimeout(ctx, fnTimeout)
		defer cancel()
		out.checks++
		return f(ictx)
	}
	err = invoke(func(c context.Context) error {
		_, err := check.Failover(c, cfg, deps, check.FailoverRequest{To: "EU", By: "make bench"})
		return err
	})
	if err != nil && !errors.Is(err, check.ErrPushIncomplete) {
		return out, fmt.Errorf("failover: %w", err)
	}
	for tick := 1; ; tick++ {
		s, err := store.Load(ctx)
		if err != nil {
			return out, err
		}
		if s.Generation >= 1 && s.Pending == nil {
			out.converged = time.Since(start)
			break
		}
		if time.Since(start) > window {
			out.pendingEnd = len(s.Pending.Hosts)
			if len(s.Pending.Hosts) == 0 {
				out.pendingEnd = slowFleet / slowEvery // every target: count the slow ones
			}
			break
		}
		next := start.Add(time.Duration(tick) * cadence)
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(time.Until(next)):
		}
		if err := invoke(func(c context.Context) error { _, err := check.Run(c, cfg, deps); return err }); err != nil && !errors.Is(err, check.ErrPushIncomplete) {
			return out, fmt.Errorf("check %d: %w", tick, err)
		}
	}
	ops := srv.RequestsByOperation()
	out.sends, out.lists = ops["SendCommand"], ops["ListCommandInvocations"]
	for _, inv := range srv.Invocations() {
		if inv.Status == "Success" && inv.End.Sub(start) > out.lastHost {
			out.lastHost = inv.End.Sub(start)
		}
	}
	b.logf("%s: converged %v, last host %v, %d SendCommand, %d checks", key, out.converged.Round(time.Second), out.lastHost.Round(time.Second), out.sends, out.checks)
	return out, nil
}
