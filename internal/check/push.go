// This file holds pushing: claiming an intent, re-pushing a pending
// failover or polling a push still running on hosts, pushing to the hosts,
// interpreting the pusher's result (a pure function), recording it with
// compare-and-swap, and adopting the hosts' newer generation when they
// refuse a push as stale.

package check

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// claimIntent makes this invocation the holder of a new intent until its
// deadline, so no concurrent run repeats the push while it is in flight.
func (r *runner) claimIntent(s *state.State) {
	s.Pending.ClaimedUntil = r.deadline
	s.Pending.Attempts = 1
}

// Poller is a Pusher whose pushes outlive one invocation (SSM Run Command):
// Poll reads how the commands of an earlier push round are doing, and
// sends nothing.
type Poller interface {
	Poll(ctx context.Context, commands []remote.Command) (remote.Result, error)
}

// claimHorizon is the furthest ahead a push claim of this program can lie:
// an invocation claims until its deadline (CHECK_TIMEOUT on a host, the
// check's budget on Lambda), and a push whose hosts may still run it (SSM)
// and that nobody polls claims for the command's delivery timeout (30 s)
// plus its execution timeout (SSM_COMMAND_TIMEOUT) from within that
// budget. A stored claim further ahead was written by a skewed clock and
// counts as expired, so no stored time holds a push back for longer than
// intended.
func (r *runner) claimHorizon() time.Duration {
	budget := max(r.cfg.CheckTimeout, r.deadline.Sub(r.now()))
	h := 2 * max(budget, 30*time.Second)
	if _, ssm := r.d.Pusher.(Poller); ssm {
		h = max(h, budget+30*time.Second+r.cfg.SSMCommandTimeout)
	}
	return h + time.Second
}

// repush claims a pending failover whose claim has expired and carries it
// on: while the last round's commands may still run on hosts it polls them
// (no new command); once they have ended it pushes again, to the hosts that
// failed, timed out or never received them. It reports whether it pushed or
// polled.
func (r *runner) repush(ctx context.Context, s state.State) (state.State, bool, error) {
	p := s.Pending
	horizon := r.claimHorizon()
	if p.ClaimedUntil.After(r.now().Add(horizon)) {
		r.log.Warn(fmt.Sprintf("state time pending.claimed_until lies more than %s ahead (another checker's clock, a restored file): taken as now", horizon),
			"field", "pending.claimed_until", "value", p.ClaimedUntil.UTC().Format(time.RFC3339), "generation", p.Generation)
	}
	claimed, ok := Claim(s, r.now(), r.deadline, horizon)
	if !ok {
		r.log.Info("push in flight in another invocation", "generation", p.Generation,
			"claimed_until", p.ClaimedUntil.UTC().Format(time.RFC3339), "action", string(ActionPendingPush))
		return s, false, nil
	}
	poller, polls := r.d.Pusher.(Poller)
	polls = polls && len(p.Commands) > 0
	if polls {
		claimed.Pending.Attempts-- // a poll is not a push
	}
	s, _, err := r.write(ctx, s, claimed, "would re-push pending failover", "generation", p.Generation, "region", p.Region, "hosts", pendingHosts(p))
	if err != nil {
		return s, false, err
	}
	if polls {
		r.log.Info("polling the push running on hosts", "generation", s.Pending.Generation, "region", s.Pending.Region,
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

// push sends s.Pending to its hosts, reports what happened and records
// which hosts converged.
func (r *runner) push(ctx context.Context, s state.State) (state.State, error) {
	p := *s.Pending
	result, perr := r.d.Pusher.Push(ctx, remote.Target{Region: p.Region, Cloud: p.Cloud, Generation: p.Generation}, p.Hosts)
	if err := r.fault(ctx, FaultAfterPush); err != nil {
		return s, err
	}
	s, _, err := r.settle(ctx, s, result, perr, false)
	return s, err
}

// poll reads the last round's commands and records what they did. again
// reports that the round has ended with hosts left, which this invocation,
// still holding the claim, is to push to now.
func (r *runner) poll(ctx context.Context, s state.State, poller Poller) (state.State, bool, error) {
	cmds := make([]remote.Command, 0, len(s.Pending.Commands))
	for _, c := range s.Pending.Commands {
		cmds = append(cmds, remote.Command{ID: c.ID, Until: c.Until})
	}
	result, perr := poller.Poll(ctx, cmds)
	if err := r.fault(ctx, FaultAfterPush); err != nil {
		return s, false, err
	}
	return r.settle(ctx, s, result, perr, true)
}

// settle interprets, reports and records the result of a push or (polled)
// a poll. A push still running on hosts is no error; hosts that failed are.
func (r *runner) settle(ctx context.Context, s state.State, result remote.Result, perr error, polled bool) (state.State, bool, error) {
	p := *s.Pending
	if errors.Is(perr, remote.ErrStaleGeneration) && r.d.Recover != nil {
		region, gen, err := r.d.Recover(ctx)
		if _, known := r.cfg.Cloud(region); err == nil && known && gen > p.Generation {
			s, err := r.adoptNewerGeneration(ctx, s, region, gen)
			return s, false, err
		}
	}
	_, pollable := r.d.Pusher.(Poller)
	out := interpretPush(p, result, perr, pollable)
	out.again = polled && perr == nil && !out.running && !out.converged
	r.reportPush(p, result, perr, out)
	s, err := r.update(ctx, s, fmt.Sprintf("record push of generation %d", p.Generation), func(cur state.State) (state.State, bool) {
		return out.record(cur, r.now())
	})
	switch {
	case err != nil:
		return s, false, err
	case out.converged:
		r.log.Info("push converged: every host runs the generation", "generation", p.Generation, "region", p.Region)
		return s, false, nil
	case s.Pending == nil || s.Pending.Generation != p.Generation:
		return s, false, nil // another invocation recorded or superseded it
	case out.again:
		return s, true, nil
	case out.running && perr == nil && out.failed == 0:
		return s, false, nil // still running on hosts: not a failure yet
	}
	return s, false, fmt.Errorf("%w: generation %d: %s (hosts stay pending; later checks retry them, `status` lists them)", ErrPushIncomplete, p.Generation, out.lastErr)
}

// pushOutcome is what one push or poll achieved, as interpretPush reads it.
type pushOutcome struct {
	generation int64
	converged  bool // every host converged: the pending push is done
	// retry are the hosts still pending, sorted: failed, still running the
	// push, or pending and not reported on. nil (when not converged) means
	// every target.
	retry []string
	// tooMany is how many hosts had not converged when they were more
	// than MaxPendingHosts, and retry went to every target instead.
	tooMany int
	lastErr string // why not, for the pending record and the error
	// failed counts the hosts that failed (and are retried).
	failed int
	// inProgress are the hosts still running the push (SSM).
	inProgress []string
	// running is set while a command of the round may still run on hosts.
	running bool
	// commands are the round's commands, for a later invocation to poll,
	// while running (and the pusher can poll).
	commands []state.Command
	// inFlightUntil is how long hosts may still be running a push that is
	// not polled (the pusher cannot, or the call also failed): no push
	// before then.
	inFlightUntil time.Time
	// again keeps the claim for a push right after a poll whose round has
	// ended with hosts left; the caller sets it.
	again bool
	// hosts is what happened to each host that did not converge, by host.
	hosts []hostFailure
}

// hostFailure is one host that did not converge, and what follows from it.
type hostFailure struct {
	host string
	err  error
	fate hostFate
}

type hostFate int

const (
	hostRetried hostFate = iota // retried by a later push
	hostNewer                   // runs a newer generation: not retried
	hostGone                    // no longer configured: dropped
)

// interpretPush reads the pusher's result for pending push p: which hosts
// are still pending and why, and what to follow up (pollable: the pusher
// can poll a round still running). A failed call (perr) keeps every pending
// host. It is a pure function.
func interpretPush(p state.Pending, result remote.Result, perr error, pollable bool) pushOutcome {
	out := pushOutcome{generation: p.Generation, inProgress: result.InProgress, running: result.Running()}
	reported := map[string]bool{}
	for _, h := range slices.Concat(result.Converged, result.InProgress) {
		reported[h] = true
	}
	var retry []string
	if perr != nil {
		out.lastErr = perr.Error()
	}
	for _, h := range slices.Sorted(maps.Keys(result.Failed)) {
		reported[h] = true
		err := result.Failed[h]
		f := hostFailure{host: h, err: err, fate: hostRetried}
		switch {
		case errors.Is(err, remote.ErrStaleGeneration):
			f.fate = hostNewer
		case errors.Is(err, remote.ErrUnknownHost):
			f.fate = hostGone
		default:
			retry = append(retry, h)
			out.failed++
			if out.lastErr == "" {
				out.lastErr = h + ": " + err.Error()
			}
		}
		out.hosts = append(out.hosts, f)
	}
	retry = append(retry, result.InProgress...)
	for _, h := range p.Hosts {
		if perr != nil || !reported[h] {
			retry = append(retry, h)
		}
	}
	retry = slices.DeleteFunc(retry, func(h string) bool { return slices.Contains(result.Converged, h) })
	slices.Sort(retry)
	retry = slices.Compact(retry)
	out.converged = perr == nil && !out.running && len(retry) == 0
	if len(retry) > MaxPendingHosts {
		// A large fleet that has not finished (SSM waves outlast one
		// invocation): re-push to every target rather than keep thousands of
		// IDs in the state item and send them back 50 at a time. The push is
		// idempotent per generation, so converged hosts restart nothing.
		out.tooMany = len(retry)
		out.lastErr = fmt.Sprintf("%d hosts not converged, e.g. %s", len(retry), out.lastErr)
		retry = nil
	}
	out.retry = retry
	for _, c := range result.Commands {
		switch {
		case !out.running:
		case pollable && perr == nil:
			out.commands = append(out.commands, state.Command{ID: c.ID, Until: c.Until})
		case !c.Ended && c.Until.After(out.inFlightUntil):
			out.inFlightUntil = c.Until
		}
	}
	return out
}

// record returns cur with the outcome recorded, and false when cur no
// longer holds this push (another invocation recorded or superseded it).
// The claim is released so the next invocation polls or retries; it is
// kept when this invocation pushes again at once (again), and held while
// hosts may still run a push nobody polls.
func (o pushOutcome) record(cur state.State, now time.Time) (state.State, bool) {
	if cur.Pending == nil || cur.Pending.Generation != o.generation {
		return cur, false
	}
	next := cur
	if o.converged {
		next.Pending = nil
		return next, true
	}
	np := *cur.Pending
	np.Hosts = o.retry
	np.LastError = o.lastErr
	np.Commands = o.commands
	switch {
	case o.again:
		np.Attempts++
	case o.inFlightUntil.After(now):
		np.ClaimedUntil = o.inFlightUntil
	default:
		np.ClaimedUntil = time.Time{}
	}
	next.Pending = &np
	return next, true
}

// adoptNewerGeneration records the hosts' region and generation after they
// refused a push as stale: the state was behind them (restored from an old
// copy). Retrying would be refused forever; the hosts' truth wins and the
// outage clock starts again for their region.
func (r *runner) adoptNewerGeneration(ctx context.Context, s state.State, region string, gen int64) (state.State, error) {
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
