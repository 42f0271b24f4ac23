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
// it and records the outcome. Losing the swap means another invocation
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

// pushIntent pushes the intent just stored and records the outcome.
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

// repush claims and re-pushes a pending failover whose claim has expired.
func (r *runner) repush(ctx context.Context, s state.State) (state.State, bool, error) {
	claimed, ok := Claim(s, r.now(), r.deadline)
	if !ok {
		r.log.Info("push in flight in another invocation", "generation", s.Pending.Generation,
			"claimed_until", s.Pending.ClaimedUntil.UTC().Format(time.RFC3339), "action", string(ActionPendingPush))
		return s, false, nil
	}
	if r.cfg.DryRun {
		r.log.Info("dry run: would re-push pending failover", "generation", s.Pending.Generation, "region", s.Pending.Region, "hosts", pendingHosts(s.Pending))
		return s, false, nil
	}
	s, err := r.d.Store.Swap(ctx, s, claimed)
	if err != nil {
		return s, false, err
	}
	r.log.Info("re-pushing pending failover", "generation", s.Pending.Generation, "region", s.Pending.Region,
		"hosts", pendingHosts(s.Pending), "attempt", s.Pending.Attempts, "action", string(ActionPendingPush))
	s, err = r.push(ctx, s)
	return s, true, err
}

// push sends s.Pending to its hosts and records which converged.
func (r *runner) push(ctx context.Context, s state.State) (state.State, error) {
	p := s.Pending
	t := remote.Target{Region: p.Region, Cloud: p.Cloud, Generation: p.Generation}
	result, perr := r.d.Pusher.Push(ctx, t, p.Hosts)
	if err := r.fault(ctx, FaultAfterPush); err != nil {
		return s, err
	}
	if errors.Is(perr, remote.ErrStaleGeneration) && r.d.Recover != nil {
		region, gen, err := r.d.Recover(ctx)
		if _, known := r.cfg.Cloud(region); err == nil && known && gen > p.Generation {
			return r.adopt(ctx, s, region, gen)
		}
	}
	var failed []string
	var firstErr string
	if perr != nil {
		failed = p.Hosts
		firstErr = perr.Error()
		r.log.Error("push failed", "generation", p.Generation, "region", p.Region, "error", firstErr)
	}
	for _, h := range result.Converged {
		r.log.Info("host converged", "host", h, "generation", p.Generation, "region", p.Region)
	}
	for h, err := range result.Failed {
		if errors.Is(err, remote.ErrStaleGeneration) {
			r.log.Warn("host runs a newer generation; not retried", "host", h, "generation", p.Generation, "error", err.Error())
			continue
		}
		if errors.Is(err, remote.ErrUnknownHost) {
			r.log.Warn("pending host is no longer configured; dropped", "host", h, "generation", p.Generation)
			continue
		}
		r.log.Error("host did not converge", "host", h, "generation", p.Generation, "region", p.Region, "error", err.Error())
		failed = append(failed, h)
		if firstErr == "" {
			firstErr = h + ": " + err.Error()
		}
	}
	r.d.Metrics.Count("extcloud.push.hosts", int64(len(result.Converged)), "region:"+p.Region, "status:converged")
	r.d.Metrics.Count("extcloud.push.hosts", int64(len(failed)), "region:"+p.Region, "status:failed")
	slices.Sort(failed)
	failed = slices.Compact(failed)
	converged := perr == nil && len(failed) == 0
	if len(failed) > MaxPendingHosts {
		// A large fleet that has not finished (SSM waves outlast one
		// invocation): re-push to every target rather than keep thousands of
		// IDs in the state item and send them back 50 at a time. The push is
		// idempotent per generation, so converged hosts restart nothing.
		r.log.Warn("many hosts not converged; the next push goes to every target", "hosts", len(failed), "generation", p.Generation)
		firstErr = fmt.Sprintf("%d hosts not converged, e.g. %s", len(failed), firstErr)
		failed = nil
	}
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
		np.Hosts = failed
		np.LastError = firstErr
		// Release the claim so the next invocation retries, unless hosts
		// may still be running this push (SSM): then not before that.
		np.ClaimedUntil = time.Time{}
		if result.InFlightUntil.After(r.now()) {
			np.ClaimedUntil = result.InFlightUntil
		}
		next.Pending = &np
		return next, true
	})
	if err != nil {
		return s, err
	}
	if !converged && (s.Pending == nil || s.Pending.Generation != p.Generation) {
		return s, nil // another invocation recorded or superseded it
	}
	if converged {
		r.log.Info("failover converged", "generation", p.Generation, "region", p.Region)
		return s, nil
	}
	return s, fmt.Errorf("%w: generation %d: %s (hosts stay pending; later checks retry them, `status` lists them)", ErrPushIncomplete, p.Generation, firstErr)
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
