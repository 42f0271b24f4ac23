// This file holds one invocation's steps: the public entry points Run and
// Failover, the runner that carries their dependencies, loading the state
// (starting from the hosts' truth when there is none), the sequence of one
// check, deciding (with the pre-flight round), the one write of a decision,
// a lost compare-and-swap, and a forced failover.

package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// FaultPoint names a place in one invocation where a test may stop it.
type FaultPoint string

// The fault points of one invocation.
const (
	FaultAfterIntent FaultPoint = "after-intent" // intent stored, nothing pushed
	FaultAfterPush   FaultPoint = "after-push"   // pushed, result not stored
)

// Deps are the parts one invocation talks to. Store, Pusher and Prober are
// required; the rest may be nil.
type Deps struct {
	Store  state.Store
	Pusher Pusher
	Prober RegionProber
	// Preflight probes failover candidates (PREFLIGHT_URL: their clouds
	// directly); nil means Prober. Prober probes the active region
	// (CLOUDLOOKUP_URL, which may be a local tunnel).
	Preflight RegionProber
	Guard     Guard   // nil: no local-network guard
	Metrics   Metrics // nil: no metrics
	Log       *slog.Logger
	Now       func() time.Time
	// Recover returns the region and generation the hosts run (read from
	// ext_cloud.env): the starting point when there is no usable state, and
	// the truth adopted when the hosts refuse a push as stale. nil means the
	// primary, and a stale refusal is only logged.
	Recover func(ctx context.Context) (region string, generation int64, err error)
	// Env reads the local hosts' env file on every invocation so that it is
	// converged with the state (the host path); nil on Lambda. See converge.
	Env EnvInspector
	// SeedFleet, without Env, makes the first invocation that finds no state
	// record the primary as active and push generation 0 to every host once
	// (Lambda: the fleet's files cannot be read on every run).
	SeedFleet bool
	// Fault, when set, is called at each FaultPoint; a non-nil error stops the
	// invocation there as a crash would. Tests only.
	Fault func(ctx context.Context, p FaultPoint) error
	// DryRunStore is the dry run's own state, beside the real one
	// (<STATE_FILE>.dry-run, <STATE_KEY>#dry-run); required with DRY_RUN,
	// which then never touches Store or Pusher (see dryrun.go).
	DryRunStore state.Store
}

// Result is the decision record of one invocation: the summary log line and
// the Lambda response.
type Result struct {
	Region string `json:"region"`
	// Healthy is Region's probe result; nil (left out) when Region was not
	// probed: a refused failover probed only its target, and a run that
	// stopped before the probes probed nothing.
	Healthy       *bool    `json:"healthy,omitempty"`
	OutageSeconds float64  `json:"outage_seconds"`
	Action        Action   `json:"action"`
	Generation    int64    `json:"generation"`
	PendingHosts  []string `json:"pending_hosts"`
	From          string   `json:"from,omitempty"`
	To            string   `json:"to,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	// Regions is every region's probe result, by name.
	Regions map[string]RegionReport `json:"regions"`
	DryRun  bool                    `json:"dry_run,omitempty"`
	// PausedUntil and PauseReason describe the pause in force, if any.
	PausedUntil time.Time `json:"paused_until,omitzero"`
	PauseReason string    `json:"pause_reason,omitempty"`
}

// Run carries out one invocation: re-push a pending failover whose claim has
// expired, probe the active region, decide, store the decision with
// compare-and-swap and push when it is a failover. Losing a compare-and-swap
// is not an error: another invocation acted, and this one pushes nothing.
func Run(ctx context.Context, cfg *config.Config, deps Deps) (Result, error) {
	r := newRunner(cfg, deps)
	res, seen, err := r.check(ctx)
	res = r.summary(res, seen, err)
	return res, err
}

// FailoverRequest is an operator's forced failover.
type FailoverRequest struct {
	// To is the region to switch to.
	To string
	// Force switches even when To fails its pre-flight.
	Force bool
	// By names who asked, for the audit trail.
	By string
}

// ErrPreflightFailed means a forced failover was refused because its
// target failed the pre-flight probe; FailoverRequest.Force overrides it.
// Failover returns it as a *PreflightError.
var ErrPreflightFailed = errors.New("check: target failed its pre-flight")

// PreflightError is a forced failover refused by its target's pre-flight.
type PreflightError struct {
	Region string
	Err    error // the probe's failure
}

func (e *PreflightError) Error() string { return e.Region + " failed its pre-flight: " + e.Err.Error() }

// Is makes a PreflightError match ErrPreflightFailed.
func (e *PreflightError) Is(target error) bool { return target == ErrPreflightFailed }

// Failover forces a switch to req.To: the same compare-and-swap and push as
// an automatic failover, without the threshold and through a pause. A
// target that fails its pre-flight is refused (a *PreflightError) unless
// req.Force, and then the log says it was forced past the failed pre-flight.
// The switch is recorded in the audit trail as forced, by req.By.
func Failover(ctx context.Context, cfg *config.Config, deps Deps, req FailoverRequest) (Result, error) {
	r := newRunner(cfg, deps)
	res, seen, err := r.force(ctx, req)
	res = r.summary(res, seen, err)
	return res, err
}

// runner carries one invocation's configuration and dependencies. What a
// step finds is returned to the next, never kept here.
type runner struct {
	cfg      *config.Config
	d        Deps
	log      *slog.Logger
	now      func() time.Time
	policy   Policy
	deadline time.Time
	// err means the invocation cannot start (a dry run without its own
	// store); load returns it, so every entry point does.
	err error
}

func newRunner(cfg *config.Config, d Deps) *runner {
	r := &runner{cfg: cfg, d: d, log: d.Log, now: d.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.d.Metrics == nil {
		r.d.Metrics = noMetrics{}
	}
	r.policy = PolicyOf(cfg)
	if cfg.DryRun {
		r.d, r.err = shadow(r.d)
	}
	return r
}

// noMetrics is the Metrics of a run without any (Deps.Metrics nil).
type noMetrics struct{}

func (noMetrics) Gauge(string, float64, ...string) {}
func (noMetrics) Count(string, int64, ...string)   {}

func (r *runner) setDeadline(ctx context.Context) {
	if dl, ok := ctx.Deadline(); ok {
		// In the clock of Deps.Now, which tests drive.
		r.deadline = r.now().Add(time.Until(dl))
	} else {
		r.deadline = r.now().Add(r.cfg.CheckTimeout)
	}
}

// load reads the state. A corrupt record (the FileStore has kept it aside)
// counts as no state: startFromHosts then starts from the hosts' truth.
// fromHosts reports that it did, so the state is behind the hosts and must
// be written.
func (r *runner) load(ctx context.Context) (s state.State, fromHosts bool, err error) {
	if r.err != nil {
		return s, false, r.err
	}
	s, err = r.d.Store.Load(ctx)
	if errors.Is(err, state.ErrCorrupt) {
		r.log.Error("state unreadable, continuing from the hosts' env file", "error", err.Error())
		s, err = state.State{}, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("load state: %w", err)
	}
	s, fromHosts = r.startFromHosts(ctx, s)
	if s.ActiveRegion == "" {
		s.ActiveRegion = r.cfg.Primary()
	}
	return s, fromHosts, nil
}

// startFromHosts starts from the hosts' truth when there is no state at all
// (a first run, or a state file deleted by hand): the region and generation
// that ext_cloud.env names. A later failover then gets a generation the
// hosts accept. With state present the env file is not read on the healthy
// path; a state behind the hosts shows as a stale push (see
// adoptNewerGeneration). It reports whether it took a generation to store.
func (r *runner) startFromHosts(ctx context.Context, s state.State) (state.State, bool) {
	if r.d.Recover == nil || s.Version != 0 || s.ActiveRegion != "" {
		return s, false
	}
	region, gen, err := r.d.Recover(ctx)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("env file unreadable too, continuing from the primary", "error", err.Error())
		}
		return s, false
	}
	if _, known := r.cfg.Cloud(region); !known {
		r.log.Warn("env file names a region not in EXT_CLOUD_FAILOVER_LIST, continuing from the primary", "region", region)
		return s, false
	}
	s.ActiveRegion, s.Generation = region, gen
	if gen == 0 {
		return s, false
	}
	r.log.Warn("no state: continuing from the hosts' env file", "region", region, "generation", gen)
	return s, true
}

// check is Run's body: load, repair a pending push, observe, decide, report
// the event and commit the decision. It returns what it observed for the
// summary line.
func (r *runner) check(ctx context.Context) (Result, observed, error) {
	r.setDeadline(ctx)
	s, fromHosts, err := r.load(ctx)
	if err != nil {
		return r.result(s, ActionNone), observed{}, err
	}

	// A pending push whose claim has expired is repaired first; without one,
	// the hosts' env file is made to say what the state says.
	var pushErr error
	repushed := false
	pre, cancel := reserveProbeTime(ctx, r.cfg)
	if s.Pending != nil {
		s, repushed, pushErr = r.repush(pre, s)
	} else {
		s, repushed, pushErr = r.converge(pre, s)
	}
	cancel()
	if errors.Is(pushErr, state.ErrConflict) {
		res, err := r.lost(ctx, "pending push claimed by another invocation")
		return res, observed{}, err
	}
	if pushErr != nil && !errors.Is(pushErr, ErrPushIncomplete) && !errors.Is(pushErr, ErrEnvFile) {
		return r.result(s, ActionPendingPush), observed{}, pushErr
	}
	if left, ok := timeLeft(ctx); ok && left < minProbeTime(r.cfg) {
		// A probe cut short by our own deadline says nothing of the region:
		// observing now would start a false outage.
		r.log.Warn("the push took the invocation's time: nothing probed, the outage clock stands still (a supervisord or host that is slow to answer; see CHECK_TIMEOUT)",
			"left_ms", float64(left)/float64(time.Millisecond), "action", string(ActionPendingPush))
		if pushErr == nil {
			pushErr = ErrNoTimeToProbe
		}
		return r.result(s, ActionPendingPush), observed{}, pushErr
	}

	active := s.ActiveRegion
	seen := r.observe(ctx, s)
	d := Decide(s, seen.obs, r.now(), r.policy)
	if switches(d.Action) {
		r.claimIntent(&d.State)
	}
	res := r.decisionResult(d, active, seen, repushed)
	if held, _ := pauseHold(s, r.now()); held {
		res.PausedUntil, res.PauseReason = s.Pause.Until, s.Pause.Reason
	}
	r.event(s, d, active, seen.probe)

	if seen.latency != nil {
		d.State.LatencyMS, d.State.LatencyAt = seen.latency.ms, seen.latency.at
		d.Write = true
	}
	if fromHosts {
		d.Write = true
	}
	if !d.Write {
		return res, seen, pushErr
	}
	res, lost, err := r.commit(ctx, s, d.State, res)
	if lost || err != nil || switches(d.Action) {
		return res, seen, err
	}
	return res, seen, pushErr
}

// commit carries a decision out: it stores next over old with
// compare-and-swap and, for a switch, logs and counts it (only the
// invocation whose swap wins does: one line per failover), pushes the
// intent and records the outcome in res. lost reports a lost
// compare-and-swap: another invocation acted, this one pushed nothing, and
// res says so (at info).
func (r *runner) commit(ctx context.Context, old, next state.State, res Result) (_ Result, lost bool, _ error) {
	// A dry run's switch is told by switched ("would fail over ...").
	stored, written, err := r.write(ctx, old, next, "")
	switch {
	case errors.Is(err, state.ErrConflict):
		res, err := r.lost(ctx, "state changed by another invocation")
		return res, true, err
	case err != nil || !written || !switches(res.Action):
		return res, false, err
	}
	r.switched(res, stored.Generation)
	if err := r.fault(ctx, FaultAfterIntent); err != nil {
		return res, false, err
	}
	s, err := r.push(ctx, stored)
	if s.ActiveRegion != res.To {
		res.To, res.Reason = s.ActiveRegion, "hosts run a newer generation; adopted"
	}
	res.Generation = s.Generation
	res.PendingHosts = pendingHosts(s.Pending)
	return res, false, err
}

// write stores next over old with compare-and-swap and returns what was
// stored, and whether it was. Every write of an invocation starts here.
// Under DRY_RUN the store is the dry run's own (see shadow), so a dry run
// writes too, never the real state, and would (when not empty) is logged at
// info with attrs, saying what the write stands for.
func (r *runner) write(ctx context.Context, old, next state.State, would string, attrs ...any) (state.State, bool, error) {
	if r.cfg.DryRun && would != "" {
		r.log.Info("dry run: "+would, attrs...)
	}
	stored, err := r.d.Store.Swap(ctx, old, next)
	if err != nil {
		return old, false, fmt.Errorf("store state: %w", err)
	}
	return stored, true, nil
}

// lost handles a lost compare-and-swap: another invocation acted.
func (r *runner) lost(ctx context.Context, why string) (Result, error) {
	s, _, err := r.load(ctx)
	if err != nil {
		return r.result(s, ActionNone), err
	}
	r.log.Info("another invocation acted; this one pushes nothing", "reason", why, "region", s.ActiveRegion, "generation", s.Generation)
	res := r.result(s, ActionNone)
	res.Reason = why
	return res, nil
}

func (r *runner) fault(ctx context.Context, p FaultPoint) error {
	if r.d.Fault == nil {
		return nil
	}
	return r.d.Fault(ctx, p)
}

// force is Failover's body; it returns the target's probe for the
// summary line.
func (r *runner) force(ctx context.Context, req FailoverRequest) (Result, observed, error) {
	r.setDeadline(ctx)
	to := req.To
	s, _, err := r.load(ctx)
	if err != nil {
		return r.result(s, ActionNone), observed{}, err
	}
	cloud, err := r.cfg.CheckRegion("failover", to)
	if err != nil {
		return r.result(s, ActionNone), observed{}, err
	}
	if p := s.Pending; p != nil && r.now().Before(p.ClaimedUntil) && !p.ClaimedUntil.After(r.now().Add(r.claimHorizon())) {
		return r.result(s, ActionPendingPush), observed{}, fmt.Errorf("a push of generation %d is in flight until %s; try again after it",
			s.Pending.Generation, s.Pending.ClaimedUntil.UTC().Format(time.RFC3339))
	}
	if s.ActiveRegion == to && s.Pending == nil {
		res := r.result(s, ActionNone)
		res.Reason = "already active"
		r.log.Info("already active: nothing to do", "region", to)
		return res, observed{}, nil
	}
	from := r.hostsRegion(ctx, s)
	seen := r.probeTarget(ctx, config.Region{Name: to, Cloud: cloud})
	reason := "forced by failover --to"
	if pr := seen.probe; !pr.Healthy {
		if !req.Force {
			res := r.result(s, ActionNone)
			res.Reason = "refused: " + to + " failed its pre-flight"
			r.log.Warn("forced failover refused: "+to+" failed its pre-flight", append([]any{"region", to, "error", errString(pr.Err)}, phaseAttrs(pr)...)...)
			return res, seen, &PreflightError{Region: to, Err: pr.Err}
		}
		reason = "forced past a failed pre-flight: " + errString(pr.Err)
		r.log.Warn("forced failover past a failed pre-flight", append([]any{"region", to, "error", errString(pr.Err), "by", req.By}, phaseAttrs(pr)...)...)
	}
	next := Intent(s, to, cloud, r.now())
	next.PreviousRegion = from
	next = next.Record(state.Event{At: r.now(), Kind: state.EventForced, From: from, To: to, Reason: reason, By: req.By, Generation: next.Generation})
	r.claimIntent(&next)
	res := r.result(next, ActionFailover)
	res.From, res.To, res.Reason = from, to, reason
	res, _, err = r.commit(ctx, s, next, res)
	return res, seen, err
}

// hostsRegion is the region the hosts run: the active one, unless a push is
// pending, when the hosts still run what the env file names (Recover), or
// else the region the pending switch left.
func (r *runner) hostsRegion(ctx context.Context, s state.State) string {
	if s.Pending == nil {
		return s.ActiveRegion
	}
	if r.d.Recover != nil {
		if region, _, err := r.d.Recover(ctx); err == nil && region != "" {
			return region
		}
	}
	if s.PreviousRegion != "" {
		return s.PreviousRegion
	}
	return s.ActiveRegion
}

// switches reports whether a is an automatic switch that writes an intent.
func switches(a Action) bool { return a == ActionFailover || a == ActionFailback }

// ErrNoTimeToProbe means the step before the probes (a re-push, or making
// the env file say what the state says) used up the invocation's deadline:
// nothing was probed and the outage clock was left alone.
var ErrNoTimeToProbe = errors.New("check: no time left to probe (a slow supervisord or push took the invocation's time: raise CHECK_TIMEOUT, or the function's Timeout on Lambda, or fix the slow host that `status` lists)")

// timeLeft is the time until ctx's deadline, in the real clock: what the
// network calls still have.
func timeLeft(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	return time.Until(dl), ok
}

// reserveProbeTime returns ctx for the steps before observe, ending early
// enough to leave the probes minProbeTime plus a second for the state
// writes: a pusher or poller follows its commands until its context's
// deadline (SSM: a slow host's restart), and must not take the probes' time.
// Without a deadline ctx is returned as it is.
func reserveProbeTime(ctx context.Context, cfg *config.Config) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-minProbeTime(cfg)-time.Second))
}

// minProbeTime is the least time the probes need to say something about
// the regions: a second (a healthy cloud answers well within it), or
// PROBE_TIMEOUT when that is shorter.
func minProbeTime(cfg *config.Config) time.Duration {
	return min(cfg.ProbeTimeout, time.Second)
}
