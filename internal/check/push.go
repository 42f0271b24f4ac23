// This file holds pushing: claiming an intent, re-pushing a pending
// failover, pushing to the hosts, interpreting the pusher's result (a pure
// function), recording it with compare-and-swap, and adopting the hosts'
// newer generation when they refuse a push as stale.

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

// claimHorizon is the furthest ahead a push claim of this program can lie:
// an invocation claims until its deadline (CHECK_TIMEOUT on a host, the
// check's budget on Lambda), and a push whose hosts may still run it (SSM)
// claims for its command's timeout (at least 30 s) plus that budget. A
// stored claim further ahead was written by a skewed clock and counts as
// expired, so no stored time holds a push back for longer than intended.
func (r *runner) claimHorizon() time.Duration {
	budget := max(r.cfg.CheckTimeout, r.deadline.Sub(r.now()))
	return 2*max(budget, 30*time.Second) + time.Second
}

// repush claims and re-pushes a pending failover whose claim has expired.
// It reports whether it pushed.
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
	s, _, err := r.write(ctx, s, claimed, "would re-push pending failover", "generation", p.Generation, "region", p.Region, "hosts", pendingHosts(p))
	if err != nil {
		return s, false, err
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
	if errors.Is(perr, remote.ErrStaleGeneration) && r.d.Recover != nil {
		region, gen, err := r.d.Recover(ctx)
		if _, known := r.cfg.Cloud(region); err == nil && known && gen > p.Generation {
			return r.adoptNewerGeneration(ctx, s, region, gen)
		}
	}
	out := interpretPush(p, result, perr)
	r.reportPush(p, result, perr, out)
	s, err := r.update(ctx, s, fmt.Sprintf("record push of generation %d", p.Generation), func(cur state.State) (state.State, bool) {
		return out.record(cur, r.now())
	})
	switch {
	case err != nil:
		return s, err
	case out.converged:
		r.log.Info("push converged: every host runs the generation", "generation", p.Generation, "region", p.Region)
		return s, nil
	case s.Pending == nil || s.Pending.Generation != p.Generation:
		return s, nil // another invocation recorded or superseded it
	}
	return s, fmt.Errorf("%w: generation %d: %s (hosts stay pending; later checks retry them, `status` lists them)", ErrPushIncomplete, p.Generation, out.lastErr)
}

// pushOutcome is what one push achieved, as interpretPush reads it.
type pushOutcome struct {
	generation int64
	converged  bool // every host converged: the pending push is done
	// retry are the hosts the next push goes to, sorted; nil (when not
	// converged) means every target.
	retry []string
	// tooMany is how many hosts had not converged when they were more
	// than MaxPendingHosts, and retry went to every target instead.
	tooMany int
	lastErr string // why not, for the pending record and the error
	// inFlightUntil is how long hosts may still be running this push (SSM).
	inFlightUntil time.Time
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

// interpretPush reads the pusher's result for pending push p: which hosts a
// later push retries and why. It is a pure function.
func interpretPush(p state.Pending, result remote.Result, perr error) pushOutcome {
	out := pushOutcome{generation: p.Generation, inFlightUntil: result.InFlightUntil}
	var retry []string
	if perr != nil {
		retry = slices.Clone(p.Hosts)
		out.lastErr = perr.Error()
	}
	for _, h := range slices.Sorted(maps.Keys(result.Failed)) {
		err := result.Failed[h]
		f := hostFailure{host: h, err: err, fate: hostRetried}
		switch {
		case errors.Is(err, remote.ErrStaleGeneration):
			f.fate = hostNewer
		case errors.Is(err, remote.ErrUnknownHost):
			f.fate = hostGone
		default:
			retry = append(retry, h)
			if out.lastErr == "" {
				out.lastErr = h + ": " + err.Error()
			}
		}
		out.hosts = append(out.hosts, f)
	}
	slices.Sort(retry)
	retry = slices.Compact(retry)
	out.converged = perr == nil && len(retry) == 0
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
	return out
}

// record returns cur with the outcome recorded, and false when cur no
// longer holds this push (another invocation recorded or superseded it).
// The claim is released so the next invocation retries, unless hosts may
// still be running this push (SSM): then not before that.
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
	np.ClaimedUntil = time.Time{}
	if o.inFlightUntil.After(now) {
		np.ClaimedUntil = o.inFlightUntil
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
