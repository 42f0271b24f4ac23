// This file holds the dry run, in one place: with DRY_RUN the invocation
// keeps its own state (Deps.DryRunStore) instead of the real one, pushes
// through a pusher that touches nothing, and reports what it would have
// done (would_failover, would_failback, ...) at info.

package check

import (
	"context"
	"errors"
	"slices"

	"extcloud-failover/internal/remote"
)

// errNoDryRunStore means DRY_RUN was asked for without a state of its own:
// running on the real state would change it.
var errNoDryRunStore = errors.New("check: dry run without its own state (Deps.DryRunStore)")

// shadow returns d for a dry run: the dry run's own store in place of the
// real one and a pusher that restarts and writes nothing. The real Store and
// Pusher are dropped, so nothing below can reach them; the env file is only
// read (converge calls Env.Compare, never Env.Inspect, in a dry run).
func shadow(d Deps) (Deps, error) {
	if d.DryRunStore == nil {
		return d, errNoDryRunStore
	}
	d.Store, d.Pusher = d.DryRunStore, dryPusher{}
	return d, nil
}

// dryPusher is the dry run's pusher: every host converges at once and
// nothing is sent.
type dryPusher struct{}

func (dryPusher) Push(_ context.Context, _ remote.Target, hosts []string) (remote.Result, error) {
	return remote.Result{Converged: slices.Clone(hosts)}, nil
}

// wouldAct names what a dry run would have done: the actions that change
// the fleet become would_<action>; the others are reported as they are.
func wouldAct(dry bool, a Action) Action {
	if !dry {
		return a
	}
	switch a {
	case ActionFailover, ActionFailback, ActionPendingPush:
		return "would_" + a
	}
	return a
}
