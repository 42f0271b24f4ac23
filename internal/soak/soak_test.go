//go:build soak

package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// Soak parameters. A step is one tick of the 10 s timer in fake time.
const (
	invocations = 2000
	probeEvery  = 10 * time.Second
	threshold   = time.Minute
	minInterval = time.Minute
	hostsN      = 3
	pRegionFail = 0.05 // per step, per healthy region
	pRegionBack = 0.04 // per step, per failed region
	pNetDown    = 0.01 // per step: our own network goes down for a few steps
	pConcurrent = 0.15 // per step: 2 or 3 invocations at once
	pKill       = 0.10 // per invocation: crash it at a random point
	pHostFail   = 0.05 // per push, per host: the host does not answer
	pGap        = 0.01 // per step: the timer skips (a gap of 45 s)
)

var errKilled = errors.New("soak: invocation killed")

// region is a simulated cloudlookup endpoint.
type region struct {
	name string
	up   atomic.Bool
	srv  *httptest.Server
}

// sim is the world: regions, our network, the hosts and the figures.
type sim struct {
	t       *testing.T
	rng     *rand.Rand
	rngMu   sync.Mutex
	regions map[string]*region
	order   []string
	netDown atomic.Bool
	hosts   []string // env file paths, one per host
	store   *state.FileStore
	now     time.Time
	cfg     *config.Config

	mu         sync.Mutex
	restarts   map[string]map[int64]int // host -> generation -> restarts
	failovers  map[int64]int            // generation -> failover results
	lastFail   time.Time
	figures    figures
	violations []string
}

type figures struct {
	invocations, steps, concurrentSteps, faults, kills, failovers, restarts, hostFaults, netDownSteps, regionFlips int
	actions                                                                                                        map[check.Action]int
}

func (s *sim) chance(p float64) bool {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

func (s *sim) intn(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

func (s *sim) violate(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := fmt.Sprintf("step %d: ", s.figures.steps) + fmt.Sprintf(format, args...)
	s.violations = append(s.violations, msg)
	s.t.Error(msg)
}

// pusher writes each host's env file; a changed file is a restart. Hosts
// fail at random; a killed push stops after some hosts.
type pusher struct {
	s    *sim
	kill bool        // this invocation may die part-way through the push
	died atomic.Bool // it did: nothing after the push may run
}

func (p *pusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	if len(hosts) == 0 {
		hosts = p.s.hosts
	}
	kill := p.kill && p.s.fire()
	res := remote.Result{Failed: map[string]error{}}
	for i, h := range hosts {
		if kill && i == len(hosts)/2 {
			p.died.Store(true)
			return res, errKilled
		}
		if p.s.chance(pHostFail) {
			p.s.mu.Lock()
			p.s.figures.hostFaults++
			p.s.mu.Unlock()
			res.Failed[h] = errors.New("host did not answer")
			continue
		}
		changed, err := remote.WriteEnvFile(h, t)
		if err != nil {
			res.Failed[h] = err
			continue
		}
		if changed {
			p.s.mu.Lock()
			if p.s.restarts[h] == nil {
				p.s.restarts[h] = map[int64]int{}
			}
			p.s.restarts[h][t.Generation]++
			p.s.figures.restarts++
			if n := p.s.restarts[h][t.Generation]; n > 1 {
				p.s.mu.Unlock()
				p.s.violate("host %s restarted %d times for generation %d", filepath.Base(filepath.Dir(h)), n, t.Generation)
				p.s.mu.Lock()
			}
			p.s.mu.Unlock()
		}
		res.Converged = append(res.Converged, h)
	}
	return res, nil
}

// guard is our own network's witness.
type guard struct{ s *sim }

func (g guard) Check(context.Context) probe.GuardResult {
	if g.s.netDown.Load() {
		return probe.GuardResult{Err: errors.New("witness: network unreachable")}
	}
	return probe.GuardResult{OK: true, Latency: time.Millisecond}
}

// store wraps the FileStore to crash the Swap that records a push.
type store struct {
	*state.FileStore
	sim     *sim
	armed   *atomic.Bool
	applied bool
}

func (s *store) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if s.armed != nil && s.armed.CompareAndSwap(true, false) && s.sim.fire() {
		if s.applied {
			if _, err := s.FileStore.Swap(ctx, old, next); err != nil {
				return state.State{}, err
			}
		}
		return state.State{}, errKilled
	}
	return s.FileStore.Swap(ctx, old, next)
}

type armPusher struct {
	check.Pusher
	armed *atomic.Bool
}

func (p armPusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	res, err := p.Pusher.Push(ctx, t, hosts)
	p.armed.Store(true)
	return res, err
}

func newSim(t *testing.T, seed uint64) *sim {
	s := &sim{
		t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		regions:   map[string]*region{},
		now:       time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
		restarts:  map[string]map[int64]int{},
		failovers: map[int64]int{},
	}
	s.figures.actions = map[check.Action]int{}
	dir := t.TempDir()
	var list []string
	for _, name := range []string{"NAM", "EU", "APAC"} {
		r := &region{name: name}
		r.up.Store(true)
		r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if !r.up.Load() || s.netDown.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(r.srv.Close)
		s.regions[name] = r
		s.order = append(s.order, name)
		list = append(list, name+"="+strings.TrimPrefix(r.srv.URL, "http://"))
	}
	for i := 0; i < hostsN; i++ {
		hd := filepath.Join(dir, fmt.Sprintf("host%d", i))
		if err := os.Mkdir(hd, 0o755); err != nil {
			t.Fatal(err)
		}
		s.hosts = append(s.hosts, filepath.Join(hd, "ext_cloud.env"))
	}
	s.store = state.NewFileStore(filepath.Join(dir, "state.json"))
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     strings.Join(list, ","),
		"CLOUDLOOKUP_URL":             "http://{cloud}/cloudlookup?orgId={org_id}",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"PROBE_TIMEOUT":               "2s",
		"PROBE_INTERVAL":              probeEvery.String(),
		"FAILOVER_THRESHOLD":          threshold.String(),
		"FAILOVER_MIN_INTERVAL":       minInterval.String(),
		"LATENCY_CHECK":               "on-failure",
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	return s
}

// fire decides whether an armed fault point kills the invocation, and
// counts it.
func (s *sim) fire() bool {
	if !s.chance(pKill) {
		return false
	}
	s.mu.Lock()
	s.figures.faults++
	s.mu.Unlock()
	return true
}

// invoke runs one invocation at the current fake time; when kill is set,
// every fault point is armed: after the intent, part-way through the push,
// after the push, and the state write recording it (lost or landed).
func (s *sim) invoke(kill bool) (check.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := s.now
	p := &pusher{s: s}
	deps := check.Deps{
		Store: s.store, Pusher: p, Prober: probe.New(s.cfg), Guard: guard{s},
		Now: func() time.Time { return now },
	}
	if kill {
		// Every fault point is armed; each fires with probability pKill.
		p.kill = true
		armed := &atomic.Bool{}
		deps.Store = &store{FileStore: s.store, sim: s, armed: armed, applied: s.chance(0.5)}
		deps.Pusher = armPusher{Pusher: p, armed: armed}
		deps.Fault = s.faultAt(cancel, &p.died)
	}
	return check.Run(ctx, s.cfg, deps)
}

func (s *sim) faultAt(cancel context.CancelFunc, died *atomic.Bool) func(context.Context, check.FaultPoint) error {
	return func(_ context.Context, p check.FaultPoint) error {
		if !died.Load() && !s.fire() {
			return nil
		}
		cancel()
		return errKilled
	}
}

// evolve flips regions and our network at random between steps.
func (s *sim) evolve() {
	for _, name := range s.order {
		r := s.regions[name]
		if r.up.Load() && s.chance(pRegionFail) || !r.up.Load() && s.chance(pRegionBack) {
			r.up.Store(!r.up.Load())
			s.figures.regionFlips++
		}
	}
	switch {
	case s.netDown.Load() && s.chance(0.3):
		s.netDown.Store(false)
	case !s.netDown.Load() && s.chance(pNetDown):
		s.netDown.Store(true)
	}
}

// step runs one timer tick: one invocation, or a few at once.
func (s *sim) step(final bool) {
	s.figures.steps++
	n := 1
	if !final && s.chance(pConcurrent) {
		n = 2 + s.intn(2)
		s.figures.concurrentSteps++
	}
	if s.netDown.Load() {
		s.figures.netDownSteps++
	}
	before, err := s.store.Load(context.Background())
	if err != nil {
		s.violate("state unreadable before the step: %v", err)
	}
	up := map[string]bool{}
	for name, r := range s.regions {
		up[name] = r.up.Load() && !s.netDown.Load()
	}
	results := make([]check.Result, n)
	errs := make([]error, n)
	kills := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		kills[i] = !final
		wg.Go(func() { results[i], errs[i] = s.invoke(kills[i]) })
	}
	wg.Wait()
	s.figures.invocations += n

	for i, res := range results {
		s.figures.actions[res.Action]++
		if errors.Is(errs[i], errKilled) {
			s.figures.kills++
		}
		if errs[i] != nil && !errors.Is(errs[i], errKilled) && !errors.Is(errs[i], check.ErrPushIncomplete) {
			s.violate("invocation error: %v", errs[i])
		}
		if res.Action != check.ActionFailover {
			continue
		}
		s.figures.failovers++
		s.failovers[res.Generation]++
		if c := s.failovers[res.Generation]; c > 1 {
			s.violate("%d failovers for generation %d", c, res.Generation)
		}
		if res.OutageSeconds < threshold.Seconds() {
			s.violate("failover after %.0fs of outage, threshold %s", res.OutageSeconds, threshold)
		}
		if !up[res.To] {
			s.violate("failover to %s, which was down at its pre-flight", res.To)
		}
		if s.netDown.Load() {
			s.violate("failover to %s while our own network was down", res.To)
		}
		if !s.lastFail.IsZero() && s.now.Sub(s.lastFail) < minInterval {
			s.violate("failover %s after the last, minimum %s", s.now.Sub(s.lastFail), minInterval)
		}
		s.lastFail = s.now
	}

	after, err := s.store.Load(context.Background())
	if err != nil {
		s.violate("state unreadable after the step: %v", err)
	}
	if after.Generation < before.Generation {
		s.violate("generation went down from %d to %d", before.Generation, after.Generation)
	}
	if s.netDown.Load() && !after.OutageStartedAt.Equal(before.OutageStartedAt) && !after.OutageStartedAt.IsZero() {
		s.violate("outage clock moved while our own network was down")
	}
	for _, h := range s.hosts {
		if _, err := remote.ReadEnvFile(h); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.violate("env file %s unparseable: %v", h, err)
		}
	}
}

func (s *sim) advance() {
	d := probeEvery
	if s.chance(pGap) {
		d = 45 * time.Second
	}
	s.now = s.now.Add(d)
}

func TestSoak(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	s := newSim(t, seed)
	start := time.Now()
	for s.figures.invocations < invocations {
		s.step(false)
		s.advance()
		s.evolve()
	}
	// Convergence: every region back, our network up, no more kills; the
	// pending push (if any) is repaired and every host runs the state's
	// region and generation.
	for _, r := range s.regions {
		r.up.Store(true)
	}
	s.netDown.Store(false)
	converged := false
	for i := 0; i < 30 && !converged; i++ {
		s.now = s.now.Add(time.Minute) // past any claim of a killed invocation
		s.step(true)
		st, err := s.store.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != nil {
			continue
		}
		converged = true
		for _, h := range s.hosts {
			env, err := remote.ReadEnvFile(h)
			switch {
			case errors.Is(err, os.ErrNotExist) && st.Generation == 0:
			case err != nil:
				converged = false
			case env.Region != st.ActiveRegion || env.Generation != st.Generation:
				// A host that missed the last push and has nothing pending
				// would never converge.
				if st.Pending == nil {
					s.violate("host %s runs %s/%d, state says %s/%d with nothing pending", h, env.Region, env.Generation, st.ActiveRegion, st.Generation)
				}
				converged = false
			}
		}
	}
	if !converged {
		s.violate("hosts did not converge after 30 clean steps")
	}
	elapsed := time.Since(start)

	f := s.figures
	var actions []string
	for a, n := range f.actions {
		actions = append(actions, fmt.Sprintf("%s %d", a, n))
	}
	slices.Sort(actions)
	summary := fmt.Sprintf(`| figure | value |
|---|---|
| invocations | %d |
| timer steps (fake time, 10 s apart) | %d |
| steps with 2-3 concurrent invocations | %d |
| faults injected (a kill fired at a fault point) | %d |
| invocations that died by the injected kill | %d |
| host faults (a host not answering a push) | %d |
| steps with our own network down | %d |
| region health flips | %d |
| failovers | %d |
| restarts (env file changed on a host) | %d |
| invariant violations | %d |
| actions | %s |
| wall time | %s |
| seed | %d |
`, f.invocations, f.steps, f.concurrentSteps, f.faults, f.kills, f.hostFaults, f.netDownSteps, f.regionFlips,
		f.failovers, f.restarts, len(s.violations), strings.Join(actions, ", "), elapsed.Round(time.Second), seed)
	path := os.Getenv("SOAK_SUMMARY")
	if path == "" {
		path = filepath.Join(os.TempDir(), "extcloud-failover-soak.md")
	}
	if err := os.WriteFile(path, []byte(summary), 0o644); err != nil {
		t.Errorf("write summary: %v", err)
	}
	t.Logf("summary written to %s:\n%s", path, summary)
	if f.failovers == 0 || f.kills == 0 {
		t.Errorf("the soak exercised nothing: %d failovers, %d kills", f.failovers, f.kills)
	}
}
