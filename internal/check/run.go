package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// ErrPushIncomplete means a push left hosts that have not converged; they
// are recorded as pending and retried by later invocations.
var ErrPushIncomplete = errors.New("check: push incomplete")

// MaxPendingHosts is the most host IDs a pending push keeps; beyond it the
// re-push goes to every target.
const MaxPendingHosts = 100

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

func (r *runner) result(s state.State, action Action) Result {
	res := Result{Region: s.ActiveRegion, Action: action, Generation: s.Generation, PendingHosts: []string{}, DryRun: r.cfg.DryRun}
	if s.Pending != nil {
		res.PendingHosts = pendingHosts(s.Pending)
	}
	return res
}

func pendingHosts(p *state.Pending) []string {
	if len(p.Hosts) == 0 {
		return []string{"*"}
	}
	return slices.Clone(p.Hosts)
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

func (r *runner) fault(ctx context.Context, p FaultPoint) error {
	if r.d.Fault == nil {
		return nil
	}
	return r.d.Fault(ctx, p)
}

type latencyFigure struct {
	ms float64
	at time.Time
}

// observe probes the active region and, when it fails, tells our own
// network's failure from the region's. It returns pre-flight candidates
// when it had to probe them for the differential verdict.
func (r *runner) observe(ctx context.Context, s state.State) (Observation, []Candidate) {
	region, ok := r.cfg.Cloud(s.ActiveRegion)
	var pr ProbeResult
	if !ok {
		pr = ProbeResult{Region: s.ActiveRegion, Err: fmt.Errorf("active region %q is not in EXT_CLOUD_FAILOVER_LIST: counted as down until a failover (or failover --to) moves to a listed region", s.ActiveRegion)}
	} else {
		pr = r.d.Prober.Probe(ctx, config.Region{Name: s.ActiveRegion, Cloud: region})
	}
	r.recordProbe(pr)
	obs := Observation{Healthy: pr.Healthy}

	mode := r.cfg.LatencyCheck
	always := mode == config.LatencyAlways && r.now().Sub(s.LatencyAt) >= r.cfg.LatencyInterval
	if r.d.Guard == nil || mode == config.LatencyOff || (pr.Healthy && !always) {
		return obs, nil
	}
	g := r.d.Guard.Check(ctx)
	if g.Latency > 0 {
		ms := float64(g.Latency) / float64(time.Millisecond)
		r.d.Metrics.Gauge("extcloud.latency.ms", ms)
		if always {
			r.latency = &latencyFigure{ms: ms, at: r.now()}
		}
	}
	if pr.Healthy || g.OK {
		return obs, nil
	}
	// Our network looks down. If other regions answer, the outage is real
	// whatever the guard says (a differential verdict).
	candidates := r.preflight(ctx, s.ActiveRegion)
	for _, c := range candidates {
		if c.Healthy {
			r.log.Warn("local-network guard failed but other regions answer: outage is real", "error", errString(g.Err))
			return obs, candidates
		}
	}
	r.log.Warn("local network unavailable: outage clock not advanced", "error", errString(g.Err), "action", string(ActionInconclusive))
	obs.Inconclusive = true
	return obs, nil
}

func (r *runner) recordProbe(pr ProbeResult) {
	r.probeMS = float64(pr.Duration) / float64(time.Millisecond)
	r.status = pr.Status
	r.probeErr = pr.Err
	status := "ok"
	if !pr.Healthy {
		status = "fail"
	}
	r.d.Metrics.Gauge("extcloud.probe.latency", r.probeMS, "region:"+pr.Region, "status:"+status)
}

// preflight probes every candidate except active, concurrently, and returns
// them in failover order.
func (r *runner) preflight(ctx context.Context, active string) []Candidate {
	order := r.cfg.FailoverOrder(active)
	out := make([]Candidate, len(order))
	var wg sync.WaitGroup
	for i, reg := range order {
		wg.Go(func() {
			pr := r.d.Prober.Probe(ctx, reg)
			out[i] = Candidate{Region: reg.Name, Cloud: reg.Cloud, Healthy: pr.Healthy}
			attrs := []any{"region", reg.Name, "healthy", pr.Healthy, "probe_ms", float64(pr.Duration) / float64(time.Millisecond), "status", pr.Status}
			if pr.Err != nil {
				attrs = append(attrs, "error", pr.Err.Error())
			}
			r.log.Info("pre-flight probe", attrs...)
		})
	}
	wg.Wait()
	return out
}

// event logs the line for what changed, besides the summary.
func (r *runner) event(d Decision, active string) {
	secs := d.Outage.Seconds()
	switch d.Action {
	case ActionOutageStarted:
		r.log.Warn(d.Reason, "region", active, "error", errString(r.probeErr), "status", r.status, "action", string(d.Action))
	case ActionRecovered:
		r.log.Info(fmt.Sprintf("recovered after %.0fs", secs), "region", active, "outage_seconds", secs, "action", string(d.Action))
	case ActionFailover:
		r.log.Warn(fmt.Sprintf("failover from %s to %s", active, d.To), "region", d.To, "from", active,
			"reason", fmt.Sprintf("%s down for %.0fs (threshold %s)", active, secs, r.cfg.FailoverThreshold),
			"outage_seconds", secs, "generation", d.State.Generation, "action", string(d.Action))
	case ActionAllDown:
		r.log.Error("all regions unavailable", "region", active, "outage_seconds", secs, "action", string(d.Action))
	}
	r.d.Metrics.Gauge("extcloud.outage.seconds", secs, "region:"+active)
}

// summary writes the one decision record of the invocation.
func (r *runner) summary(res Result, err error) {
	attrs := []any{
		"region", res.Region, "healthy", res.Healthy, "action", string(res.Action),
		"outage_seconds", res.OutageSeconds, "generation", res.Generation,
		"probe_ms", r.probeMS, "status", r.status, "pending_hosts", res.PendingHosts,
	}
	if res.To != "" {
		attrs = append(attrs, "from", res.From, "to", res.To)
	}
	if res.Reason != "" {
		attrs = append(attrs, "reason", res.Reason)
	}
	if r.probeErr != nil {
		attrs = append(attrs, "probe_error", r.probeErr.Error())
	}
	if r.latency != nil {
		attrs = append(attrs, "latency_ms", r.latency.ms)
	}
	if res.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, "error", err.Error())
	}
	r.log.Log(context.Background(), level, "check complete", attrs...)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
