// This file holds pushing: claiming an intent, storing it and pushing it,
// re-pushing a pending failover, interpreting and recording the pusher's
// result with compare-and-swap, and adopting the hosts' newer generation.

package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// ErrPushIncomplete means a push left hosts that have not converged; they
// are recorded as pending and retried by later invocations.
var ErrPushIncomplete = errors.New("check: push incomplete")

// MaxPendingHosts is the most host IDs a pending push keeps; beyond it the
// re-push goes to every target.
const MaxPendingHosts = 100

// adopt records the hosts' region and generation after they refused a push
// as stale: the state was behind them (restored from an old copy). Retrying
// would be refused forever; the hosts' truth wins and the outage clock
// starts again for their region.
func (r *runner) adopt(ctx context.Context, s state.State, region string, gen int64) (state.State, error) {
	r.log.Warn("hosts run a newer generation than the state; adopting it", "region", region, "generation", gen,
		"state_region", s.ActiveRegion, "state_generation", s.Generation)
	return r.update(ctx, s, fmt.Sprintf("adopt the hosts' generation %d", gen), func(cur state.State) (state.State, bool) {
		if cur.Generation >= gen {
			return cur, false
		}
		next := cur
		next.ActiveRegion, next.Generation, next.Pending = region, gen, nil
		next.OutageStartedAt, next.LastProbeAt = time.Time{}, time.Time{}
		return next, true
	})
}

// claimIntent makes this invocation the holder of a new intent until its
// deadline, so no concurrent run repeats the push while it is in flight.
func (r *runner) claimIntent(s *state.State) {
	s.Pending.ClaimedUntil = r.deadline
	s.Pending.Attempts = 1
}

// storeAndPush stores a failover intent with compare-and-swap, then pushes
// it and records the pushOutcome. Losing the swap means another invocation
// acted: nothing is pushed.
func (r *runner) storeAndPush(ctx context.Context, old, intent state.State, res Result) (Result, error) {
	stored, err := r.d.Store.Swap(ctx, old, intent)
	if errors.Is(err, state.ErrConflict) {
		return r.lost(ctx, "state changed by another invocation")
	}
	if err != nil {
		return res, fmt.Errorf("store state: %w", err)
	}
	r.d.Metrics.Count("extcloud.failover", 1, "region:"+intent.ActiveRegion, "from:"+old.ActiveRegion)
	return r.pushIntent(ctx, stored, res)
}

// pushIntent pushes the intent just stored and records the pushOutcome.
func (r *runner) pushIntent(ctx context.Context, s state.State, res Result) (Result, error) {
	if err := r.fault(ctx, FaultAfterIntent); err != nil {
		return res, err
	}
	s, err := r.push(ctx, s)
	if s.ActiveRegion != res.To {
		res.To, res.Reason = s.ActiveRegion, "hosts run a newer generation; adopted"
	}
	res.Generation = s.Generation
	res.PendingHosts = []string{}
	if s.Pending != nil {
		res.PendingHosts = pendingHosts(s.Pending)
	}
	return res, err
}

// Poller is a Pusher whose pushes outlive one invocation (SSM Run Command):
// Poll reads how the commands of an earlier push round are doing, and
// sends nothing.
type Poller interface {
	Poll(ctx context.Context, commands []remote.Command) (remote.Result, error)
}

// repush claims a pending failover whose claim has expired and carries it
// on: while the last round's commands may still run it polls them (no new
// command); once they have ended it pushes again to the hosts that did not
// converge (failed, timed out, never received it).
func (r *runner) repush(ctx context.Context, s state.State) (state.State, bool, error) {
	claimed, ok := Claim(s, r.now(), r.deadline)
	if !ok {
		r.log.Info("push in flight in another invocation", "generation", s.Pending.Generation,
			"claimed_until", s.Pending.ClaimedUntil.UTC().Format(time.RFC3339), "action", string(ActionPendingPush))
		return s, false, nil
	}
	poller, polls := r.d.Pusher.(Poller)
	polls = polls && len(s.Pending.Commands) > 0
	if polls {
		claimed.Pending.Attempts-- // a poll is not a push
	}
	if r.cfg.DryRun {
		r.log.Info("dry run: would re-push pending failover", "generation", s.Pending.Generation, "region", s.Pending.Region, "hosts", pendingHosts(s.Pending))
		return s, false, nil
	}
	s, err := r.d.Store.Swap(ctx, s, claimed)
	if err != nil {
		return s, false, err
	}
	if polls {
		r.log.Info("polling the push in flight", "generation", s.Pending.Generation, "region", s.Pending.Region,
			"hosts", pendingHosts(s.Pending), "commands", len(s.Pending.Commands), "action", string(ActionPendingPush))
		var again bool
		if s, again, err = r.poll(ctx, s, poller); !again {
			return s, true, err
		}
	}
	r.log.Info("re-pushing pending failover", "generation", s.Pending.Generation, "region", s.Pending.Region,
		"hosts", pendingHosts(s.Pending), "attempt", s.Pending.Attempts, "action", string(ActionPendingPush))
	s, err = r.push(ctx, s)
	return s, true, err
}

// push sends s.Pending to its hosts and records the pushOutcome.
func (r *runner) push(ctx context.Context, s state.State) (state.State, error) {
	p := s.Pending
	t := remote.Target{Region: p.Region, Cloud: p.Cloud, Generation: p.Generation}
	result, perr := r.d.Pusher.Push(ctx, t, p.Hosts)
	if err := r.fault(ctx, FaultAfterPush); err != nil {
		return s, err
	}
	s, _, err := r.record(ctx, s, result, perr, false)
	return s, err
}

// poll reads the last round's commands and records the pushOutcome. again
// reports that the round has ended with hosts left, which this invocation
// (still holding the claim) is to push to now.
func (r *runner) poll(ctx context.Context, s state.State, poller Poller) (state.State, bool, error) {
	cmds := make([]remote.Command, 0, len(s.Pending.Commands))
	for _, c := range s.Pending.Commands {
		cmds = append(cmds, remote.Command{ID: c.ID, Until: c.Until})
	}
	result, perr := poller.Poll(ctx, cmds)
	if err := r.fault(ctx, FaultAfterPush); err != nil {
		return s, false, err
	}
	return r.record(ctx, s, result, perr, true)
}

// pushOutcome is what one push or poll result means for a pending push.
type pushOutcome struct {
	converged, failed, inProgress []string
	// hosts are the hosts still pending afterwards; nil with all set means
	// every target.
	hosts []string
	all   bool
	// pendingCount is how many hosts were pending when all was set.
	pendingCount int
	// firstErr says why, for the state's LastError and the error returned.
	firstErr string
	// running is set while a command of the round may still run on hosts.
	running bool
	// commands are the round's commands to poll next, while running.
	commands []state.Command
	// inFlightUntil bounds a round that is not polled (the push call also
	// failed): no new push before it.
	inFlightUntil time.Time
}

// done reports whether every host has converged.
func (o pushOutcome) done(perr error) bool {
	return perr == nil && !o.running && !o.all && len(o.hosts) == 0
}

// interpret reads a pusher's result for pending push p. A host still
// pending is one that failed, is still running the push, or was pending and
// not reported on; hosts that refused a stale generation or are no longer
// configured are dropped. A failed call (perr) keeps every pending host.
// A round still running is polled next when the pusher can (pollable) and
// the call did not fail; otherwise nothing is pushed before its commands'
// Until.
func interpret(p *state.Pending, result remote.Result, perr error, pollable bool) pushOutcome {
	o := pushOutcome{converged: result.Converged, inProgress: result.InProgress, running: result.Running()}
	reported := map[string]bool{}
	for _, h := range result.Converged {
		reported[h] = true
	}
	for _, h := range result.InProgress {
		reported[h] = true
	}
	var ids []string
	for h := range result.Failed {
		ids = append(ids, h)
	}
	slices.Sort(ids)
	for _, h := range ids {
		reported[h] = true
		err := result.Failed[h]
		if errors.Is(err, remote.ErrStaleGeneration) || errors.Is(err, remote.ErrUnknownHost) {
			continue
		}
		o.failed = append(o.failed, h)
		if o.firstErr == "" {
			o.firstErr = h + ": " + err.Error()
		}
	}
	hosts := slices.Concat(o.failed, o.inProgress)
	for _, h := range p.Hosts {
		if perr != nil || !reported[h] {
			hosts = append(hosts, h)
		}
	}
	if perr != nil {
		o.firstErr = perr.Error()
	}
	hosts = slices.DeleteFunc(hosts, func(h string) bool { return slices.Contains(result.Converged, h) })
	slices.Sort(hosts)
	o.hosts = slices.Compact(hosts)
	if len(o.hosts) > MaxPendingHosts {
		o.pendingCount = len(o.hosts)
		o.hosts, o.all = nil, true
	}
	switch {
	case o.running && perr == nil && pollable:
		for _, c := range result.Commands {
			o.commands = append(o.commands, state.Command{ID: c.ID, Until: c.Until})
		}
	case o.running:
		for _, c := range result.Commands {
			if !c.Ended && c.Until.After(o.inFlightUntil) {
				o.inFlightUntil = c.Until
			}
		}
	}
	return o
}

// record logs and counts what a push or poll result means and stores it
// with compare-and-swap. After a poll (polled) whose round has ended with
// hosts left, it keeps this invocation's claim and reports again: the
// caller pushes to those hosts now.
func (r *runner) record(ctx context.Context, s state.State, result remote.Result, perr error, polled bool) (state.State, bool, error) {
	p := s.Pending
	if errors.Is(perr, remote.ErrStaleGeneration) && r.d.Recover != nil {
		region, gen, err := r.d.Recover(ctx)
		if _, known := r.cfg.Cloud(region); err == nil && known && gen > p.Generation {
			s, err := r.adopt(ctx, s, region, gen)
			return s, false, err
		}
	}
	_, pollable := r.d.Pusher.(Poller)
	o := interpret(p, result, perr, pollable)
	if perr != nil {
		r.log.Error("push failed", "generation", p.Generation, "region", p.Region, "error", perr.Error())
	}
	for _, h := range result.Converged {
		r.log.Info("host converged", "host", h, "generation", p.Generation, "region", p.Region)
	}
	for h, err := range result.Failed {
		switch {
		case errors.Is(err, remote.ErrStaleGeneration):
			r.log.Warn("host runs a newer generation; not retried", "host", h, "generation", p.Generation, "error", err.Error())
		case errors.Is(err, remote.ErrUnknownHost):
			r.log.Warn("pending host is no longer configured; dropped", "host", h, "generation", p.Generation)
		default:
			r.log.Error("host did not converge", "host", h, "generation", p.Generation, "region", p.Region, "error", err.Error())
		}
	}
	if len(o.inProgress) > 0 || o.running {
		r.log.Info("push in progress on hosts; later checks poll it", "hosts", len(o.inProgress), "generation", p.Generation,
			"region", p.Region, "commands", len(result.Commands))
	}
	r.d.Metrics.Count("extcloud.push.hosts", int64(len(result.Converged)), "region:"+p.Region, "status:converged")
	r.d.Metrics.Count("extcloud.push.hosts", int64(len(o.failed)), "region:"+p.Region, "status:failed")
	if o.all {
		// A large fleet that has not finished (SSM waves outlast one
		// invocation): re-push to every target rather than keep thousands of
		// IDs in the state item and send them back 50 at a time. The push is
		// idempotent per generation, so converged hosts restart nothing.
		r.log.Warn("many hosts not converged; the next push goes to every target", "generation", p.Generation)
		o.firstErr = fmt.Sprintf("%d hosts not converged, e.g. %s", o.pendingCount, o.firstErr)
	}
	converged := o.done(perr)
	again := polled && perr == nil && !o.running && !converged
	s, err := r.update(ctx, s, fmt.Sprintf("record push of generation %d", p.Generation), func(cur state.State) (state.State, bool) {
		if cur.Pending == nil || cur.Pending.Generation != p.Generation {
			return cur, false // another invocation recorded or superseded it
		}
		next := cur
		if converged {
			next.Pending = nil
			return next, true
		}
		np := *cur.Pending
		np.Hosts = o.hosts
		np.Commands = o.commands
		if o.firstErr != "" {
			np.LastError = o.firstErr
		}
		switch {
		case again:
			// Keep the claim: this invocation pushes to the hosts left now.
			np.Attempts++
		case o.inFlightUntil.After(r.now()):
			// Hosts may still run a push that is not polled: not before then.
			np.ClaimedUntil = o.inFlightUntil
		default:
			// Release the claim: the next invocation polls or retries.
			np.ClaimedUntil = time.Time{}
		}
		next.Pending = &np
		return next, true
	})
	if err != nil {
		return s, false, err
	}
	if !converged && (s.Pending == nil || s.Pending.Generation != p.Generation) {
		return s, false, nil // another invocation recorded or superseded it
	}
	switch {
	case converged:
		r.log.Info("failover converged", "generation", p.Generation, "region", p.Region)
		return s, false, nil
	case again:
		return s, true, nil
	case o.running && perr == nil && len(o.failed) == 0:
		return s, false, nil // still running on hosts: not a failure yet
	}
	return s, false, fmt.Errorf("%w: generation %d: %s (hosts stay pending; later checks retry them, `status` lists them)", ErrPushIncomplete, p.Generation, o.firstErr)
}

// update applies change to the stored state with compare-and-swap. When
// another invocation wrote first it reloads and applies change again; change
// returns false when, on the current state, nothing is left to do.
func (r *runner) update(ctx context.Context, s state.State, what string, change func(state.State) (state.State, bool)) (state.State, error) {
	const attempts = 5
	for range attempts {
		next, ok := change(s)
		if !ok {
			return s, nil
		}
		stored, err := r.d.Store.Swap(ctx, s, next)
		if err == nil {
			return stored, nil
		}
		if !errors.Is(err, state.ErrConflict) {
			return s, fmt.Errorf("%s: %w", what, err)
		}
		if s, err = r.d.Store.Load(ctx); err != nil {
			return s, fmt.Errorf("%s: %w", what, err)
		}
	}
	return s, fmt.Errorf("%s: %w %d times in a row", what, state.ErrConflict, attempts)
}
