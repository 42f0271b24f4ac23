// This file holds one invocation's steps: the public entry points Run and
// Failover, the runner that carries their dependencies, loading the state
// (and starting from the hosts' truth when there is none), the sequence of
// one check, a lost compare-and-swap, and a forced failover.

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
	Store   Store
	Pusher  Pusher
	Prober  RegionProber
	Guard   Guard   // nil: no local-network guard
	Metrics Metrics // nil: no metrics
	Log     *slog.Logger
	Now     func() time.Time
	// Recover returns the region and generation the hosts run (read from
	// ext_cloud.env): the starting point when there is no usable state, and
	// the truth adopted when the hosts refuse a push as stale. nil means the
	// primary, and a stale refusal is only logged.
	Recover func(ctx context.Context) (region string, generation int64, err error)
	// Fault, when set, is called at each FaultPoint; a non-nil error stops the
	// invocation there as a crash would. Tests only.
	Fault func(ctx context.Context, p FaultPoint) error
}

// Result is the decision record of one invocation: the summary log line and
// the Lambda response.
type Result struct {
	Region        string   `json:"region"`
	Healthy       bool     `json:"healthy"`
	OutageSeconds float64  `json:"outage_seconds"`
	Action        Action   `json:"action"`
	Generation    int64    `json:"generation"`
	PendingHosts  []string `json:"pending_hosts"`
	From          string   `json:"from,omitempty"`
	To            string   `json:"to,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	DryRun        bool     `json:"dry_run,omitempty"`
}

// Run carries out one invocation: re-push a pending failover whose claim has
// expired, probe the active region, decide, store the decision with
// compare-and-swap and push when it is a failover. Losing a compare-and-swap
// is not an error: another invocation acted, and this one pushes nothing.
func Run(ctx context.Context, cfg *config.Config, deps Deps) (Result, error) {
	r := newRunner(cfg, deps)
	res, err := r.check(ctx)
	r.summary(res, err)
	return res, err
}

// Failover forces a switch to region to: the same compare-and-swap and push
// as an automatic failover, without the threshold. The target's pre-flight is
// logged but does not stop it: a person asked for it.
func Failover(ctx context.Context, cfg *config.Config, deps Deps, to string) (Result, error) {
	r := newRunner(cfg, deps)
	res, err := r.force(ctx, to)
	r.summary(res, err)
	return res, err
}

type runner struct {
	cfg      *config.Config
	d        Deps
	log      *slog.Logger
	now      func() time.Time
	policy   Policy
	deadline time.Time
	probeMS  float64
	status   int
	probeErr error
	latency  *latencyFigure
	adopted  bool // the state was behind the hosts and must be written
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
		r.d.Metrics = discard{}
	}
	r.policy = Policy{Threshold: cfg.FailoverThreshold, MinInterval: cfg.FailoverMinInterval, ProbeInterval: cfg.ProbeInterval}
	return r
}

type discard struct{}

func (discard) Gauge(string, float64, ...string) {}
func (discard) Count(string, int64, ...string)   {}

func (r *runner) setDeadline(ctx context.Context) {
	if dl, ok := ctx.Deadline(); ok {
		// In the clock of Deps.Now, which tests drive.
		r.deadline = r.now().Add(time.Until(dl))
	} else {
		r.deadline = r.now().Add(r.cfg.CheckTimeout)
	}
}

// load reads the state. A corrupt record (the FileStore has kept it aside)
// counts as no state: adoptHosts then starts from the hosts' truth.
func (r *runner) load(ctx context.Context) (state.State, error) {
	s, err := r.d.Store.Load(ctx)
	if errors.Is(err, state.ErrCorrupt) {
		r.log.Error("state unreadable, continuing from the hosts' env file", "error", err.Error())
		s, err = state.State{}, nil
	}
	if err != nil {
		return s, fmt.Errorf("load state: %w", err)
	}
	r.adoptHosts(ctx, &s)
	if s.ActiveRegion == "" {
		s.ActiveRegion = r.cfg.Primary()
	}
	return s, nil
}

// adoptHosts starts from the hosts' truth when there is no state at all (a
// first run, or a state file deleted by hand): the region and generation that
// ext_cloud.env names. A later failover then gets a generation the hosts
// accept. With state present the env file is not read on the healthy path;
// a state behind the hosts shows as a stale push (see push).
func (r *runner) adoptHosts(ctx context.Context, s *state.State) {
	if r.d.Recover == nil || s.Version != 0 || s.ActiveRegion != "" {
		return
	}
	region, gen, err := r.d.Recover(ctx)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("env file unreadable too, continuing from the primary", "error", err.Error())
		}
		return
	}
	if _, known := r.cfg.Cloud(region); !known {
		r.log.Warn("env file names a region not in EXT_CLOUD_FAILOVER_LIST, continuing from the primary", "region", region)
		return
	}
	s.ActiveRegion, s.Generation = region, gen
	if gen > 0 {
		r.log.Warn("no state: continuing from the hosts' env file", "region", region, "generation", gen)
		r.adopted = true
	}
}

func (r *runner) check(ctx context.Context) (Result, error) {
	r.setDeadline(ctx)
	s, err := r.load(ctx)
	if err != nil {
		return r.result(s, ActionNone), err
	}

	// A pending push whose claim has expired is repaired first.
	var pushErr error
	pushed := false
	if s.Pending != nil {
		s, pushed, pushErr = r.repush(ctx, s)
		if errors.Is(pushErr, state.ErrConflict) {
			return r.lost(ctx, "pending push claimed by another invocation")
		}
		if pushErr != nil && !errors.Is(pushErr, ErrPushIncomplete) {
			return r.result(s, ActionPendingPush), pushErr
		}
	}

	active := s.ActiveRegion
	var failFrom, failTo string
	obs, candidates := r.observe(ctx, s)
	d := Decide(s, obs, r.now(), r.policy)
	if d.Action == ActionPreflight {
		if candidates == nil {
			candidates = r.preflight(ctx, active)
		}
		obs.Candidates = candidates
		d = Decide(s, obs, r.now(), r.policy)
	}
	if d.Action == ActionFailover {
		r.claimIntent(&d.State)
		failFrom, failTo = active, d.To
	}
	res := r.result(d.State, d.Action)
	res.From, res.To = failFrom, failTo
	res.Region = active
	res.Healthy = obs.Healthy
	res.OutageSeconds = d.Outage.Seconds()
	res.Reason = d.Reason
	if pushed && d.Action == ActionNone {
		res.Action = ActionPendingPush
	}
	r.event(d, active)

	if r.cfg.LatencyCheck == config.LatencyAlways && r.latency != nil {
		d.State.LatencyMS, d.State.LatencyAt = r.latency.ms, r.latency.at
		d.Write = true
	}
	if r.adopted && d.Action != ActionPreflight {
		d.Write = true
	}
	if !d.Write {
		return res, pushErr
	}
	if r.cfg.DryRun {
		if d.Action == ActionFailover {
			r.log.Info(fmt.Sprintf("dry run: would fail over from %s to %s", active, d.To), "action", string(d.Action))
		} else {
			r.log.Info("dry run: state not written", "action", string(d.Action))
		}
		return res, pushErr
	}
	if d.Action == ActionFailover {
		return r.storeAndPush(ctx, s, d.State, res)
	}
	if _, err := r.d.Store.Swap(ctx, s, d.State); errors.Is(err, state.ErrConflict) {
		return r.lost(ctx, "state changed by another invocation")
	} else if err != nil {
		return res, fmt.Errorf("store state: %w", err)
	}
	return res, pushErr
}

// lost handles a lost compare-and-swap: another invocation acted.
func (r *runner) lost(ctx context.Context, why string) (Result, error) {
	s, err := r.load(ctx)
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

// force is Failover's body.
func (r *runner) force(ctx context.Context, to string) (Result, error) {
	r.setDeadline(ctx)
	s, err := r.load(ctx)
	if err != nil {
		return r.result(s, ActionNone), err
	}
	cloud, err := r.cfg.CloudOf("failover", to)
	if err != nil {
		return r.result(s, ActionNone), err
	}
	if s.Pending != nil && r.now().Before(s.Pending.ClaimedUntil) {
		return r.result(s, ActionPendingPush), fmt.Errorf("a push of generation %d is in flight until %s; try again after it",
			s.Pending.Generation, s.Pending.ClaimedUntil.UTC().Format(time.RFC3339))
	}
	if s.ActiveRegion == to && s.Pending == nil {
		res := r.result(s, ActionNone)
		res.Reason = "already active"
		r.log.Info("already active: nothing to do", "region", to)
		return res, nil
	}
	pr := r.d.Prober.Probe(ctx, config.Region{Name: to, Cloud: cloud})
	r.recordProbe(pr)
	if !pr.Healthy {
		r.log.Warn("forced failover target failed its pre-flight; switching anyway", "region", to, "error", errString(pr.Err))
	}
	next := Intent(s, to, cloud, r.now())
	r.claimIntent(&next)
	res := r.result(next, ActionFailover)
	res.From, res.To, res.Healthy, res.Reason = s.ActiveRegion, to, pr.Healthy, "forced by failover --to"
	r.log.Warn(fmt.Sprintf("failover from %s to %s", s.ActiveRegion, to), "region", to, "from", s.ActiveRegion,
		"reason", res.Reason, "generation", next.Generation, "action", string(ActionFailover))
	if r.cfg.DryRun {
		return res, nil
	}
	return r.storeAndPush(ctx, s, next, res)
}
