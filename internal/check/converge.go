// This file holds the convergence step of every invocation: the hosts' env
// file is made to say what the state says, before anything is probed.

package check

import (
	"context"
	"errors"
	"fmt"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// ErrEnvFile means the hosts' env file could not be read or written; the
// invocation still probes and decides, and exits with a runtime error.
var ErrEnvFile = errors.New("check: env file unusable")

// EnvInspector reads the local hosts' env file against a target (the host
// path; *remote.Supervisor satisfies it). Inspect rewrites a file that means
// the target in another form and reports a missing or different one without
// writing it; see remote.EnvFormat.Inspect.
type EnvInspector interface {
	Inspect(t remote.Target) (remote.EnvWrite, error)
	// Compare is Inspect without any write, for a dry run.
	Compare(t remote.Target) (remote.EnvWrite, error)
}

// converge makes the hosts run what s says, when no push is pending (a
// pending push writes the file itself).
//
// Host (Deps.Env set): the env file is read once. Identical: nothing else
// happens. The same target in another form: rewritten, nothing restarted.
// Missing or different: an intent for the state's own generation is stored
// with compare-and-swap and pushed like a failover (the file written, the
// programs restarted in order), with a warning saying what was wrong; hosts
// that do not converge stay pending and are retried. A file with a newer
// generation than the state is the hosts' truth and is adopted.
//
// Lambda (Deps.SeedFleet, no Deps.Env): the hosts' files cannot be read on every run, so
// only the first invocation that finds no state item acts: it records the
// primary as active and pushes generation 0 to the fleet once.
//
// It returns the state to continue with, whether it pushed, and an error
// wrapping state.ErrConflict (another invocation acted), ErrPushIncomplete,
// or ErrEnvFile.
func (r *runner) converge(ctx context.Context, s state.State) (state.State, bool, error) {
	if s.Pending != nil {
		return s, false, nil
	}
	cloud, ok := r.cfg.Cloud(s.ActiveRegion)
	if !ok {
		return s, false, nil // observe reports a region that has left the list
	}
	t := remote.Target{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation}
	var why string
	if r.d.Env == nil {
		if !r.d.SeedFleet || s.Version != 0 {
			return s, false, nil
		}
		why = fmt.Sprintf("no state yet: recording %s (EXT_CLOUD_REGION, the primary) as active and pushing generation %d to the fleet once", t.Region, t.Generation)
	} else {
		inspect := r.d.Env.Inspect
		if r.cfg.DryRun {
			inspect = r.d.Env.Compare
		}
		w, err := inspect(t)
		switch {
		case errors.Is(err, remote.ErrStaleGeneration):
			return r.adoptNewer(ctx, s, err)
		case err != nil:
			r.log.Error("env file unusable; not converged", "error", err.Error())
			return s, false, fmt.Errorf("%w: %w", ErrEnvFile, err)
		case w.Change == remote.EnvUnchanged:
			return s, false, nil
		case w.Change == remote.EnvReformatted && r.cfg.DryRun:
			r.log.Info(fmt.Sprintf("dry run: would rewrite the env file in the %s format (it names the same target: no restart)", r.cfg.EnvFileFormat),
				"region", t.Region, "generation", t.Generation)
			return s, false, nil
		case w.Change == remote.EnvReformatted:
			r.log.Info(fmt.Sprintf("env file rewritten in the %s format; it named the same target, so nothing was restarted", r.cfg.EnvFileFormat),
				"region", t.Region, "generation", t.Generation)
			return s, false, nil
		case w.Change == remote.EnvCreated:
			why = fmt.Sprintf("env file missing: writing it for %s, generation %d, and restarting the programs", t.Region, t.Generation)
		default:
			why = fmt.Sprintf("env file names %s, the state says %s (generation %d): rewriting it and restarting the programs", w.Was, t.Region, t.Generation)
		}
	}
	if r.cfg.DryRun {
		// Only said: the dry run never writes the env file, so recording a
		// converge in its own state would repeat on every run and hide what
		// it shadows (the outage clock and its would_failover).
		r.log.Info(fmt.Sprintf("dry run: would push generation %d of %s: %s", t.Generation, t.Region, why),
			"region", t.Region, "generation", t.Generation)
		return s, false, nil
	}
	intent := s
	intent.Pending = &state.Pending{Generation: t.Generation, Region: t.Region, Cloud: t.Cloud}
	r.claimIntent(&intent)
	stored, written, err := r.write(ctx, s, intent, fmt.Sprintf("would push generation %d of %s", t.Generation, t.Region),
		"region", t.Region, "generation", t.Generation)
	if errors.Is(err, state.ErrConflict) {
		// Another invocation acted (check logs that at info): only the one
		// whose swap wins warns, so a monitor counts one line per event.
		return s, false, err
	}
	r.log.Warn(why, "region", t.Region, "generation", t.Generation, "action", string(ActionPendingPush))
	if err != nil || !written {
		return s, false, err
	}
	s, err = r.push(ctx, stored)
	return s, true, err
}

// adoptNewer adopts the region and generation of an env file newer than the
// state (a state restored from an old copy, or deleted while the hosts had
// moved on).
func (r *runner) adoptNewer(ctx context.Context, s state.State, stale error) (state.State, bool, error) {
	if r.d.Recover == nil || r.cfg.DryRun {
		r.log.Warn("env file holds a newer generation than the state; not adopted", "error", stale.Error(), "dry_run", r.cfg.DryRun)
		return s, false, nil
	}
	region, gen, err := r.d.Recover(ctx)
	if _, known := r.cfg.Cloud(region); err != nil || !known || gen <= s.Generation {
		r.log.Warn("env file holds a newer generation than the state, but names no listed region; not adopted", "error", stale.Error())
		return s, false, nil
	}
	s, err = r.adoptNewerGeneration(ctx, s, region, gen)
	return s, false, err
}
